"""Runtime side of the sandbox state: per-token rate windows, the idempotency store and the
request log (the alert queue is in `state_alerts.py`).

Mixed into `SandboxState` (which creates the attributes); every method takes the state lock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from .models import Organisation, iso


class RuntimeMixin:
    """See module docstring."""

    if TYPE_CHECKING:  # provided by SandboxState
        lock: threading.Lock
        _idempotency: dict[tuple[str, str], tuple[str, int, bytes]]
        _requests: deque[dict[str, Any]]

        def _org(self, partner_key: str) -> Organisation: ...

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
