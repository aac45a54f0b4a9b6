"""The sandbox's alert queue: Gradient's Alerts module as the public facts describe it.

Per partner (organisation), a dispatched alert is queued and answered at once with a
`messageId` (vendor-api.md §2.8); it is processed `delay` seconds later, whether or not anyone
polls, into a PSA ticket or a failure. Processing needs what Gradient needs (§2.8 "requires
accounts/services mapped and a PSA board mapped for alerts"): the account mapped to a PSA
company, the service (if named) mapped, a board chosen for alerts and the PSA answering.
Every dispatch is its own ticket: Gradient is not known to de-duplicate by `alertId` (§13), so
the sandbox does not either, and a client that repeats a dispatch sees the duplicate here.

Failure injection (`AlertRules`, from the fault switches in `options.py`): no board mapped for
every partner, or the PSA down with some probability. A board can also be set or removed per
partner (`POST /_sandbox/alert-board`). Mixed into `SandboxState`; every method takes its lock.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .models import Organisation, SandboxError, iso, new_guid

DEFAULT_BOARD = "Alerts"
NO_BOARD_ERROR = "No PSA board is mapped for alerts"
PSA_DOWN_ERROR = "PSA request failed: 503 Service Unavailable"


@dataclass(frozen=True)
class AlertRules:
    """How the queue processes alerts (read from the live options on every request)."""

    delay_s: float = 0.3
    no_board: bool = False
    psa_down_rate: float = 0.0


class AlertsMixin:
    """See module docstring."""

    if TYPE_CHECKING:  # provided by SandboxState
        lock: threading.Lock
        rng: random.Random
        _next_ticket: int

        def _org(self, partner_key: str) -> Organisation: ...
        def _oid(self) -> str: ...

    def _boards(self) -> dict[str, str | None]:
        """Organisation id -> the PSA board chosen for alerts (absent = the default board)."""
        boards: dict[str, str | None] = self.__dict__.setdefault("_alert_boards", {})
        return boards

    # --- the API (routes 18, 19) -----------------------------------------------------------------

    def dispatch_alert(
        self,
        partner_key: str,
        account_id: str,
        alert: dict[str, Any],
        *,
        auto_activate: bool = True,
        rules: AlertRules | None = None,
    ) -> dict[str, Any]:
        """Queue an alert; like Gradient, mapping problems only surface in the debug status."""
        with self.lock:
            org = self._org(partner_key)
            self._process(org, rules)
            message_id = new_guid(self.rng)
            org.alerts[message_id] = {
                "accountId": account_id,
                "alert": dict(alert),
                "queuedAt": time.monotonic(),
                "queuedWall": time.time(),  # what a snapshot keeps (monotonic is per process)
                "createdAt": iso(),
                "result": None,
            }
            if auto_activate and org.status == "pending":
                org.status = "active"
            return {
                "messageId": message_id,
                "alertId": alert["alertId"],
                "correlationID": self._oid(),
            }

    def alert_status(
        self, partner_key: str, message_id: str, rules: AlertRules | None = None
    ) -> dict[str, Any]:
        """RetrieveAlertResponseDto: messageId, createdAt, status, message, and ticketId on
        success or statusCode + errors on failure."""
        with self.lock:
            org = self._org(partner_key)
            self._process(org, rules)
            entry = org.alerts.get(message_id)
            if entry is None:
                raise SandboxError(404, f"Alert not found with id: {message_id}")
            base = {"messageId": message_id, "createdAt": entry["createdAt"]}
            if entry["result"] is None:
                return {**base, "status": "pending", "message": "Alert is queued"}
            return {**base, **entry["result"]}

    # --- the MSP side and inspection (admin routes) ---------------------------------------------

    def set_alert_board(self, partner_key: str, board: str | None) -> None:
        """The MSP picks (or removes, with None) the PSA board alerts become tickets on."""
        with self.lock:
            self._boards()[self._org(partner_key).id] = board

    def alert_board(self, partner_key: str) -> str | None:
        with self.lock:
            return self._boards().get(self._org(partner_key).id, DEFAULT_BOARD)

    def alert_log(self, partner_key: str, rules: AlertRules | None = None) -> list[dict[str, Any]]:
        """Every dispatch of this partner in arrival order, with its outcome so far."""
        with self.lock:
            org = self._org(partner_key)
            self._process(org, rules)
            return [
                {
                    "messageId": mid,
                    "accountId": e["accountId"],
                    "alertId": e["alert"].get("alertId"),
                    "title": e["alert"].get("title"),
                    "priority": e["alert"].get("priority"),
                    "createdAt": e["createdAt"],
                    "board": e.get("board"),
                    **(e["result"] or {"status": "pending"}),
                }
                for mid, e in org.alerts.items()
            ]

    def tickets(self, partner_key: str, rules: AlertRules | None = None) -> list[dict[str, Any]]:
        """The PSA tickets alerts have created for this partner (one per successful dispatch)."""
        return [a for a in self.alert_log(partner_key, rules) if a["status"] == "success"]

    # --- snapshot (JSON-able; see SandboxState.snapshot) -----------------------------------------

    def _alerts_snapshot(self, org: Organisation) -> dict[str, Any]:
        """The partner's alert queue (pending ones too) and its alert board, so the demo keeps
        answering the debug route for alerts the app's ledger knows after a restart."""
        out: dict[str, Any] = {
            "alerts": {
                mid: {k: v for k, v in e.items() if k != "queuedAt"}
                for mid, e in org.alerts.items()
            }
        }
        if org.id in self._boards():
            out["alertBoard"] = self._boards()[org.id]
        return out

    def _alerts_restore(self, org: Organisation, data: dict[str, Any]) -> None:
        """Inverse of ``_alerts_snapshot``; a pending alert keeps the time it has waited."""
        now_wall, now = time.time(), time.monotonic()
        for mid, e in data.get("alerts", {}).items():
            waited = max(0.0, now_wall - float(e.get("queuedWall", now_wall)))
            org.alerts[mid] = {**e, "queuedAt": now - waited}
        if "alertBoard" in data:
            self._boards()[org.id] = data["alertBoard"]

    # --- processing ------------------------------------------------------------------------------

    def _process(self, org: Organisation, rules: AlertRules | None) -> None:
        """Turn every alert queued for at least `delay_s` into a ticket or a failure (lock held).

        The rules come with each API request (the live fault switches); a call without them
        (inspection from a test or an admin route) uses the ones the server last applied.
        """
        if rules is None:
            rules = self.__dict__.get("_alert_rules", AlertRules())
        else:
            self.__dict__["_alert_rules"] = rules
        now = time.monotonic()
        for entry in org.alerts.values():
            if entry["result"] is None and now - entry["queuedAt"] >= rules.delay_s:
                result = entry["result"] = self._outcome(org, entry, rules)
                if result["status"] == "success":
                    entry["board"] = self._boards().get(org.id, DEFAULT_BOARD)

    def _outcome(
        self, org: Organisation, entry: dict[str, Any], rules: AlertRules
    ) -> dict[str, Any]:
        account = org.accounts.get(entry["accountId"])
        service_id = entry["alert"].get("serviceId")
        board = None if rules.no_board else self._boards().get(org.id, DEFAULT_BOARD)
        if account is None or account.client_id is None:
            return _failed(404, f"No account map found with id: {entry['accountId']}")
        if service_id and service_id not in org.service_products:
            return _failed(404, f"No service map found with id: {service_id}")
        if not board:
            return _failed(400, NO_BOARD_ERROR)
        if rules.psa_down_rate > 0 and self.rng.random() < rules.psa_down_rate:
            return _failed(503, PSA_DOWN_ERROR)
        self._next_ticket += 1
        return {
            "status": "success",
            "ticketId": str(self._next_ticket),
            "message": f"Ticket created on board {board}",
        }


def _failed(status_code: int, error: str) -> dict[str, Any]:
    return {
        "status": "failed",
        "statusCode": status_code,
        "message": "Ticket creation failed",
        "errors": [error],
    }
