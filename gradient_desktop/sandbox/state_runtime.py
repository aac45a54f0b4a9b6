"""Runtime side of the sandbox state: the alert queue, per-token rate windows, the
idempotency store and the request log.

Mixed into `SandboxState` (which creates the attributes); every method takes the state lock.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from .models import Organisation, SandboxError, iso, new_guid


class RuntimeMixin:
    """See module docstring."""

    if TYPE_CHECKING:  # provided by SandboxState
        lock: threading.Lock
        rng: random.Random
        _idempotency: dict[tuple[str, str], tuple[str, int, bytes]]
        _requests: deque[dict[str, Any]]
        _next_ticket: int

        def _org(self, partner_key: str) -> Organisation: ...
        def _oid(self) -> str: ...

    # --- alerting -------------------------------------------------------------------------------

    def dispatch_alert(
        self,
        partner_key: str,
        account_id: str,
        alert: dict[str, Any],
        *,
        auto_activate: bool = True,
    ) -> dict[str, Any]:
        """Queue an alert; like Gradient, mapping problems only surface in the debug status."""
        with self.lock:
            org = self._org(partner_key)
            message_id = new_guid(self.rng)
            org.alerts[message_id] = {
                "accountId": account_id,
                "alert": dict(alert),
                "queuedAt": time.monotonic(),
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
        self, partner_key: str, message_id: str, delay_s: float = 0.0
    ) -> dict[str, Any]:
        with self.lock:
            org = self._org(partner_key)
            entry = org.alerts.get(message_id)
            if entry is None:
                raise SandboxError(404, f"Alert not found with id: {message_id}")
            base = {"messageId": message_id, "createdAt": entry["createdAt"]}
            if entry["result"] is None:
                if time.monotonic() - entry["queuedAt"] < delay_s:
                    return {**base, "status": "pending", "message": "Alert is queued"}
                account = org.accounts.get(entry["accountId"])
                if account is None or account.client_id is None:
                    entry["result"] = {
                        "status": "failed",
                        "statusCode": 404,
                        "message": "Ticket creation failed",
                        "errors": [f"No account map found with id: {entry['accountId']}"],
                    }
                else:
                    self._next_ticket += 1
                    entry["result"] = {
                        "status": "success",
                        "ticketId": str(self._next_ticket),
                        "message": "Ticket created",
                    }
            return {**base, **entry["result"]}

    # --- plumbing for the HTTP layer: rate window, idempotency, request log ---------------------

    def admit(self, partner_key: str, limit: int | None, now: float | None = None) -> bool:
        """Sliding one-second window per token. Only accepted requests enter the window."""
        now = time.monotonic() if now is None else now
        with self.lock:
            org = self._org(partner_key)
            window = org.window
            while window and window[0] <= now - 1.0:
                window.popleft()
            if limit and len(window) >= limit:
                return False
            window.append(now)
            org.max_rps_seen = max(org.max_rps_seen, len(window))
            return True

    def max_rps_seen(self, partner_key: str) -> int:
        """Most accepted requests in any one-second window for this token."""
        with self.lock:
            return self._org(partner_key).max_rps_seen

    def idempotent_get(self, scope: str, key: str) -> tuple[str, int, bytes] | None:
        with self.lock:
            return self._idempotency.get((scope, key))

    def idempotent_put(
        self, scope: str, key: str, fingerprint: str, status: int, body: bytes
    ) -> None:
        with self.lock:
            self._idempotency[(scope, key)] = (fingerprint, status, body)

    def log_request(self, method: str, path: str, status: int, ms: float) -> None:
        with self.lock:
            self._requests.append(
                {"at": iso(), "method": method, "path": path, "status": status, "ms": round(ms, 2)}
            )

    def requests(self) -> list[dict[str, Any]]:
        """The request log, oldest first: method, path (no query), status, ms. Never headers."""
        with self.lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self.lock:
            self._requests.clear()
