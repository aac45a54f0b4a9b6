"""In-memory Gradient: vendors, SKUs, organisations, clients, accounts, counts, rebuilds.

`SandboxState` is the whole server-side truth of the sandbox. The HTTP layer (`app.py`) only
parses, authenticates and renders; every rule (404 for unmapped pairs, 409 for duplicates,
rebuild counting, auto-activation, disconnect) lives here so tests can drive it directly.
One `threading.Lock` guards everything: the server thread and test threads share the object.
Accounts and organisation services are in `state_accounts.py`; the MSP-side operations (mapping, connect/disconnect, client deletion) are in `state_msp.py`;
rate windows, idempotency and the request log in `state_runtime.py`; the alert queue in
`state_alerts.py`.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections import deque
from typing import Any

from .models import (
    LEGACY_STATUSES,
    STATUSES,
    Organisation,
    SandboxError,
    Vendor,
    is_object_id,
    iso,
    new_guid,
    new_object_id,
)
from .state_accounts import AccountsMixin
from .state_alerts import AlertsMixin
from .state_billing_undo import BillingUndoMixin
from .state_msp import MspMixin
from .state_runtime import RuntimeMixin

COUNT_MODES = ("set", "add", "subtract")


def no_account_map(ref: str) -> SandboxError:
    return SandboxError(404, f"No account map found with id: {ref}")


class SandboxState(AccountsMixin, MspMixin, AlertsMixin, RuntimeMixin, BillingUndoMixin):
    """Thread-safe model of Gradient for one sandbox server (see module docstring)."""

    def __init__(self, random_seed: int = 1234) -> None:
        self.lock = threading.Lock()
        self.rng = random.Random(random_seed)
        self.vendors: dict[str, Vendor] = {}
        self.orgs: dict[str, Organisation] = {}  # live partner key -> organisation
        self.retired_keys: dict[str, Organisation] = {}  # old keys, for inspection after rotation
        self._idempotency: dict[tuple[str, str], tuple[str, int, bytes]] = {}
        self._requests: deque[dict[str, Any]] = deque(maxlen=10_000)
        self._next_ticket = 100_000
        # When set, new ObjectIds carry this time instead of now: seeds freeze it so their ids
        # are identical on every run.
        self.id_time: float | None = None

    def _oid(self) -> str:
        return new_object_id(self.rng, self.id_time)

    # --- building (seeds, tests) --------------------------------------------------------------

    def add_vendor(
        self, vendor_key: str, name: str, description: str = "", **profile: Any
    ) -> dict[str, Any]:
        with self.lock:
            stamp = iso()
            vendor = Vendor(
                key=vendor_key,
                id=self._oid(),
                name=name,
                description=description,
                created_at=profile.pop("created_at", stamp),
                updated_at=profile.pop("updated_at", stamp),
                organization_id=self._oid(),
                **profile,
            )
            self.vendors[vendor_key] = vendor
            return vendor.wire()

    def add_organization(
        self,
        vendor_key: str,
        partner_key: str,
        name: str,
        clients: list[tuple[str, str]] | None = None,
        status: str = "inactive",
    ) -> str:
        """Create (or replace) the integration behind `partner_key`; returns its organisationId."""
        with self.lock:
            if vendor_key not in self.vendors:
                raise SandboxError(404, f"Unknown vendor key {vendor_key!r}")
            org = Organisation(
                id=self._oid(),
                name=name,
                vendor_key=vendor_key,
                integration_id=self._oid(),
                partner_key=partner_key,
                seed_key=partner_key,
                status=status,
            )
            if clients:
                org.clients.add_many(clients)
            self.orgs[partner_key] = org
            return org.id

    def add_clients(self, partner_key: str, clients: list[tuple[str, str]]) -> None:
        with self.lock:
            self._org(partner_key).clients.add_many(clients)

    def new_guid(self) -> str:
        with self.lock:
            return new_guid(self.rng)

    # --- snapshot / restore ---------------------------------------------------------------------

    SNAPSHOT_VERSION = 1

    def snapshot(self) -> dict[str, Any]:
        """The whole server-side truth as a JSON-able dict (demo mode persists it across runs).

        Not included, on purpose: the idempotency store, the request log and rate windows: they
        describe a running server, not Gradient's data. The alert queues are included (queued
        and processed alerts and each partner's alert board): the app's alert ledger refers to
        them by messageId, so the demo must still know them after a restart.
        """
        with self.lock:
            unique: dict[int, Organisation] = {}
            for org in list(self.orgs.values()) + list(self.retired_keys.values()):
                unique.setdefault(id(org), org)
            index = {oid: i for i, oid in enumerate(unique)}
            orgs = [
                {
                    "id": o.id,
                    "name": o.name,
                    "vendorKey": o.vendor_key,
                    "integrationId": o.integration_id,
                    "partnerKey": o.partner_key,
                    "seedKey": o.seed_key,
                    **self._msp_snapshot(o),
                    **self._accounts_snapshot(o),
                    **self._billing_snapshot(o),
                    **self._alerts_snapshot(o),
                }
                for o in unique.values()
            ]
            version, internal, gauss = self.rng.getstate()
            return {
                "version": self.SNAPSHOT_VERSION,
                "vendors": [dataclasses.asdict(v) for v in self.vendors.values()],
                "organizations": orgs,
                "liveKeys": {k: index[id(o)] for k, o in self.orgs.items()},
                "retiredKeys": {k: index[id(o)] for k, o in self.retired_keys.items()},
                "nextTicket": self._next_ticket,
                "rng": [version, list(internal), gauss],
            }

    def restore(self, data: dict[str, Any]) -> None:
        """Replace everything with a ``snapshot()``; ValueError when it is not one."""
        if not isinstance(data, dict) or data.get("version") != self.SNAPSHOT_VERSION:
            raise ValueError("not a sandbox snapshot of a version this build understands")
        try:
            vendors = {v["key"]: Vendor(**v) for v in data["vendors"]}
            orgs: list[Organisation] = []
            alert_data: list[dict[str, Any]] = []
            for o in data["organizations"]:
                org = Organisation(
                    id=o["id"],
                    name=o["name"],
                    vendor_key=o["vendorKey"],
                    integration_id=o["integrationId"],
                    partner_key=o["partnerKey"],
                    seed_key=o["seedKey"],
                )
                self._msp_restore(org, o)
                self._accounts_restore(org, o)
                self._billing_restore(org, o)
                alert_data.append(o)
                orgs.append(org)
            live = {k: orgs[i] for k, i in data["liveKeys"].items()}
            retired = {k: orgs[i] for k, i in data["retiredKeys"].items()}
            version, internal, gauss = data["rng"]
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"damaged sandbox snapshot ({type(exc).__name__}: {exc})") from None
        with self.lock:
            self.vendors, self.orgs, self.retired_keys = vendors, live, retired
            self._next_ticket = int(data.get("nextTicket", self._next_ticket))
            self.rng.setstate((version, tuple(internal), gauss))
            self._idempotency.clear()
            self._requests.clear()
            self._boards().clear()
            for org, o in zip(orgs, alert_data, strict=True):
                self._alerts_restore(org, o)

    # --- lookups --------------------------------------------------------------------------------

    def _org(self, partner_key: str) -> Organisation:
        """Live or retired key (admin/inspection); the API layer authenticates separately."""
        org = self.orgs.get(partner_key) or self.retired_keys.get(partner_key)
        if org is None:
            raise SandboxError(404, "Unknown partner key")
        return org

    def _vendor(self, vendor_key: str) -> Vendor:
        vendor = self.vendors.get(vendor_key)
        if vendor is None:
            raise SandboxError(404, "Vendor Profile Not Found")
        return vendor

    def authenticate(self, vendor_key: str, partner_key: str) -> bool:
        """True when both halves are current and belong together (else the API answers 401)."""
        with self.lock:
            org = self.orgs.get(partner_key)
            return org is not None and org.connected and org.vendor_key == vendor_key

    def vendor_key_of(self, partner_key: str) -> str:
        with self.lock:
            return self._org(partner_key).vendor_key

    def organization_id(self, partner_key: str) -> str:
        with self.lock:
            return self._org(partner_key).id

    def partner_keys(self) -> list[str]:
        with self.lock:
            return list(self.orgs)

    # --- vendor profile and SKUs ----------------------------------------------------------------

    def vendor(self, vendor_key: str) -> dict[str, Any]:
        with self.lock:
            return self._vendor(vendor_key).wire()

    def update_vendor(self, vendor_key: str, fields: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            vendor = self._vendor(vendor_key)
            attrs = {
                "name": "name",
                "description": "description",
                "vendorSupportPageUrl": "vendor_support_page_url",
                "integrationPortalUrl": "integration_portal_url",
            }
            for wire_name, value in fields.items():
                setattr(vendor, attrs[wire_name], value)
            vendor.updated_at = iso()
            return vendor.wire()

    def create_sku(self, vendor_key: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Append a SKU; duplicate names are allowed (peers check by name before creating)."""
        with self.lock:
            vendor = self._vendor(vendor_key)
            sku_id = self._oid()
            sku = {
                "_id": sku_id,
                "id": sku_id,
                "name": fields["name"],
                "description": fields["description"],
                "logo": fields.get("logo", ""),
                "category": fields["category"],
                "subcategory": fields["subcategory"],
                "supportArticle": fields.get("supportArticle", ""),
                "supportContact": fields.get("supportContact", ""),
            }
            vendor.skus.append(sku)
            vendor.updated_at = iso()
            return vendor.wire()

    def _sku(self, vendor: Vendor, sku_id: str) -> dict[str, Any]:
        if not is_object_id(sku_id):
            raise SandboxError(400, "You have provided an invalid Id type")
        sku = vendor.sku(sku_id)
        if sku is None:
            raise SandboxError(404, f"Service not found with id: {sku_id}")
        return sku

    def get_sku(self, vendor_key: str, sku_id: str) -> dict[str, Any]:
        """The Vendor with `skus` filtered to this one (route 4's odd shape)."""
        with self.lock:
            vendor = self._vendor(vendor_key)
            return vendor.wire(skus=[self._sku(vendor, sku_id)])

    def update_sku(self, vendor_key: str, sku_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            vendor = self._vendor(vendor_key)
            sku = self._sku(vendor, sku_id)
            sku.update(fields)
            vendor.updated_at = iso()
            return vendor.wire(skus=[sku])

    # --- integration ----------------------------------------------------------------------------

    def _integration(self, org: Organisation) -> dict[str, Any]:
        vendor = self.vendors[org.vendor_key]
        return {
            "organizationId": org.id,
            "name": org.name,
            "vendorId": vendor.id,
            "vendorName": vendor.name,
            "integrationId": org.integration_id,
            "status": org.status,
            "lastSyncedAt": org.last_synced_at,
        }

    def integration(self, partner_key: str) -> dict[str, Any]:
        with self.lock:
            return self._integration(self._org(partner_key))

    def set_status(
        self, partner_key: str, status: str, *, allow_legacy: bool = True
    ) -> dict[str, Any]:
        allowed = STATUSES + (LEGACY_STATUSES if allow_legacy else ())
        if status not in allowed:
            raise SandboxError(
                400, f"status must be one of the following values: {', '.join(allowed)}"
            )
        with self.lock:
            org = self._org(partner_key)
            org.status = status
            return self._integration(org)

    def update_integration(self, partner_key: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Legacy `_updateIntegration`: rename and/or set the status."""
        if "status" in fields:
            self.set_status(partner_key, fields["status"])
        with self.lock:
            org = self._org(partner_key)
            if "name" in fields:
                org.name = fields["name"]
            return self._integration(org)

    # --- unit counts ----------------------------------------------------------------------------

    def _check_service(self, org: Organisation, service_id: str) -> None:
        """Organisation services use vendor-chosen ids; anything else must be a vendor SKU."""
        if service_id in org.services:
            return
        self._sku(self.vendors[org.vendor_key], service_id)

    def _after_accepted(self, org: Organisation, no_build: bool, auto_activate: bool) -> None:
        org.last_synced_at = iso()
        if auto_activate and org.status == "pending":
            org.status = "active"  # "Once we've successfully received Billing usage ..."
        if not no_build:
            org.rebuild_times.append(time.time())

    def set_count(
        self,
        partner_key: str,
        service_id: str,
        unit_count: float,
        *,
        account_id: str | None = None,
        client_id: str | None = None,
        no_build: bool = False,
        auto_activate: bool = True,
        mode: str = "set",
    ) -> dict[str, Any]:
        """Route 17 (`mode="set"`) and the legacy add/subtract routes; returns the stored count.

        `client_id` is the deprecated `clientOId`: it selects the account mapped to that client.
        """
        if mode not in COUNT_MODES:
            raise ValueError(f"mode must be one of {COUNT_MODES}")
        with self.lock:
            org = self._org(partner_key)
            self._check_service(org, service_id)
            if account_id is not None:
                account = org.accounts.get(account_id)
                if account is None or account.client_id is None:
                    raise no_account_map(account_id)
            elif client_id is not None:
                account = next((a for a in org.accounts.values() if a.client_id == client_id), None)
                if account is None:
                    raise no_account_map(client_id)
            else:
                raise SandboxError(
                    400, ["accountId must be a string", "clientOId must be a string"]
                )
            if service_id not in org.service_products:
                raise no_account_map(account.id)
            key = (service_id, account.id)
            old = org.counts.get(key, {}).get("unitCount", 0)
            new = (
                unit_count
                if mode == "set"
                else (old + unit_count if mode == "add" else max(0, old - unit_count))
            )
            org.counts[key] = {"unitCount": new, "updatedAt": iso()}
            self._billing_on_count(org, service_id, account.id, new, org.counts[key]["updatedAt"])
            self._after_accepted(org, no_build, auto_activate)
            return {"serviceId": service_id, "accountId": account.id, "unitCount": new}

    def set_count_all(
        self,
        partner_key: str,
        service_id: str,
        unit_count: float,
        *,
        no_build: bool = False,
        auto_activate: bool = True,
    ) -> int:
        """Legacy "Create New Unit Count All Clients": every mapped account; one rebuild."""
        with self.lock:
            org = self._org(partner_key)
            self._check_service(org, service_id)
            if service_id not in org.service_products:
                raise no_account_map(service_id)
            stamp = iso()
            mapped = [a.id for a in org.accounts.values() if a.client_id is not None]
            for account_id in mapped:
                org.counts[(service_id, account_id)] = {"unitCount": unit_count, "updatedAt": stamp}
                self._billing_on_count(org, service_id, account_id, unit_count, stamp)
            self._after_accepted(org, no_build, auto_activate)
            return len(mapped)

    def counts(self, partner_key: str) -> dict[tuple[str, str], dict[str, Any]]:
        """(serviceId, accountId) -> {unitCount, updatedAt}; a copy."""
        with self.lock:
            return {k: dict(v) for k, v in self._org(partner_key).counts.items()}

    def rebuilds(self, partner_key: str) -> int:
        with self.lock:
            return len(self._org(partner_key).rebuild_times)

    def rebuild_times(self, partner_key: str) -> list[float]:
        """Epoch seconds of each billing-view rebuild, oldest first."""
        with self.lock:
            return list(self._org(partner_key).rebuild_times)
