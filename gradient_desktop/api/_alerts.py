"""Alerting routes (vendor-api.md §2.8): dispatch an alert (→ a PSA ticket) and read its
ticket-creation status.

An alert dispatch is *never* repeated after it may have reached Gradient: no public source
says Gradient de-duplicates by ``alertId`` or honours an ``Idempotency-Key`` (§13), and a
repeat would open a second ticket. So the call carries no idempotency key, is marked
non-idempotent, and the retry rules (``retry.py``) then retry it only when the request
provably never reached Gradient (connect errors, 408, 429); anything else after sending
raises ``OutcomeUnknownError`` for the caller's ledger to resolve (``services/alerts.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._base import BaseClient, seg
from .models import AlertCreated, AlertRequest, AlertStatus, unwrap


class AlertsApi(BaseClient):
    """Routes 18 and 19."""

    async def dispatch_alert(
        self, account_id: str, alert: AlertRequest | Mapping[str, Any]
    ) -> AlertCreated:
        """Enqueue an alert for ``account_id``; returns Gradient's ``messageId`` to trace.

        Raises ``OutcomeUnknownError`` when the request may have been processed but no answer
        arrived (5xx, timeout, reset after sending): the caller must not simply send it again.
        """
        model = alert if isinstance(alert, AlertRequest) else AlertRequest.model_validate(alert)
        r = await self._request(
            "POST",
            f"/alerting/{seg(account_id)}",
            body=model.wire(),
            idempotent=False,  # a repeat is a second ticket; see the module docstring
            what=f"account '{account_id}'",
        )
        return self._model(AlertCreated, unwrap(self._json(r)), r)

    async def get_alert_status(self, message_id: str) -> AlertStatus:
        """Ticket-creation status (``pending`` | ``success`` | ``failed``) of a dispatched alert."""
        r = await self._request(
            "GET",
            f"/alerting/debug/{seg(message_id)}",
            idempotent=True,
            what=f"alert message '{message_id}'",
        )
        data = unwrap(self._json(r))
        return self._model(AlertStatus, data if data is not None else {}, r)
