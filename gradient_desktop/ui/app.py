"""Starting and stopping the desktop app: QApplication, the qasync loop, logging, the
single-instance lock, the application context and the main window.

``GRADIENT_DESKTOP_EXIT_AFTER_PAINT=1`` makes the app quit right after the main window's first
paint and print the time since process start (the cold-start benchmark uses it).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets

log = logging.getLogger(__name__)

APP_NAME = "Gradient Desktop"


def _process_start_time() -> float:
    """Seconds since the epoch when this process started (Linux /proc; else now)."""
    try:
        with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat", encoding="ascii") as fh:
            btime = next(int(line.split()[1]) for line in fh if line.startswith("btime"))
        return btime + start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, StopIteration, IndexError):
        return time.time()


def make_application(argv: list[str] | None = None, *, icon: bool = True) -> QtWidgets.QApplication:
    """The QApplication with the app's names; ``icon=False`` leaves the window icon to a
    later ``set_icon`` (decoding it costs ~3 ms the first paint does not need)."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(argv or sys.argv[:1])
    assert isinstance(app, QtWidgets.QApplication)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("Gradient Desktop")
    app.setApplicationDisplayName(APP_NAME)
    from gradient_desktop import __version__

    app.setApplicationVersion(__version__)
    if icon:
        set_icon(app)
    return app


def set_icon(app: QtWidgets.QApplication) -> None:
    icon_path = resource_path("icons/gradient-desktop.png")
    if icon_path and os.path.exists(icon_path):
        app.setWindowIcon(QtGui.QIcon(icon_path))


def resource_path(relative: str) -> str | None:
    """A file under ``resources/`` (frozen bundle, source checkout or installed wheel)."""
    from gradient_desktop.diagnostics import resources_dir

    base = resources_dir()
    candidate = base / relative if base else None
    return str(candidate) if candidate and candidate.exists() else None


def _install_excepthook(window_getter: Any) -> None:
    """Exceptions from @asyncSlot and Qt callbacks end up here: log them, tell the user."""
    from gradient_desktop.ui.tasks import log_failure, show_error

    def hook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        log_failure("unhandled exception", exc.with_traceback(tb))
        try:
            show_error(window_getter(), "Unexpected error", exc)
        except Exception:  # the hook must never raise
            pass

    sys.excepthook = hook


def _open_context() -> Any:
    """The context, or a clear dialog about the database (and the chance to start fresh)."""
    from gradient_desktop.services.context import AppContext
    from gradient_desktop.store import DatabaseProblem

    try:
        return AppContext.open()
    except DatabaseProblem as exc:
        answer = QtWidgets.QMessageBox.question(
            None,
            APP_NAME,
            f"{exc}\n\nStart with a new, empty database? (The old file stays where it was backed up.)",
        )
        if answer != QtWidgets.QMessageBox.StandardButton.Yes:
            return None
        return AppContext.open(start_fresh=True)


def run_gui(*, demo: bool = False, argv: list[str] | None = None) -> int:
    """Paint the main window's frame first, then — an event-loop tick later — take the
    instance lock, open the store (SQLAlchemy alone costs ~250 ms of imports), the API layer
    and the partners list, and fill the window in (issue 16: first paint near a bare Qt
    window instead of 7×)."""
    started = _process_start_time()
    from gradient_desktop.config import Settings
    from gradient_desktop.ui import theme
    from gradient_desktop.ui.main_window import MainWindow

    app = make_application(argv, icon=False)
    # The OS's colour scheme is asked after the paint (theme.platform_scheme says why).
    manager = theme.install(app, Settings.load().theme, guess=True)
    window = MainWindow()
    window.restore_geometry()
    _install_excepthook(lambda: window)
    exit_after_paint = os.environ.get("GRADIENT_DESKTOP_EXIT_AFTER_PAINT") == "1"
    opened: dict[str, Any] = {}

    def open_everything() -> None:
        manager.confirm()
        set_icon(app)
        from gradient_desktop.config import log_dir
        from gradient_desktop.logsetup import setup_logging
        from gradient_desktop.store import AlreadyRunning, InstanceLock

        lock = InstanceLock()
        try:
            lock.acquire()
        except AlreadyRunning as exc:
            QtWidgets.QMessageBox.information(window, APP_NAME, str(exc))
            window.close()
            return
        opened["lock"] = lock
        ctx = _open_context()
        if ctx is None:
            window.close()
            return
        opened["ctx"] = ctx
        setup_logging(ctx.settings.log_level, log_dir())
        from gradient_desktop import __version__

        log.info(
            "%s %s starting (Qt %s, platform %s)",
            APP_NAME,
            __version__,
            QtCore.qVersion(),
            app.platformName(),
        )
        window.attach(ctx)
        if exit_after_paint:
            window.close()
        elif demo:
            window.partners_view.open_demo()
        else:
            from gradient_desktop.ui.first_run import show_first_run

            show_first_run(window)  # only while no partner exists

    def painted() -> None:
        opened["painted"] = True
        if exit_after_paint:
            print(f"first-paint {time.time() - started:.4f}", flush=True)

    window.first_painted.connect(painted)
    window.show()
    # Paint with Qt alone, before asyncio and qasync are even imported (~70 ms); capped, so
    # a window that is never exposed cannot hold the start.
    until = time.monotonic() + 3.0
    while "painted" not in opened and time.monotonic() < until:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)

    import asyncio

    from gradient_desktop.ui.qt import QEventLoop

    loop = QEventLoop(app)
    asyncio.set_event_loop(loop)
    QtCore.QTimer.singleShot(0, open_everything)  # the next tick: the paint is on screen
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)

    async def shutdown() -> None:
        # Cancel and await pending work, then close HTTP pools before the loop ends
        # (qasync#55, httpx#914).
        window.tasks.cancel_all()
        await window.tasks.wait_all()
        if "ctx" in opened:
            await opened["ctx"].aclose()

    try:
        with loop:
            loop.run_until_complete(closed.wait())
            loop.run_until_complete(shutdown())
    finally:
        if "ctx" in opened:
            opened["ctx"].close()
        if "lock" in opened:
            opened["lock"].release()
    return 0


__all__ = ["QtCore", "make_application", "resource_path", "run_gui"]
