"""The push progress panel: a bar with counts, what failed so far, an ETA, and Cancel."""

from __future__ import annotations

from gradient_desktop.api import ProgressEvent
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "estimating time left…"
    whole = round(seconds)
    return f"about {whole // 60}:{whole % 60:02d} left"


class PushPanel(QtWidgets.QFrame):
    cancel_requested = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.bar = QtWidgets.QProgressBar()
        self.bar.setAccessibleName("Push progress")
        self.bar.setTextVisible(True)
        self.bar.setFormat("%v / %m")
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.label = QtWidgets.QLabel("No push running.")
        self.label.setAccessibleName("Push status")
        self.cancel = QtWidgets.QPushButton("Cancel push")
        self.cancel.setToolTip("Stop sending (Esc). Rows not sent stay queued for the next push.")
        self.cancel.setShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Escape))
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self.cancel_requested)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.bar, 2)
        layout.addWidget(self.label, 3)
        layout.addWidget(self.cancel)

    def started(self, rows: int) -> None:
        self.bar.setRange(0, max(rows, 1))
        self.bar.setValue(0)
        self.label.setText(f"Sending {rows:,} count(s)…")
        self.cancel.setEnabled(True)

    def progress(self, e: ProgressEvent) -> None:
        self.bar.setRange(0, max(e.total, 1))
        self.bar.setValue(e.done)
        parts = [f"{e.done:,} of {e.total:,} sent"]
        if e.failed:
            parts.append(f"{e.failed} failed")
        if e.unmapped:
            parts.append(f"{e.unmapped} unmapped")
        if e.unknown:
            parts.append(f"{e.unknown} to check")
        parts.append(_eta(e.eta_s))
        self.label.setText(" · ".join(parts))

    def cancelling(self) -> None:
        self.cancel.setEnabled(False)
        self.label.setText("Cancelling: waiting for requests in flight; the rest stays queued…")

    def finished(self, text: str) -> None:
        self.cancel.setEnabled(False)
        self.label.setText(text)
