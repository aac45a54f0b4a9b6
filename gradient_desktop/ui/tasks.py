"""Running service coroutines from widgets on the qasync loop, without freezing the window.

Widgets never await network work inline in a slot that Qt may re-enter; they hand a coroutine to
``TaskRunner.start``, which tracks it (so closing a window cancels its work cleanly), reports
errors as sentences (``ApiError`` messages are written for users) and never lets an exception
escape into Qt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from gradient_desktop.ui.qt import QtCore, QtWidgets

if TYPE_CHECKING:  # imported when a task starts: the first paint does not need asyncio
    import asyncio

log = logging.getLogger(__name__)


#: Errors that report a condition the user can act on (a wrong key, an empty name, a bad file,
#: Gradient unreachable), not a bug in the app: logged as one line, without a traceback.
_USER_ERRORS = frozenset(
    {
        "KeyringUnavailable",
        "SecretStoreError",
        "MissingKeyError",
        "DatabaseProblem",
        "AlreadyRunning",
        "PartnerExists",
        "PartnerNotFound",
        "CountFileError",
        "CustomerFileError",
        "MappingCsvError",
        "StagingError",
        "SetupError",
        "InsecureUrlError",
    }
)


def is_user_error(exc: BaseException) -> bool:
    """True for an API answer or one of our own user-facing errors; False for a bug."""
    from gradient_desktop.api import ApiError

    return isinstance(exc, ApiError) or any(c.__name__ in _USER_ERRORS for c in type(exc).__mro__)


def log_failure(what: str, exc: BaseException) -> None:
    """The audit line for a failed action: WARNING and the sentence for a user error (a 401,
    an empty name); ERROR with the traceback for anything else, which is a bug to report."""
    from gradient_desktop.logsetup import redact

    if is_user_error(exc):
        log.warning("%s: %s (%s)", what, redact(str(exc)), type(exc).__name__)
    else:
        log.error("%s", what, exc_info=exc)


def describe_error(exc: BaseException) -> str:
    """A sentence for the user: our own errors already are; anything else gets a generic hint."""
    from gradient_desktop.api import ApiError
    from gradient_desktop.logsetup import redact

    if isinstance(exc, ApiError):
        return str(exc)
    if type(exc).__name__ in _USER_ERRORS or isinstance(exc, ValueError):
        return redact(str(exc))
    return redact(
        f"Something went wrong ({type(exc).__name__}). The details are in the log "
        "(Help → Show log); please retry, and report it if it happens again."
    )


class TaskRunner(QtCore.QObject):
    """Owns the asyncio tasks a window starts; ``cancel_all`` on close."""

    busy_changed = QtCore.Signal(bool)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def start(
        self,
        coro: Coroutine[Any, Any, Any],
        *,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_cancel: Callable[[], None] | None = None,
    ) -> asyncio.Task[Any]:
        import asyncio

        task = asyncio.ensure_future(coro)
        was_busy = self.busy
        self._tasks.add(task)
        if not was_busy:
            self.busy_changed.emit(True)

        def finished(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not self._tasks:
                self.busy_changed.emit(False)
            if t.cancelled():
                if on_cancel:
                    on_cancel()
                return
            exc = t.exception()
            if exc is not None:
                log_failure("background task failed", exc)
                if on_error:
                    on_error(exc)
                return
            if on_done:
                on_done(t.result())

        task.add_done_callback(finished)
        return task

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    async def wait_all(self) -> None:
        if self._tasks:
            import asyncio

            await asyncio.gather(*self._tasks, return_exceptions=True)


def show_error(parent: QtWidgets.QWidget | None, title: str, exc: BaseException | str) -> None:
    """A non-modal error box (``open()``, never ``exec()`` inside a coroutine: qasync#59)."""
    text = exc if isinstance(exc, str) else describe_error(exc)
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, title, text, parent=parent)
    box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()


def ask(
    parent: QtWidgets.QWidget,
    icon: QtWidgets.QMessageBox.Icon,
    title: str,
    text: str,
    info: str,
    accept: str,
    on_accept: Callable[[], None],
    on_cancel: Callable[[], None] | None = None,
) -> QtWidgets.QMessageBox:
    """A non-modal question with one action button (``accept``) and Cancel, Cancel the default
    and what Esc presses; ``on_accept`` / ``on_cancel`` run on the answer. Opened, never
    ``exec()``-ed inside the qasync loop (PITFALLS.md, qasync#59)."""
    no_buttons = QtWidgets.QMessageBox.StandardButton.NoButton
    box = QtWidgets.QMessageBox(icon, title, text, no_buttons, parent)
    box.setInformativeText(info)
    yes = box.addButton(accept, QtWidgets.QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)

    def answered(button: QtWidgets.QAbstractButton) -> None:
        if button is yes:
            on_accept()
        elif on_cancel is not None:
            on_cancel()

    box.buttonClicked.connect(answered)
    box.open()
    return box
