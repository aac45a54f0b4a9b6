"""A small async client for the sandbox's billing admin routes (`/_sandbox/billing/...`).

The partner's billing dashboard lives in Synthesize, not in the Vendor API; the sandbox plays it
through admin routes, and this is the one module that calls them. It is only ever pointed at a
sandbox on this machine (the demo or a local one), never at Gradient.
"""

from __future__ import annotations

from typing import Any

import httpx

from .errors import ApiError, NetworkError, server_message_from_body

BILLING = "/_sandbox/billing"


class SandboxAdminError(ApiError):
    """The sandbox refused a billing action (unknown card, card already reviewed, bad value)."""

    default_hint = "Refresh the page and try again."


class SandboxBillingClient:
    """One httpx pool per use: ``async with SandboxBillingClient(url, key) as c: ...``.

    The page makes a handful of calls per click, so a short-lived pool costs nothing and cannot
    outlive the event loop (httpx#914).
    """

    def __init__(self, base_url: str, partner_key: str, *, timeout: float = 15.0) -> None:
        self.partner_key = partner_key
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)

    async def __aenter__(self) -> SandboxBillingClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._http.request(method, f"{BILLING}/{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise NetworkError(
                "The sandbox did not answer.",
                user_hint="Check that it is still running, then refresh.",
                method=method,
                path=path,
            ) from exc
        if response.status_code >= 400:
            detail = server_message_from_body(response.content) or f"status {response.status_code}"
            raise SandboxAdminError(
                f"The sandbox refused this billing action: {detail.rstrip('.')}.",
                status=response.status_code,
                server_message=detail,
                method=method,
                path=path,
            )
        answer = response.json()
        if not isinstance(answer, dict):
            raise SandboxAdminError(
                "The sandbox gave an answer this app cannot read.", method=method, path=path
            )
        return answer

    async def _get(self, path: str, **params: str) -> dict[str, Any]:
        return await self._call("GET", path, params={"partnerKey": self.partner_key, **params})

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", path, json={"partnerKey": self.partner_key, **body})

    async def cards(self, state: str | None = None) -> list[dict[str, Any]]:
        return _items(await self._get("cards", **({"state": state} if state else {})), "cards")

    async def edit(
        self, card_id: str, *, quantity: float | None = None, price: float | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"cardId": card_id}
        if quantity is not None:
            body["quantity"] = quantity
        if price is not None:
            body["price"] = price
        return await self._post("edit", body)

    async def approve(
        self, card_ids: list[str], effective_date: str | None = None
    ) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"cardIds": card_ids}
        if effective_date:
            body["effectiveDate"] = effective_date
        return _items(await self._post("approve", body), "cards")

    async def dismiss(self, card_ids: list[str]) -> list[dict[str, Any]]:
        return _items(await self._post("dismiss", {"cardIds": card_ids}), "cards")

    async def reopen(self, card_ids: list[str]) -> list[dict[str, Any]]:
        """Undo approving or dismissing these cards (they wait for review again)."""
        return _items(await self._post("reopen", {"cardIds": card_ids}), "cards")

    async def agreements(self, client_id: str | None = None) -> list[dict[str, Any]]:
        params = {"clientId": client_id} if client_id else {}
        return _items(await self._get("agreements", **params), "agreements")

    async def chart(self) -> list[dict[str, Any]]:
        return _items(await self._get("chart"), "services")


def _items(answer: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The list an admin route answers under ``key``."""
    items = answer.get(key)
    if not isinstance(items, list):
        raise SandboxAdminError(f"The sandbox answered without its {key}.")
    return items
