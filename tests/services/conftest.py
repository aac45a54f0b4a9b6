"""Fixtures of the service tests: one AppContext per test on the test's own home folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gradient_desktop.services.context import AppContext
from tests.setup_helpers import open_ctx


@pytest.fixture
def ctx() -> Iterator[AppContext]:
    """An AppContext on this test's home folder (its demo sandbox without added latency)."""
    c = open_ctx()
    yield c
    c.close()
