"""What an alert's state and Gradient's failure mean, in words for the user (the history, the
CLI, the Alerts page). Pure functions; ``services/alerts.py`` re-exports them."""

from __future__ import annotations

from collections.abc import Sequence

from gradient_desktop.store.models import AlertEntry, AlertState


def reason_in_words(
    errors: Sequence[str] | None, status_code: int | None, message: str | None
) -> str:
    """Why Gradient could not create the ticket, as a sentence that says what to do."""
    text = " ".join([*(errors or []), message or ""]).lower()
    if "board" in text:
        return (
            "The MSP has not chosen a PSA board for alerts: in Synthesize, open the integration, "
            "map a board for alerts, then resend."
        )
    if "account map" in text or "not mapped" in text or "unmapped" in text:
        return (
            "The MSP has not mapped this account to a PSA company in Synthesize, so Gradient "
            "cannot tell whose ticket it is. Ask them to map it, then resend."
        )
    if "service" in text and ("map" in text or "not found" in text):
        return "The service named in the alert is not mapped in Synthesize; resend without it or ask the MSP to map it."
    if (status_code or 0) >= 500 or "unavailable" in text or "timeout" in text:
        return (
            "The partner's PSA did not accept the ticket (it was unreachable or failed). "
            "Resend the alert once their PSA is back."
        )
    detail = "; ".join(errors or []) or message or "no reason given"
    return f"Gradient could not create the ticket ({detail})."


def status_text(row: AlertEntry) -> str:
    """The one-word-ish status the history shows."""
    state = AlertState(row.state)
    if state is AlertState.ACCEPTED:
        return "still pending" if row.checks else "sent, waiting for ticket"
    return {
        AlertState.QUEUED: "queued",
        AlertState.SENDING: "sending",
        AlertState.SUCCESS: "ticket created",
        AlertState.FAILED: "failed",
        AlertState.REJECTED: "rejected",
        AlertState.UNKNOWN: "outcome unknown — confirm",
        AlertState.MARKED_SENT: "marked as sent",
        AlertState.CANCELLED: "cancelled",
    }[state]
