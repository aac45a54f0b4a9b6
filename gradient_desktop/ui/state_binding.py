"""The Qt side of ``services.state``: ``StateHub.changed`` (a psygnal signal) re-emitted as a Qt
signal, coalesced per event-loop turn, so a widget re-renders once however many services touched
the partner in a row.

Widgets connect to ``binding(ctx).changed`` and render from ``ctx.state.get(partner_id)``; they
keep no copy of the facts (see docs/ARCHITECTURE.md, "One truth per partner").
"""

from __future__ import annotations

import shiboken6

from gradient_desktop.services.context import AppContext
from gradient_desktop.ui.qt import QtCore


class StateBinding(QtCore.QObject):
    #: A partner's state changed (partner id); emitted on the GUI thread, coalesced.
    changed = QtCore.Signal(int)

    def __init__(self, ctx: AppContext, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._pending: set[int] = set()
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._flush)
        ctx.state.changed.connect(self._on_changed)

    def _on_changed(self, partner_id: int) -> None:
        if not shiboken6.isValid(self):
            self.ctx.state.changed.disconnect(self._on_changed)
            return
        self._pending.add(partner_id)
        self._timer.start()

    def _flush(self) -> None:
        pending, self._pending = sorted(self._pending), set()
        for partner_id in pending:
            self.changed.emit(partner_id)

    def flush_now(self) -> None:
        """Deliver what is pending at once (tests that assert right after a service call)."""
        self._timer.stop()
        self._flush()


def binding(ctx: AppContext) -> StateBinding:
    """The one binding of this context (created on first use, lives with the QApplication)."""
    existing = getattr(ctx, "_qt_state_binding", None)
    if existing is not None and shiboken6.isValid(existing):
        return existing
    from gradient_desktop.ui.qt import QtWidgets

    made = StateBinding(ctx, QtWidgets.QApplication.instance())
    ctx._qt_state_binding = made  # type: ignore[attr-defined]
    return made
