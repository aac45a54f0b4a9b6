"""The MSP's side of the sandbox state: what a partner does in the Synthesize UI.

The real mapping UI, connect/disconnect and key regeneration are not part of the Vendor API,
so the sandbox exposes them as methods (and `/_sandbox/...` admin routes) to play the MSP in
demos and tests. Mixed into `SandboxState`; every method takes the state's lock.
"""

from __future__ import annotations

import random
import threading
from typing import TYPE_CHECKING, Any

from .models import NEVER_SYNCED, Organisation, SandboxError, Vendor
from .names import normalize


class MspMixin:
    """Mapping, connection lifecycle and inspection; see `SandboxState`."""

    if TYPE_CHECKING:  # provided by SandboxState
        lock: threading.Lock
        rng: random.Random
        vendors: dict[str, Vendor]
        orgs: dict[str, Organisation]
        retired_keys: dict[str, Organisation]

        def _org(self, partner_key: str) -> Organisation: ...
        def _integration(self, org: Organisation) -> dict[str, Any]: ...
        def _oid(self) -> str: ...

    # --- snapshot (JSON-able; see SandboxState.snapshot) -----------------------------------------

    @staticmethod
    def _msp_snapshot(org: Organisation) -> dict[str, Any]:
        """What the MSP side holds: PSA clients, service mappings, counts, connection."""
        return {
            "status": org.status,
            "lastSyncedAt": org.last_synced_at,
            "connected": org.connected,
            "clients": [[cid, name] for cid, name in org.clients.names.items()],
            "serviceProducts": dict(org.service_products),
            "counts": [[s, a, dict(v)] for (s, a), v in org.counts.items()],
            "rebuildTimes": list(org.rebuild_times),
            "maxRpsSeen": org.max_rps_seen,
        }

    @staticmethod
    def _msp_restore(org: Organisation, data: dict[str, Any]) -> None:
        org.status = data.get("status", "inactive")
        org.last_synced_at = data.get("lastSyncedAt", NEVER_SYNCED)
        org.connected = bool(data.get("connected", True))
        org.clients.add_many([(cid, name) for cid, name in data.get("clients", [])])
        org.service_products = dict(data.get("serviceProducts", {}))
        org.counts = {(s, a): dict(v) for s, a, v in data.get("counts", [])}
        org.rebuild_times = [float(t) for t in data.get("rebuildTimes", [])]
        org.max_rps_seen = int(data.get("maxRpsSeen", 0))

    # --- mapping --------------------------------------------------------------------------------

    def map_account(self, partner_key: str, account_id: str, client_id: str) -> dict[str, Any]:
        """The MSP maps a vendor account to one of its PSA clients."""
        with self.lock:
            org = self._org(partner_key)
            account = org.accounts.get(account_id)
            if account is None:
                raise SandboxError(404, f"Account not found with id: {account_id}")
            if client_id not in org.clients:
                raise SandboxError(404, f"Client not found with id: {client_id}")
            account.client_id = client_id
            return account.wire()

    def unmap_account(self, partner_key: str, account_id: str) -> dict[str, Any]:
        with self.lock:
            org = self._org(partner_key)
            account = org.accounts.get(account_id)
            if account is None:
                raise SandboxError(404, f"Account not found with id: {account_id}")
            account.client_id = None
            return account.wire()

    def _service_exists(self, org: Organisation, service_id: str) -> bool:
        return (
            service_id in org.services or self.vendors[org.vendor_key].sku(service_id) is not None
        )

    def map_service(
        self, partner_key: str, service_id: str, product: str | None = None
    ) -> dict[str, str]:
        """The MSP maps a vendor SKU (or organisation service) to a PSA product."""
        with self.lock:
            org = self._org(partner_key)
            if not self._service_exists(org, service_id):
                raise SandboxError(404, f"Service not found with id: {service_id}")
            org.service_products[service_id] = product or f"PSA product for {service_id}"
            return {"serviceId": service_id, "product": org.service_products[service_id]}

    def unmap_service(self, partner_key: str, service_id: str) -> None:
        with self.lock:
            self._org(partner_key).service_products.pop(service_id, None)

    def service_products(self, partner_key: str) -> dict[str, str]:
        with self.lock:
            return dict(self._org(partner_key).service_products)

    def client_of(self, partner_key: str, account_id: str) -> str | None:
        """The client an account is mapped to, or None."""
        with self.lock:
            account = self._org(partner_key).accounts.get(account_id)
            return None if account is None else account.client_id

    def auto_map(self, partner_key: str) -> dict[str, int]:
        """Play a diligent MSP: map unmapped accounts to clients whose name matches after
        normalization ("ACME Corp." == "Acme Corporation"), and every unmapped service to a
        product. Returns how many of each were mapped."""
        with self.lock:
            org = self._org(partner_key)
            by_name: dict[str, str] = {}
            for client_id, name in org.clients.names.items():
                by_name.setdefault(normalize(name), client_id)
            accounts = 0
            for account in org.accounts.values():
                if account.client_id is None and (hit := by_name.get(normalize(account.name))):
                    account.client_id = hit
                    accounts += 1
            services = 0
            vendor = self.vendors[org.vendor_key]
            candidates = [(s["id"], s["name"]) for s in vendor.skus]
            candidates += [(s.id, s.name) for s in org.services.values()]
            for service_id, name in candidates:
                if service_id not in org.service_products:
                    org.service_products[service_id] = f"{name} (PSA)"
                    services += 1
            return {"accounts": accounts, "services": services}

    # --- PSA clients ----------------------------------------------------------------------------

    def client_count(self, partner_key: str) -> int:
        with self.lock:
            return len(self._org(partner_key).clients)

    def client_names(self, partner_key: str) -> dict[str, str]:
        """client id -> name (a copy)."""
        with self.lock:
            return dict(self._org(partner_key).clients.names)

    def clients_page(
        self,
        partner_key: str,
        search: str | None = None,
        previous_id: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        with self.lock:
            return self._org(partner_key).clients.page(search, previous_id, limit)

    def delete_client(self, partner_key: str, client_id: str) -> int:
        """The client disappears from the PSA; accounts mapped to it become unmapped.
        Returns how many accounts lost their mapping."""
        with self.lock:
            org = self._org(partner_key)
            if client_id not in org.clients:
                raise SandboxError(404, f"Client not found with id: {client_id}")
            org.clients.delete(client_id)
            orphaned = [a for a in org.accounts.values() if a.client_id == client_id]
            for account in orphaned:
                account.client_id = None
            return len(orphaned)

    # --- connection lifecycle -------------------------------------------------------------------

    def _new_partner_key(self) -> str:
        return f"sandbox-partner-{self.rng.getrandbits(64):016x}"

    def disconnect(self, partner_key: str) -> None:
        """MSP disconnects: accounts, organisation services, mappings and counts are deleted,
        status back to `inactive`, and the partner key stops working (401)."""
        with self.lock:
            org = self.orgs.get(partner_key)
            if org is None:
                raise SandboxError(404, "Unknown partner key")
            org.accounts.clear()
            org.services.clear()
            org.service_products.clear()
            org.counts.clear()
            org.alerts.clear()
            org.status = "inactive"
            org.connected = False
            self.retired_keys[partner_key] = self.orgs.pop(partner_key)

    def rotate_key(self, partner_key: str) -> str:
        """MSP regenerates the Partner API key *without* disconnecting: data kept, old key 401."""
        with self.lock:
            org = self.orgs.get(partner_key)
            if org is None:
                raise SandboxError(404, "Unknown partner key")
            new_key = self._new_partner_key()
            self.retired_keys[partner_key] = self.orgs.pop(partner_key)
            org.partner_key = new_key
            self.orgs[new_key] = org
            return new_key

    def connect(
        self,
        *,
        organization_name: str | None = None,
        partner_key: str | None = None,
        organization_id: str | None = None,
        vendor_key: str | None = None,
    ) -> dict[str, Any]:
        """MSP connects (again): a new partner key for an existing organisation, found by old
        partner key, organisationId or name (a connected one is disconnected first), or a brand
        new organisation with no clients when nothing matches (`created: true`)."""
        with self.lock:
            known = list(self.orgs.values()) + [
                o for o in self.retired_keys.values() if not o.connected
            ]
            org = None
            if partner_key is not None:
                org = self.orgs.get(partner_key) or self.retired_keys.get(partner_key)
            elif organization_id is not None:
                org = next((o for o in known if o.id == organization_id), None)
            elif organization_name is not None:
                org = next((o for o in known if o.name == organization_name), None)
            else:
                disconnected = {id(o): o for o in known if not o.connected}
                org = next(iter(disconnected.values())) if len(disconnected) == 1 else None
            if (partner_key is not None or organization_id is not None) and org is None:
                raise SandboxError(404, "Unknown organisation")
        if org is not None and org.connected:
            self.disconnect(org.partner_key)
        with self.lock:
            new_key = self._new_partner_key()
            created = org is None
            if org is None:
                vkey = vendor_key or next(iter(self.vendors))
                org = Organisation(
                    id=self._oid(),
                    vendor_key=vkey,
                    name=organization_name
                    or f"New Partner {len(self.orgs) + len(self.retired_keys) + 1}",
                    integration_id=self._oid(),
                    partner_key=new_key,
                    seed_key=new_key,
                )
            else:  # a reconnect is a new integration for the same MSP
                org.integration_id = self._oid()
                org.last_synced_at = NEVER_SYNCED
                org.status = "inactive"
                org.connected = True
                org.partner_key = new_key
            self.orgs[new_key] = org
            return {
                "partnerKey": new_key,
                "vendorKey": org.vendor_key,
                "organizationId": org.id,
                "organizationName": org.name,
                "created": created,
            }

    def seed_key(self, partner_key: str) -> str:
        """The partner key an organisation was seeded with (stable across reconnects)."""
        with self.lock:
            return self._org(partner_key).seed_key

    # --- inspection -----------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        with self.lock:

            def org_row(org: Organisation) -> dict[str, Any]:
                return {
                    "partnerKey": org.partner_key,
                    "vendorKey": org.vendor_key,
                    "connected": org.connected,
                    **self._integration(org),
                    "clients": len(org.clients),
                    "accounts": len(org.accounts),
                    "mappedAccounts": sum(1 for a in org.accounts.values() if a.client_id),
                    "services": len(org.services),
                    "mappedServices": len(org.service_products),
                    "counts": len(org.counts),
                    "rebuilds": len(org.rebuild_times),
                    "maxRpsSeen": org.max_rps_seen,
                }

            retired = {id(o): o for o in self.retired_keys.values() if not o.connected}
            return {
                "vendors": [
                    {"vendorKey": v.key, "id": v.id, "name": v.name, "skus": len(v.skus)}
                    for v in self.vendors.values()
                ],
                "organizations": [org_row(o) for o in self.orgs.values()]
                + [org_row(o) for o in retired.values()],
            }
