"""Test configuration: headless Qt, an isolated home folder, a real keyring backend, a live sandbox.

Every test runs with ``GRADIENT_DESKTOP_HOME`` pointing at its own temporary folder, so nothing
touches the developer's real data, settings or keyring.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

# GUI tests run headless; set before any QApplication exists (pytest-qt makes it lazily).
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_API", "pyside6")

import keyring
import pytest

from tests.keyring_backend import MemoryKeyring

T = TypeVar("T")

# Qt's own top-level helpers that live for the whole session once some widget asked for them:
# not windows a test opened. QTipLabel is the shared tooltip; QToolTip keeps it for reuse.
QT_SESSION_WINDOWS = frozenset({"QTipLabel"})


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the item, so a fixture's teardown knows whether the test
    itself failed (pytest's documented recipe)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("GRADIENT_DESKTOP_HOME", str(home))
    monkeypatch.delenv("GRADIENT_VENDOR_KEY", raising=False)
    monkeypatch.delenv("GRADIENT_PARTNER_KEY", raising=False)
    return home


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """A real (in-memory) keyring backend: real get/set/delete semantics, nothing on disk."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def _qt_windows() -> dict[int, Any]:
    """The application's parentless top-level widgets by C++ address (a Python wrapper's id()
    changes when PySide makes a new wrapper); {} when no Qt was loaded: the Qt-free tests do
    not import it here either."""
    widgets = sys.modules.get("PySide6.QtWidgets")
    if widgets is None or widgets.QApplication.instance() is None:
        return {}
    import shiboken6

    return {
        shiboken6.getCppPointer(w)[0]: w
        for w in widgets.QApplication.topLevelWidgets()
        if w.parent() is None
    }


@pytest.fixture(autouse=True)
def no_leaked_windows(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves a top-level window behind (napari's ``_testsupport`` idea).

    A leaked window keeps its timers, models and event-loop callbacks alive into the next test,
    where they fire against state that test never set up. Register widgets with
    ``qtbot.addWidget`` (closed and deleted after the test) or close them in the fixture that
    made them. Being autouse and defined first, this runs after every other fixture's teardown.
    """
    before = set(_qt_windows())
    yield
    if not _qt_windows():
        return
    from PySide6.QtCore import QCoreApplication, QEvent

    # Let deleteLater() calls from teardowns happen, and Python-owned widgets be freed.
    QCoreApplication.processEvents()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    leaked = [
        w
        for address, w in _qt_windows().items()
        if address not in before and type(w).__name__ not in QT_SESSION_WINDOWS
    ]
    call = getattr(request.node, "rep_call", None)
    if not leaked or call is None or call.failed:
        return  # a failed test's traceback holds its widgets: its failure is the news
    names = ", ".join(
        f"{type(w).__name__}({w.windowTitle() or w.objectName() or 'untitled'})" for w in leaked
    )
    for w in leaked:  # don't let one leak cascade into the next test's check
        w.close()
        w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    pytest.fail(
        f"the test left {len(leaked)} top-level window(s) open: {names}. Register them with "
        "qtbot.addWidget(...) or close them in the fixture that made them.",
        pytrace=False,
    )


@pytest.fixture
def sandbox() -> Iterator[Any]:
    """A fresh demo sandbox on a real loopback socket."""
    from gradient_desktop.sandbox.server import SandboxOptions, SandboxServer

    with SandboxServer(SandboxOptions(seed="demo", random_seed=1234)) as sb:
        yield sb


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., Any]]:
    """Start sandboxes with custom options; all are stopped at the end of the test."""
    from gradient_desktop.sandbox.server import SandboxOptions, SandboxServer

    started: list[Any] = []

    def start(**options: Any) -> Any:
        options.setdefault("random_seed", 1234)
        sb = SandboxServer(SandboxOptions(**options))
        sb.start()
        started.append(sb)
        return sb

    yield start
    for sb in started:
        sb.stop()


@pytest.fixture
def clean_logging() -> Iterator[None]:
    """Undo what ``setup_logging`` did to the root logger (our handlers, the level) and the
    registered secrets, before and after the test."""
    import logging

    from gradient_desktop.logsetup import clear_secrets

    clear_secrets()
    root = logging.getLogger()
    level = root.level
    yield
    for handler in [h for h in root.handlers if getattr(h, "_gradient_desktop", False)]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    clear_secrets()


@pytest.fixture
def run_async() -> Callable[[Coroutine[Any, Any, T]], T]:
    """Run a coroutine on a plain asyncio loop (Qt-free core code)."""

    def run(coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run(coro)

    return run


@pytest.fixture(scope="session")
def _session_qloop(qapp: Any) -> Iterator[Any]:
    """One qasync loop for the whole session, as the app has one for its whole life: loops made
    and closed per test over the same QApplication can leave Qt timers and socket notifiers
    pointing at a closed loop (seen as rare segfaults inside qasync's run_forever)."""
    from gradient_desktop.ui.qt import QEventLoop

    loop = QEventLoop(qapp, already_running=False)
    yield loop
    asyncio.set_event_loop(None)
    loop.close()


@pytest.fixture
def qloop(_session_qloop: Any) -> Iterator[Any]:
    """The session's qasync event loop over the test QApplication (pytest-qt has no qasync
    support, #448); the test's leftover tasks are cancelled and awaited at its end."""
    loop = _session_qloop
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        asyncio.set_event_loop(None)
