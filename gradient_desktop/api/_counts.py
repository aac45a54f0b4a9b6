"""Unit-count routes (§2.7, legacy §2.10); alerts (§2.8) are in ``_alerts.py``.

Counts are the hot path of a bulk push: responses are not validated beyond their status.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict, Unpack

import httpx

from gradient_desktop.counts import Op

from ._base import _REPLAYED_HEADER, BaseClient, seg
from .models import CountResult, wire_unit_count


class CountOptions(TypedDict, total=False):
    """The keyword options of a legacy add/subtract call."""

    no_build: bool
    client_oid: str | None
    idempotency_key: str | None


class CountsApi(BaseClient):
    """Absolute counts are retried; add/subtract only when provably unsent or keyed."""

    # ----------------------------------------------------------------- counts

    async def set_count(
        self,
        service_id: str,
        account_id: str | None,
        unit_count: float,
        *,
        no_build: bool = False,
        client_oid: str | None = None,
        idempotency_key: str | None = None,
    ) -> CountResult:
        """Set the absolute unit count of one account × one service (idempotent, retried).

        Raises ``UnmappedError`` when the MSP has not mapped the pair (404, normal).
        """
        return await self._count(
            "POST",
            f"/service/{seg(service_id)}/count",
            service_id,
            account_id,
            unit_count,
            no_build,
            client_oid,
            True,
            idempotency_key,
        )

    async def change_count(
        self,
        op: Op,
        service_id: str,
        account_id: str | None,
        amount: float,
        *,
        no_build: bool = False,
        client_oid: str | None = None,
        idempotency_key: str | None = None,
    ) -> CountResult:
        """Legacy "Add to" / "Subtract from Unit Count" (§2.10), by ``op`` (``Op.ADD`` or
        ``Op.SUBTRACT``). A delta: pass a key to make retries safe."""
        lp = self.options.legacy_paths
        if op == Op.ADD:
            method, path = lp.add_count_method, lp.add_count
        elif op == Op.SUBTRACT:
            method, path = lp.subtract_count_method, lp.subtract_count
        else:
            raise ValueError(f"change_count takes add or subtract, not {op!r}; use set_count")
        return await self._count(
            method,
            path.format(service_id=seg(service_id)),
            service_id,
            account_id,
            amount,
            no_build,
            client_oid,
            False,
            idempotency_key,
        )

    async def add_count(
        self, service_id: str, account_id: str | None, amount: float, **kw: Unpack[CountOptions]
    ) -> CountResult:
        """Legacy "Add to Unit Count" (§2.10): ``change_count(Op.ADD, …)``."""
        return await self.change_count(Op.ADD, service_id, account_id, amount, **kw)

    async def subtract_count(
        self, service_id: str, account_id: str | None, amount: float, **kw: Unpack[CountOptions]
    ) -> CountResult:
        """Legacy "Subtract from Unit Count" (§2.10): ``change_count(Op.SUBTRACT, …)``."""
        return await self.change_count(Op.SUBTRACT, service_id, account_id, amount, **kw)

    async def set_count_all_clients(
        self,
        service_id: str,
        unit_count: float,
        *,
        no_build: bool = False,
        idempotency_key: str | None = None,
    ) -> CountResult:
        """Legacy "Create New Unit Count All Clients" (§2.10): absolute, so retried."""
        lp = self.options.legacy_paths
        path = lp.all_clients_count.format(service_id=seg(service_id))
        r, earlier = await self._request_ex(
            lp.all_clients_count_method,
            path,
            params={"no_build": "true"} if no_build else None,
            body={"unitCount": wire_unit_count(unit_count)},
            idempotent=True,
            idempotency_key=idempotency_key,
            what=f"service '{service_id}'",
            reply_json=True,
        )
        return _count_result(r, earlier)

    async def _count(
        self,
        method: str,
        path: str,
        service_id: str,
        account_id: str | None,
        unit_count: float,
        no_build: bool,
        client_oid: str | None,
        idempotent: bool,
        idempotency_key: str | None,
    ) -> CountResult:
        if not account_id and not client_oid:
            raise ValueError("a count needs an account_id (or the legacy client_oid)")
        body: dict[str, Any] = {"unitCount": wire_unit_count(unit_count)}
        if account_id:
            body["accountId"] = account_id
        if client_oid:
            body["clientOId"] = client_oid
        r, earlier = await self._request_ex(
            method,
            path,
            params={"no_build": "true"} if no_build else None,
            body=body,
            idempotent=idempotent,
            idempotency_key=idempotency_key,
            what=f"service '{service_id}'",
            unmapped=(account_id or client_oid, service_id),
            reply_json=True,
        )
        return _count_result(r, earlier)


def _count_result(r: httpx.Response, earlier_maybe_processed: bool) -> CountResult:
    """Status and (best effort) message; never raises: the status is what matters."""
    message = None
    content = r.content
    # Only an answer that has a "message" is parsed (the usual 201 has none): a second JSON
    # parse of every answer was ~4 % of the client's CPU in a bulk push.
    if content and len(content) < 4096 and b'"message"' in content:
        try:
            data = json.loads(content)
            if isinstance(data, dict) and isinstance(data.get("message"), str):
                message = data["message"]
        except ValueError:
            pass
    # A replay after our own 5xx/timeout is this call's effect; only a replay of an older
    # call means "nothing happened now".
    replayed = not earlier_maybe_processed and r.headers.get(_REPLAYED_HEADER, "").lower() == "true"
    return CountResult(r.status_code, message, replayed)
