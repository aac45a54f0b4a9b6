"""Accounts and per-organization services routes (vendor-api.md §2.4, §2.5)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._base import BaseClient, seg
from .models import (
    Account,
    AccountUpdate,
    NewAccount,
    NewOrgService,
    OrgService,
    OrgServiceUpdate,
    RequestModel,
    unwrap,
)

#: Ids per GET of filtered accounts/services: keeps URLs far below common 8 KiB limits.
_IDS_PER_REQUEST = 100


def _body(
    items: Iterable[RequestModel | Mapping[str, Any]],
    cls: type[RequestModel],
    drop: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    out = []
    for item in items:
        model = item if isinstance(item, cls) else cls.model_validate(item)
        wire = model.wire()
        for key in drop:
            wire.pop(key, None)
        out.append(wire)
    return out


class AccountsApi(BaseClient):
    """Accounts are absolute PATCHes (retried) and creates (409 on duplicates, not retried)."""

    # --------------------------------------------------------------- accounts

    async def list_accounts(
        self, account_ids: Iterable[str] | None = None, *, return_unmapped: bool = True
    ) -> list[Account]:
        """Accounts of this integration; ``return_unmapped=False`` → only mapped ones."""
        return await self._list_filtered(
            "/organization/accounts", "accountIds", account_ids, return_unmapped, Account
        )

    async def create_accounts(
        self,
        accounts: Sequence[NewAccount | Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> list[Account]:
        """Bulk-create accounts (409 if an id exists: GET first and post the missing ones)."""
        drop = () if self.vendor_side_mapping else ("clientOId",)
        body = _body(accounts, NewAccount, drop)
        if not body:
            return []
        r = await self._request(
            "POST",
            "/organization/accounts",
            body=body,
            idempotent=False,
            idempotency_key=idempotency_key,
            what="the vendor profile",
        )
        return self._models(Account, self._json(r), r)

    async def update_account(
        self,
        account_id: str,
        *,
        new_id: str | None = None,
        name: str | None = None,
        description: str | None = None,
        is_active: bool | None = None,
        is_arrears: bool | None = None,
        client_oid: str | None = None,
        unmap_client: bool = False,
        idempotency_key: str | None = None,
    ) -> Account:
        """Update one account. ``client_oid`` maps it vendor-side (legacy model);
        ``unmap_client`` sends ``clientOId: null`` to undo that mapping."""
        update = AccountUpdate(
            id=new_id or account_id,
            name=name,
            description=description,
            is_active=is_active,
            is_arrears=is_arrears,
            client_oid=client_oid if self.vendor_side_mapping else None,
        )
        body = update.wire()
        if new_id is None:
            body.pop("id")
        if unmap_client and self.vendor_side_mapping:
            body["clientOId"] = None
        r = await self._request(
            "PATCH",
            f"/organization/accounts/{seg(account_id)}",
            body=body,
            idempotent=True,
            idempotency_key=idempotency_key,
            what=f"account '{account_id}'",
        )
        return self._model(Account, unwrap(self._json(r)), r)

    async def update_accounts(
        self,
        updates: Sequence[AccountUpdate | Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> list[Account]:
        drop = () if self.vendor_side_mapping else ("clientOId",)
        body = _body(updates, AccountUpdate, drop)
        if not body:
            return []
        r = await self._request(
            "PATCH",
            "/organization/accounts",
            body=body,
            idempotent=True,
            idempotency_key=idempotency_key,
            what="the accounts",
        )
        return self._models(Account, self._json(r), r)

    # ---------------------------------------------------- organization services

    async def list_org_services(
        self, service_ids: Iterable[str] | None = None, *, return_unmapped: bool = True
    ) -> list[OrgService]:
        return await self._list_filtered(
            "/organization/services", "serviceIds", service_ids, return_unmapped, OrgService
        )

    async def create_org_services(
        self,
        services: Sequence[NewOrgService | Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> list[OrgService]:
        body = _body(services, NewOrgService)
        if not body:
            return []
        r = await self._request(
            "POST",
            "/organization/services",
            body=body,
            idempotent=False,
            idempotency_key=idempotency_key,
            what="the vendor profile",
        )
        return self._models(OrgService, self._json(r), r)

    async def update_org_service(
        self,
        service_id: str,
        *,
        new_id: str | None = None,
        name: str | None = None,
        description: str | None = None,
        is_active: bool | None = None,
        is_arrears: bool | None = None,
        idempotency_key: str | None = None,
    ) -> OrgService:
        body = OrgServiceUpdate(
            id=new_id or service_id,
            name=name,
            description=description,
            is_active=is_active,
            is_arrears=is_arrears,
        ).wire()
        if new_id is None:
            body.pop("id")
        r = await self._request(
            "PATCH",
            f"/organization/services/{seg(service_id)}",
            body=body,
            idempotent=True,
            idempotency_key=idempotency_key,
            what=f"service '{service_id}'",
        )
        return self._model(OrgService, unwrap(self._json(r)), r)

    async def update_org_services(
        self,
        updates: Sequence[OrgServiceUpdate | Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> list[OrgService]:
        body = _body(updates, OrgServiceUpdate)
        if not body:
            return []
        r = await self._request(
            "PATCH",
            "/organization/services",
            body=body,
            idempotent=True,
            idempotency_key=idempotency_key,
            what="the services",
        )
        return self._models(OrgService, self._json(r), r)

    async def _list_filtered(
        self,
        path: str,
        param: str,
        ids: Iterable[str] | None,
        return_unmapped: bool,
        cls: type[Any],
    ) -> list[Any]:
        base: list[tuple[str, str]] = [] if return_unmapped else [("returnUnmapped", "false")]
        if ids is None:
            chunks: list[list[str]] = [[]]
        else:
            wanted = list(dict.fromkeys(str(i) for i in ids))
            if not wanted:
                return []
            chunks = [
                wanted[i : i + _IDS_PER_REQUEST] for i in range(0, len(wanted), _IDS_PER_REQUEST)
            ]
        out: list[Any] = []
        for chunk in chunks:
            params = base + [(param, i) for i in chunk]
            r = await self._request(
                "GET", path, params=params or None, idempotent=True, what="the vendor profile"
            )
            out.extend(self._models(cls, self._json(r), r))
        return out
