"""The push progress panel: a bar with counts, what failed so far, an ETA, and Cancel.

It renders the partner's state (``PartnerState.push_progress`` and ``last_push``,
services/state.py) and keeps no copy of its own: a push started anywhere (this page, the Sync
page, the setup wizard's first sync, an unfinished push resumed on start) shows here the same
way the status bar shows it. When no push runs the bar is hidden and the line says what the last
push did, or what waits to be sent.
"""

from __future__ import annotations

from collections.abc import Callable

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.state import PartnerState, PushProgress, when
from gradient_desktop.services.wording import figures, plural
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets
from gradient_desktop.ui.state_binding import binding

#: The line when no push has run for this partner since the app started and nothing waits.
IDLE_TEXT = "No push running. Staged counts are sent with Push (Ctrl+Enter)."


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "estimating time left…"
    whole = round(seconds)
    return f"about {whole // 60}:{whole % 60:02d} left"


def progress_text(p: PushProgress) -> str:
    """ "81 of 362 sent · 2 failed · about 0:14 left" """
    parts = [p.describe()]
    parts += figures(
        (p.failed, f"{p.failed:,} failed"),
        (p.unmapped, f"{p.unmapped:,} unmapped"),
        (p.unknown, f"{p.unknown:,} to check"),
    )
    parts.append(_eta(p.eta_s))
    return " · ".join(parts)


def idle_text(st: PartnerState | None) -> str:
    """What the panel says between pushes: the last push's outcome, then what waits."""
    if st is None:
        return IDLE_TEXT
    parts = []
    if st.last_push is not None:
        parts.append(f"Last push ({when(st.last_push.at)}): {st.last_push.text}")
    if st.queued:
        parts.append(f"{plural(st.queued, 'count')} waiting to be sent.")
    return " ".join(parts) if parts else IDLE_TEXT


class PushPanel(QtWidgets.QFrame):
    cancel_requested = QtCore.Signal()

    def __init__(self, ctx: AppContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.partner_id: int | None = None
        self._cancelling = False
        #: Whether the push running now can be cancelled here (the page's own push; one from
        #: the Sync page is cancelled there). The page replaces this.
        self.can_cancel: Callable[[], bool] = lambda: True
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.bar = QtWidgets.QProgressBar()
        self.bar.setAccessibleName("Push progress")
        self.bar.setTextVisible(True)
        self.bar.setFormat("%v / %m")
        self.label = QtWidgets.QLabel(IDLE_TEXT)
        self.label.setAccessibleName("Push status")
        self.label.setWordWrap(True)
        self.cancel = QtWidgets.QPushButton("Cancel push")
        self.cancel.setToolTip("Stop sending (Esc). Rows not sent stay queued for the next push.")
        self.cancel.setShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Escape))
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self._cancel_clicked)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.bar, 2)
        layout.addWidget(self.label, 3)
        layout.addWidget(self.cancel)
        binding(ctx).changed.connect(self._on_state)
        self.render_state()

    def set_partner(self, partner_id: int | None) -> None:
        self.partner_id = partner_id
        self._cancelling = False
        self.render_state()

    def _on_state(self, partner_id: int) -> None:
        if partner_id == self.partner_id:
            self.render_state()

    def _cancel_clicked(self) -> None:
        self.cancel_requested.emit()

    def cancelling(self) -> None:
        """The page asked the push to stop: say so until the push has ended."""
        self._cancelling = True
        self.render_state()

    def render_state(self) -> None:
        st = self.ctx.state.get(self.partner_id) if self.partner_id is not None else None
        progress = st.push_progress if st is not None else None
        if progress is None:
            self._cancelling = False
            self.bar.hide()  # an idle "0 / 1" bar said nothing true
            self.cancel.setEnabled(False)
            self.label.setText(idle_text(st))
            return
        self.bar.setRange(0, max(progress.total, 1))
        self.bar.setValue(progress.done)
        self.bar.show()
        if self._cancelling:
            self.cancel.setEnabled(False)
            self.label.setText("Cancelling: waiting for requests in flight; the rest stays queued…")
        else:
            self.cancel.setEnabled(self.can_cancel())
            self.label.setText(progress_text(progress))
