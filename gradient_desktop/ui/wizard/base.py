"""What every setup page shares: the flow, background work through the wizard's TaskRunner,
an error line that says exactly why, a busy indicator, and masked key fields."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import shiboken6

from gradient_desktop.services.setup import STEP_TITLES, SetupFlow, Step
from gradient_desktop.ui import theme
from gradient_desktop.ui.qt import QtCore, QtWidgets
from gradient_desktop.ui.tasks import describe_error

if TYPE_CHECKING:
    from gradient_desktop.ui.wizard.wizard import SetupWizard

log = logging.getLogger(__name__)


def explain(exc: BaseException) -> str:
    """The sentence to show for a failed step: our own errors are written for users already."""
    from gradient_desktop.logsetup import redact
    from gradient_desktop.secrets import SecretStoreError
    from gradient_desktop.services.setup import SetupError

    if isinstance(exc, SetupError | SecretStoreError):
        return redact(str(exc))
    return describe_error(exc)


class SetupPage(QtWidgets.QWizardPage):
    """A wizard page bound to one step of the ``SetupFlow``."""

    step: Step = Step.VENDOR

    def __init__(self, subtitle: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(f"Step {int(self.step)} of 6 — {STEP_TITLES[self.step]}")
        self.setSubTitle(subtitle)
        self._task: Any = None
        self.layout_ = QtWidgets.QVBoxLayout(self)
        self.error_label = QtWidgets.QLabel()
        self.error_label.setWordWrap(True)
        theme.tint(self.error_label, "error")
        self.error_label.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.error_label.setAccessibleName("Error")
        self.error_label.hide()

    # -- access ---------------------------------------------------------------------------------

    @property
    def setup(self) -> SetupWizard:
        return self.wizard()  # type: ignore[return-value]

    @property
    def flow(self) -> SetupFlow:
        return self.setup.flow

    def finish_layout(self) -> None:
        """Call at the end of a page's __init__: the error line sits at the bottom."""
        self.layout_.addStretch(1)
        self.layout_.addWidget(self.error_label)

    # -- errors ---------------------------------------------------------------------------------

    def show_error(self, exc: BaseException | str | None) -> None:
        if exc is None:
            self.error_label.clear()
            self.error_label.hide()
            return
        self.error_label.setText(exc if isinstance(exc, str) else explain(exc))
        self.error_label.show()

    def guarded(self, action: Callable[[], Any], *errors: type[BaseException]) -> bool:
        """Run a synchronous step action; on a known error show why and return False."""
        from gradient_desktop.secrets import SecretStoreError
        from gradient_desktop.services.context import MissingKeyError
        from gradient_desktop.services.setup import SetupError

        known: tuple[type[BaseException], ...] = (
            SetupError,
            SecretStoreError,
            MissingKeyError,
            ValueError,
            LookupError,
            *errors,
        )
        try:
            action()
        except known as exc:
            self.show_error(exc)
            return False
        self.show_error(None)
        return True

    # -- background work ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def run(
        self,
        coro: Coroutine[Any, Any, Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_cancel: Callable[[], None] | None = None,
    ) -> Any:
        """Start ``coro`` on the qasync loop; callbacks run only while this page still exists."""

        def alive(fn: Callable[..., None] | None) -> Callable[..., None]:
            def call(*args: Any) -> None:
                if fn is not None and shiboken6.isValid(self):
                    fn(*args)
                if shiboken6.isValid(self):
                    self.completeChanged.emit()

            return call

        def failed(exc: BaseException) -> None:
            if on_error is not None:
                on_error(exc)
            else:
                self.show_error(exc)

        self.show_error(None)
        self._task = self.setup.tasks.start(
            coro, on_done=alive(on_done), on_error=alive(failed), on_cancel=alive(on_cancel)
        )
        self.completeChanged.emit()
        return self._task

    def cancel(self) -> None:
        if self.running:
            self._task.cancel()

    def cleanupPage(self) -> None:
        self.cancel()
        super().cleanupPage()


def busy_bar() -> QtWidgets.QProgressBar:
    bar = QtWidgets.QProgressBar()
    bar.setRange(0, 0)  # indeterminate: a moving busy indicator
    bar.setTextVisible(False)
    bar.setMaximumHeight(12)
    bar.hide()
    return bar


class SecretField(QtWidgets.QWidget):
    """A masked key field with a Show toggle; the text is never logged or persisted here."""

    textChanged = QtCore.Signal(str)

    def __init__(self, placeholder: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QtWidgets.QLineEdit()
        self.edit.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.edit.setPlaceholderText(placeholder)
        self.edit.textChanged.connect(self.textChanged)
        self.show_box = QtWidgets.QCheckBox("Show")
        self.show_box.toggled.connect(self._toggle)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.show_box)

    def _toggle(self, shown: bool) -> None:
        mode = QtWidgets.QLineEdit.EchoMode
        self.edit.setEchoMode(mode.Normal if shown else mode.Password)

    def text(self) -> str:
        return self.edit.text().strip()

    def setText(self, text: str) -> None:
        self.edit.setText(text)

    def setPlaceholderText(self, text: str) -> None:
        self.edit.setPlaceholderText(text)

    def setAccessibleName(self, name: str) -> None:
        super().setAccessibleName(name)
        self.edit.setAccessibleName(name)


def wrap_label(text: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setWordWrap(True)
    label.setOpenExternalLinks(True)
    return label
