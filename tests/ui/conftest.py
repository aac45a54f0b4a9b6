"""Fixtures of the GUI tests (``tests/ui/``): one AppContext per test, closed as the app closes
it, and Qt's cyclic garbage collected on the main thread around each test.

Helpers a test calls (``open_ctx`` for an "app restart", ``wait_until``, ``settle``, ...) stay in
``tests/gui_helpers.py``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from gradient_desktop.services.context import AppContext
from tests.gui_helpers import close_ctx, open_ctx


@pytest.fixture
def ctx(qloop: Any) -> Iterator[AppContext]:
    """A fresh AppContext on this test's home folder (demo sandbox without added latency)."""
    c = open_ctx()
    yield c
    close_ctx(qloop, c)


@pytest.fixture(autouse=True)
def qt_garbage_on_the_main_thread() -> Any:
    """Collect cyclic garbage on the main thread before and after each GUI test.

    A closed qasync loop (and any widget caught in a reference cycle) is freed by the cyclic
    collector, which runs in whichever thread happens to allocate: often an in-process sandbox
    thread. A QObject destroyed there cannot unregister its timers, and the next timer event
    then reaches freed memory (seen as a segfault in QTimerInfoList::activateTimers). Being
    autouse, this fixture is set up before ``qloop`` and torn down after it.
    """
    gc.collect()
    yield
    gc.collect()
