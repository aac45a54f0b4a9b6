"""The Alerts page's decisions and what it says about them. Those that send nothing — "Mark as sent" and "Don't send"/"Dismiss" —
as undoable commands (Edit → Undo, Ctrl+Z), and the "alerts need you" banner rendered from the
partner's state (the same number the status bar shows).

A resend is not undoable: it sends the alert, and a ticket cannot be taken back.
"""

from __future__ import annotations

from collections.abc import Callable

from gradient_desktop.services.alerts import AlertService
from gradient_desktop.services.state import PartnerState
from gradient_desktop.store.alerts import Resolution
from gradient_desktop.store.models import AlertEntry, AlertState
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets

_WORDS = {Resolution.MARK_SENT: "Mark as sent", Resolution.CANCEL: "Don't send"}


def cancel_label(state: AlertState | None) -> str:
    """ "Dismiss" for a failed or refused alert (it was sent; the user will not resend it),
    "Don't send" for one waiting or in doubt."""
    return "&Dismiss" if state in (AlertState.FAILED, AlertState.REJECTED) else "Do&n't send"


class DecisionCommand(QtGui.QUndoCommand):
    """One decision on one alert; undo puts the alert back as it was before it."""

    def __init__(
        self,
        service: AlertService,
        before: AlertEntry,
        choice: str,
        on_change: Callable[[AlertEntry | None, str], None],
    ) -> None:
        word = "Dismiss" if before.state in ("failed", "rejected") else _WORDS[choice]
        super().__init__(f"{word} '{before.title}'")
        self.service, self.before, self.choice = service, before, choice
        self.on_change = on_change

    def redo(self) -> None:
        try:
            row = self.service.resolve(self.before.alert_id, self.choice, actor="app")
        except (LookupError, ValueError) as exc:
            self.setObsolete(True)  # nothing happened: nothing to undo
            self.on_change(None, str(exc))
            return
        self.on_change(row, f"{self.text()}: done. Undo with Ctrl+Z.")

    def undo(self) -> None:
        try:
            row = self.service.undo_resolve(self.before.alert_id, self.before)
        except (LookupError, ValueError) as exc:
            self.on_change(None, str(exc))
            return
        self.on_change(row, f"Undone: {self.text()}.")


def needs_you_text(state: PartnerState | None) -> str:
    """The banner over the history: what waits for the user and what to do, or ""."""
    if state is None or not state.alerts_need_you:
        return ""
    parts = []
    if state.alerts_in_doubt:
        parts.append(
            f"{state.alerts_in_doubt} with an unknown outcome: look on the partner's PSA board, "
            "then choose Mark as sent (its ticket is there) or Resend (it is not)"
        )
    if state.alerts_failed:
        parts.append(
            f"{state.alerts_failed} failed or refused: the details say why; fix that, then "
            "Resend, or Dismiss it"
        )
    return f"⚠ {state.alerts_text().removesuffix(' (Alerts page)')} — " + "; ".join(parts) + "."


def sent_text(entry: AlertEntry) -> str:
    """What the page says after sending (or resending) one alert, by what became of it."""
    if entry.state == AlertState.SUCCESS:
        return f"Ticket {entry.ticket_id} created on the partner's PSA for {entry.title!r}."
    if entry.state == AlertState.ACCEPTED:
        return (
            f"{entry.title!r} was accepted; its ticket is still pending and is checked in the "
            "background (F5 checks now)."
        )
    if entry.state == AlertState.UNKNOWN:
        return (
            f"No clear answer came back for {entry.title!r}. Look on the partner's PSA board, "
            "then choose Mark as sent or Resend."
        )
    return entry.reason or f"{entry.title!r}: {entry.state}."


def confirm_resend(
    parent: QtWidgets.QWidget, entry: AlertEntry, on_yes: Callable[[], None]
) -> QtWidgets.QMessageBox:
    """Ask before resending an alert in doubt (a second dispatch is a second ticket); opened,
    never ``exec()``-ed inside the qasync loop (PITFALLS.md)."""
    box = QtWidgets.QMessageBox(
        QtWidgets.QMessageBox.Icon.Warning,
        "Resend this alert?",
        f"It is not known whether {entry.title!r} reached Gradient. If it did, resending opens "
        "a second ticket on the partner's PSA board, and a resend cannot be undone.\n\n"
        "Resend only if you checked the board and found no ticket for it.",
        QtWidgets.QMessageBox.StandardButton.Yes | QtWidgets.QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.button(QtWidgets.QMessageBox.StandardButton.Yes).setText("Resend")
    box.setDefaultButton(QtWidgets.QMessageBox.StandardButton.Cancel)
    box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    box.finished.connect(
        lambda result: on_yes() if result == QtWidgets.QMessageBox.StandardButton.Yes else None
    )
    box.open()
    return box
