"""Accounts and organisation services of the sandbox state (routes 8-15).

Both are vendor-published, per integration, keyed by vendor-chosen ids; bulk creates are all
or nothing (one duplicate id is a 409 for the whole batch, as a client retrying after an
"outcome unknown" would otherwise half-apply). Mixed into `SandboxState`; every method takes
the state lock.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .models import Account, Organisation, OrgService, SandboxError


class AccountsMixin:
    """See module docstring."""

    if TYPE_CHECKING:  # provided by SandboxState
        lock: threading.Lock

        def _org(self, partner_key: str) -> Organisation: ...

    # --- snapshot (JSON-able; see SandboxState.snapshot) -----------------------------------------

    @staticmethod
    def _accounts_snapshot(org: Organisation) -> dict[str, Any]:
        return {
            "accounts": [
                {
                    "id": a.id,
                    "name": a.name,
                    "description": a.description,
                    "clientId": a.client_id,
                    "isActive": a.is_active,
                    "isArrears": a.is_arrears,
                }
                for a in org.accounts.values()
            ],
            "services": [
                {
                    "id": s.id,
                    "name": s.name,
                    "description": s.description,
                    "isActive": s.is_active,
                    "isArrears": s.is_arrears,
                }
                for s in org.services.values()
            ],
        }

    @staticmethod
    def _accounts_restore(org: Organisation, data: dict[str, Any]) -> None:
        org.accounts = {
            a["id"]: Account(
                id=a["id"],
                name=a["name"],
                description=a.get("description", ""),
                client_id=a.get("clientId"),
                is_active=a.get("isActive", True),
                is_arrears=a.get("isArrears", False),
            )
            for a in data.get("accounts", [])
        }
        org.services = {
            s["id"]: OrgService(
                id=s["id"],
                name=s["name"],
                description=s.get("description", ""),
                is_active=s.get("isActive", True),
                is_arrears=s.get("isArrears", False),
            )
            for s in data.get("services", [])
        }

    # --- accounts -------------------------------------------------------------------------------

    def accounts(
        self, partner_key: str, ids: list[str] | None = None, only_mapped: bool = False
    ) -> list[dict[str, Any]]:
        with self.lock:
            org = self._org(partner_key)
            found = (
                org.accounts.values()
                if ids is None
                else (org.accounts[i] for i in dict.fromkeys(ids) if i in org.accounts)
            )
            return [a.wire() for a in found if not only_mapped or a.client_id is not None]

    def _check_client(self, org: Organisation, client_id: Any) -> None:
        if client_id is not None and client_id not in org.clients:
            raise SandboxError(404, f"Client not found with id: {client_id}")

    def create_accounts(
        self, partner_key: str, items: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """All or nothing: a duplicate id (existing or within the batch) is a 409 for the batch."""
        with self.lock:
            org = self._org(partner_key)
            seen: set[str] = set()
            for item in items:
                if item["id"] in org.accounts or item["id"] in seen:
                    raise SandboxError(409, "A resource with this Id already exists.")
                seen.add(item["id"])
                self._check_client(org, item.get("clientOId"))
            created = []
            for item in items:
                account = Account(
                    id=item["id"],
                    name=item["name"],
                    description=item.get("description") or "",
                    client_id=item.get("clientOId"),
                    is_active=item.get("isActive", True),
                    is_arrears=item.get("isArrears", False),
                )
                org.accounts[account.id] = account
                created.append(account.wire())
            return created

    def _apply_account(self, org: Organisation, account: Account, fields: dict[str, Any]) -> None:
        if "name" in fields:
            account.name = fields["name"]
        if "description" in fields:
            account.description = fields["description"] or ""
        if "isActive" in fields:
            account.is_active = fields["isActive"]
        if "isArrears" in fields:
            account.is_arrears = fields["isArrears"]
        if "clientOId" in fields:  # vendor-side (legacy) mapping; null unmaps
            account.client_id = fields["clientOId"]
        new_id = fields.get("id")
        if new_id is not None and new_id != account.id:
            # Re-key the account and carry its counts along, keeping insertion order.
            org.accounts = {(new_id if k == account.id else k): v for k, v in org.accounts.items()}
            org.counts = {
                ((s, new_id) if a == account.id else (s, a)): v for (s, a), v in org.counts.items()
            }
            account.id = new_id

    def update_account(
        self, partner_key: str, account_id: str, fields: dict[str, Any]
    ) -> dict[str, Any]:
        with self.lock:
            org = self._org(partner_key)
            account = org.accounts.get(account_id)
            if account is None:
                raise SandboxError(404, f"Account not found with id: {account_id}")
            if fields.get("id") not in (None, account_id) and fields["id"] in org.accounts:
                raise SandboxError(409, "A resource with this Id already exists.")
            self._check_client(org, fields.get("clientOId"))
            self._apply_account(org, account, fields)
            return account.wire()

    def update_accounts(
        self, partner_key: str, items: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Bulk PATCH: `id` selects the account (no renames); checked in full before applying."""
        with self.lock:
            org = self._org(partner_key)
            for item in items:
                if item["id"] not in org.accounts:
                    raise SandboxError(404, f"Account not found with id: {item['id']}")
                self._check_client(org, item.get("clientOId"))
            out = []
            for item in items:
                account = org.accounts[item["id"]]
                self._apply_account(org, account, {k: v for k, v in item.items() if k != "id"})
                out.append(account.wire())
            return out

    # --- organisation services ------------------------------------------------------------------

    def services(
        self, partner_key: str, ids: list[str] | None = None, only_mapped: bool = False
    ) -> list[dict[str, Any]]:
        with self.lock:
            org = self._org(partner_key)
            found = (
                org.services.values()
                if ids is None
                else (org.services[i] for i in dict.fromkeys(ids) if i in org.services)
            )
            return [
                org.service_wire(s)
                for s in found
                if not only_mapped or s.id in org.service_products
            ]

    def create_services(
        self, partner_key: str, items: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        with self.lock:
            org = self._org(partner_key)
            ids = [item["id"] for item in items]
            if len(set(ids)) != len(ids) or any(i in org.services for i in ids):
                raise SandboxError(409, "A resource with this Id already exists.")
            created = []
            for item in items:
                service = OrgService(
                    id=item["id"],
                    name=item["name"],
                    description=item["description"],
                    is_active=item.get("isActive", True),
                    is_arrears=item.get("isArrears", False),
                )
                org.services[service.id] = service
                created.append(org.service_wire(service))
            return created

    def _apply_service(
        self, org: Organisation, service: OrgService, fields: dict[str, Any]
    ) -> None:
        for wire_name, attr in (
            ("name", "name"),
            ("description", "description"),
            ("isActive", "is_active"),
            ("isArrears", "is_arrears"),
        ):
            if wire_name in fields:
                setattr(service, attr, fields[wire_name])
        new_id = fields.get("id")
        if new_id is not None and new_id != service.id:
            old = service.id
            org.services = {(new_id if k == old else k): v for k, v in org.services.items()}
            if old in org.service_products:
                org.service_products[new_id] = org.service_products.pop(old)
            org.counts = {
                ((new_id, a) if s == old else (s, a)): v for (s, a), v in org.counts.items()
            }
            service.id = new_id

    def update_service(
        self, partner_key: str, service_id: str, fields: dict[str, Any]
    ) -> dict[str, Any]:
        with self.lock:
            org = self._org(partner_key)
            service = org.services.get(service_id)
            if service is None:
                raise SandboxError(404, f"Service not found with id: {service_id}")
            if fields.get("id") not in (None, service_id) and fields["id"] in org.services:
                raise SandboxError(409, "A resource with this Id already exists.")
            self._apply_service(org, service, fields)
            return org.service_wire(service)

    def update_services(
        self, partner_key: str, items: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        with self.lock:
            org = self._org(partner_key)
            for item in items:
                if item["id"] not in org.services:
                    raise SandboxError(404, f"Service not found with id: {item['id']}")
            out = []
            for item in items:
                service = org.services[item["id"]]
                self._apply_service(org, service, {k: v for k, v in item.items() if k != "id"})
                out.append(org.service_wire(service))
            return out
