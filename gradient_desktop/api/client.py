"""``VendorApiClient``: one async method per Vendor API route (vendor-api.md §2, incl. §2.10).

Idempotency per route decides retries (see ``retry.py``): reads, absolute PATCHes and absolute
count POSTs are retried; creates and add/subtract only when provably unsent or when the caller
passes ``idempotency_key`` (sent as ``Idempotency-Key`` on every attempt); alert dispatch only
when provably unsent, never with a key (``_alerts.py``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from ._accounts import AccountsApi
from ._alerts import AlertsApi
from ._base import seg
from ._counts import CountsApi
from .models import (
    INTEGRATION_STATUSES,
    ClientsPage,
    CreateServiceRequest,
    Integration,
    PsaClient,
    Sku,
    UpdateVendorRequest,
    Vendor,
    parse_clients_page,
    unwrap,
)

__all__ = ["VendorApiClient"]

logger = logging.getLogger("gradient_desktop.api")


class VendorApiClient(AccountsApi, CountsApi, AlertsApi):
    """Async client of Gradient's Vendor API for one vendor ↔ partner token.

    Use as ``async with VendorApiClient(base_url, credentials, options) as client: ...``.
    One instance holds one connection pool and one rate limiter; share it between tasks.
    """

    # ----------------------------------------------------------------- vendor

    async def get_vendor(self) -> Vendor:
        """The vendor profile with its full SKU catalogue."""
        r = await self._request("GET", "", idempotent=True, what="the vendor profile")
        return self._model(Vendor, unwrap(self._json(r)), r)

    async def update_vendor(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        vendor_support_page_url: str | None = None,
        integration_portal_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> Vendor:
        body = UpdateVendorRequest(
            name=name,
            description=description,
            vendor_support_page_url=vendor_support_page_url,
            integration_portal_url=integration_portal_url,
        ).wire()
        if not body:
            raise ValueError("update_vendor needs at least one field to change")
        r = await self._request(
            "PATCH",
            "",
            body=body,
            idempotent=True,
            idempotency_key=idempotency_key,
            what="the vendor profile",
        )
        return self._model(Vendor, unwrap(self._json(r)), r)

    async def create_service(
        self,
        name: str,
        description: str,
        category: str,
        subcategory: str,
        *,
        support_article: str | None = None,
        support_contact: str | None = None,
        idempotency_key: str | None = None,
    ) -> Vendor:
        """Create a SKU; returns the vendor whose ``skus`` now include it (find it by name).

        Not retried after sending without a key: a repeat could create a duplicate SKU.
        """
        body = CreateServiceRequest(
            name=name,
            description=description,
            category=category,
            subcategory=subcategory,
            support_article=support_article,
            support_contact=support_contact,
        ).wire()
        r = await self._request(
            "POST",
            "/service",
            body=body,
            idempotent=False,
            idempotency_key=idempotency_key,
            what="the vendor profile",
        )
        return self._model(Vendor, unwrap(self._json(r)), r)

    async def get_service(self, service_id: str) -> Vendor:
        """The vendor with ``skus`` filtered to this one service."""
        r = await self._request(
            "GET", f"/service/{seg(service_id)}", idempotent=True, what=f"service '{service_id}'"
        )
        return self._model(Vendor, unwrap(self._json(r)), r)

    async def update_service(
        self,
        service_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        category: str | None = None,
        subcategory: str | None = None,
        support_article: str | None = None,
        support_contact: str | None = None,
        idempotency_key: str | None = None,
    ) -> Vendor | Sku | None:
        """Update a SKU (body undocumented: we send the changed create fields, camelCase)."""
        body = {
            k: v
            for k, v in {
                "name": name,
                "description": description,
                "category": category,
                "subcategory": subcategory,
                "supportArticle": support_article,
                "supportContact": support_contact,
            }.items()
            if v is not None
        }
        if not body:
            raise ValueError("update_service needs at least one field to change")
        r = await self._request(
            "PATCH",
            f"/service/{seg(service_id)}",
            body=body,
            idempotent=True,
            idempotency_key=idempotency_key,
            what=f"service '{service_id}'",
        )
        data = unwrap(self._json(r))
        if not isinstance(data, dict):
            return None
        if "skus" in data:
            return self._model(Vendor, data, r)
        return self._model(Sku, data, r)

    # ------------------------------------------------------------ integration

    async def get_integration(self) -> Integration:
        """The integration record; Gradient's preferred credential check."""
        r = await self._request("GET", "/organization", idempotent=True, what="the integration")
        return self._model(Integration, unwrap(self._json(r)), r)

    check_credentials = get_integration

    async def set_status(self, status: str, *, idempotency_key: str | None = None) -> Integration:
        """Set the integration status (case-sensitive: inactive, pending, active, …)."""
        if status not in INTEGRATION_STATUSES:
            raise ValueError(f"unknown integration status {status!r}")
        r = await self._request(
            "PATCH",
            f"/organization/status/{status}",
            idempotent=True,
            idempotency_key=idempotency_key,
            what="the integration",
        )
        return self._model(Integration, unwrap(self._json(r)), r)

    async def update_integration(
        self, *, idempotency_key: str | None = None, **fields: Any
    ) -> Integration:
        """Legacy ``_updateIntegration`` (§2.10, proposed path in ``LegacyPaths``)."""
        lp = self.options.legacy_paths
        r = await self._request(
            lp.update_integration_method,
            lp.update_integration,
            body=fields,
            idempotent=True,
            idempotency_key=idempotency_key,
            what="the integration",
        )
        return self._model(Integration, unwrap(self._json(r)), r)

    # ------------------------------------------------------ clients (deprecated)

    async def list_clients_page(
        self, *, search: str | None = None, previous_id: str | None = None
    ) -> ClientsPage:
        """One keyset page of the MSP's PSA clients (deprecated route, seed flow)."""
        params = {}
        if search:
            params["search"] = search
        if previous_id:
            params["previousId"] = previous_id
        r = await self._request(
            "GET",
            "/organization/clients",
            params=params or None,
            idempotent=True,
            what="the clients",
        )
        try:
            return parse_clients_page(self._json(r))
        except (TypeError, ValueError) as exc:
            raise self._format_error(r, str(exc)) from None

    async def iter_clients(self, search: str | None = None) -> AsyncIterator[PsaClient]:
        """Every client, page after page (``previousId`` = last id seen).

        Stops on an empty page, a page shorter than ``meta.limit``, or a cursor already seen
        (a server repeating a page must not make this loop forever).
        """
        previous_id: str | None = None
        seen: set[str] = set()
        while True:
            page = await self.list_clients_page(search=search, previous_id=previous_id)
            if not page.clients:
                return
            last = page.clients[-1].id
            if last in seen:
                logger.warning("clients paging stopped: the server repeated cursor position")
                return
            seen.add(last)
            for client in page.clients:
                yield client
            if page.limit is not None and len(page.clients) < page.limit:
                return
            # `meta.nextId` is not trusted to stop early ([I] in the contract): a full page
            # costs at most one extra, empty request, never a silently missing client.
            previous_id = last

    async def list_clients(self, search: str | None = None) -> list[PsaClient]:
        return [c async for c in self.iter_clients(search)]
