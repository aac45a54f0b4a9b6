"""Test configuration: headless Qt, an isolated home folder, a real keyring backend, a live sandbox.

Every test runs with ``GRADIENT_DESKTOP_HOME`` pointing at its own temporary folder, so nothing
touches the developer's real data, settings or keyring.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

# GUI tests run headless; set before any QApplication exists (pytest-qt makes it lazily).
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_API", "pyside6")

import keyring  # noqa: E402
import pytest  # noqa: E402

from tests.keyring_backend import MemoryKeyring  # noqa: E402

T = TypeVar("T")


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
