"""The integration lifecycle of one partner, as the seed flow and vendor-api.md §10 order it:
authenticate → pending → publish accounts/services → (MSP maps) → active → usage; disconnect and
reconnect. Shared by the setup wizard, the Partners view and the CLI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, update
from sqlmodel import col, select

from gradient_desktop.api import (
    Account,
    ApiError,
    ConflictError,
    Integration,
    NewAccount,
    OutcomeUnknownError,
    Sku,
    Vendor,
    VendorApiClient,
)
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.store.models import (
    GradientClient,
    Mapping,
    MappingKind,
    Partner,
    PartnerService,
    PartnerStatus,
    SyncState,
    VendorAccount,
    VendorProfile,
    utcnow,
)

log = logging.getLogger(__name__)

#: Accounts per POST: the docs say "in bulk"; chunks keep one bad row from failing thousands.
ACCOUNT_CHUNK = 500


@dataclass(frozen=True)
class Customer:
    """One of the vendor's own customers (becomes a Gradient *account*)."""

    id: str
    name: str
    description: str = ""


class CustomerFileError(ValueError):
    """A customers file that cannot be used; the message lists the bad lines."""


def parse_customers_csv(text: str) -> list[Customer]:
    """The vendor's customer list from CSV text with the header ``id,name,description``
    (description optional). The whole file is checked before anything is used."""
    import csv
    import io

    text = text.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text))
    headers = [h.strip().lower() for h in reader.fieldnames or []]
    if "id" not in headers or "name" not in headers:
        raise CustomerFileError(
            "The customers file needs a header line with the columns id,name (and optionally "
            "description)."
        )
    reader.fieldnames = headers
    customers: list[Customer] = []
    errors: list[str] = []
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2):
        cid = (row.get("id") or "").strip()
        name = (row.get("name") or "").strip()
        if not cid and not name:
            continue
        if not cid:
            errors.append(f"line {line}: the id is empty")
        elif cid in seen:
            errors.append(f"line {line}: the id {cid!r} appears twice")
        if not name:
            errors.append(f"line {line}: the name is empty")
        if cid and name and cid not in seen:
            customers.append(Customer(cid, name, (row.get("description") or "").strip()))
        seen.add(cid)
    if errors:
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        raise CustomerFileError("The customers file has problems: " + "; ".join(errors[:10]) + more)
    if not customers:
        raise CustomerFileError("The customers file has no customers in it.")
    return customers


@dataclass
class PublishResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: dict[str, str] = field(default_factory=dict)


@dataclass
class ClientSync:
    total: int = 0
    new: int = 0
    stale: int = 0


def _parse_time(value: str | None) -> datetime | None:
    if not value or value.startswith("1900"):
        return None  # Gradient's sentinel for "never synced"
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


class IntegrationService:
    """Network workflows for one partner at a time; results land in the store."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.partners = PartnerDirectory(ctx)

    # -- vendor profile (vendor-scoped routes; they still need a partner key on the wire) -----

    async def fetch_vendor(self, partner: Partner) -> Vendor:
        vendor = await self.ctx.client_for(partner).get_vendor()
        self._remember_vendor(partner.vendor_profile_id, vendor)
        return vendor

    async def update_vendor(self, partner: Partner, **fields: str | None) -> Vendor:
        vendor = await self.ctx.client_for(partner).update_vendor(**fields)
        self._remember_vendor(partner.vendor_profile_id, vendor)
        return vendor

    async def create_service(
        self, partner: Partner, name: str, description: str, category: str, subcategory: str
    ) -> Sku:
        """Create a SKU unless one with that name exists (peers match by name; §10.3)."""
        client = self.ctx.client_for(partner)
        vendor = await client.get_vendor()
        for sku in vendor.skus:
            if sku.name.strip().lower() == name.strip().lower():
                return sku
        vendor = await client.create_service(name, description, category, subcategory)
        self._remember_vendor(partner.vendor_profile_id, vendor)
        for sku in reversed(vendor.skus):
            if sku.name == name:
                return sku
        raise ApiError("Gradient accepted the service but did not list it; refresh and retry.")

    def _remember_vendor(self, profile_id: int, vendor: Vendor) -> None:
        with self.ctx.db.write_session() as s:
            profile = s.get(VendorProfile, profile_id)
            if profile is not None:
                profile.gradient_vendor_id = vendor.id
                profile.vendor_name = vendor.name
                s.add(profile)
                s.commit()

    def select_services(self, partner: Partner, skus: Iterable[Sku]) -> None:
        """The SKUs this integration covers (wizard step 2), kept in the store."""
        skus = list(skus)
        with self.ctx.db.write_session() as s:
            s.exec(delete(PartnerService).where(col(PartnerService.partner_id) == partner.id))
            for sku in skus:
                s.add(PartnerService(partner_id=partner.id or 0, service_id=sku.id, name=sku.name))
            s.commit()
        self.ctx.state.touch(partner.id)

    def services(self, partner: Partner) -> list[PartnerService]:
        with self.ctx.db.session() as s:
            return list(
                s.exec(select(PartnerService).where(PartnerService.partner_id == partner.id))
            )

    # -- authenticate and status ----------------------------------------------------------------

    async def authenticate(self, partner: Partner) -> Integration:
        """The preferred credential check (GET /organization); records what Gradient says."""
        try:
            integration = await self.ctx.client_for(partner).get_integration()
        except ApiError:
            self.partners.set_status(partner, PartnerStatus.ERROR.value)
            raise
        self._record(partner, integration)
        return integration

    async def mark_pending(self, partner: Partner) -> Integration:
        """Set *pending* (what makes "Next" light up in Synthesize) unless already active."""
        client = self.ctx.client_for(partner)
        integration = await client.get_integration()
        if integration.status != "active":
            integration = await client.set_status("pending")
        self._record(partner, integration)
        return integration

    async def activate(self, partner: Partner) -> Integration:
        integration = await self.ctx.client_for(partner).set_status("active")
        self._record(partner, integration)
        self.partners.update(partner.id or 0, setup_step=99)
        log.info("activated %s: Gradient reports status %s", partner.name, integration.status)
        return integration

    async def refresh(self, partner: Partner) -> Integration:
        integration = await self.ctx.client_for(partner).get_integration()
        self._record(partner, integration)
        return integration

    def _record(self, partner: Partner, integration: Integration) -> None:
        self.partners.set_status(
            partner,
            integration.status,
            organization_id=integration.organization_id,
            organization_name=integration.name,
            last_synced_at=_parse_time(integration.last_synced_at),
        )
        self.ctx.state.note_status(partner.id or 0)

    async def disconnect(self, partner: Partner, *, remove_keys: bool = False) -> None:
        """Vendor-side disconnect: status *inactive* (§10.11); keys kept unless asked."""
        try:
            await self.ctx.client_for(partner).set_status("inactive")
            on_gradient = "Gradient set to inactive"
            acknowledged = True
        except ApiError as exc:
            acknowledged = False
            # A partner who disconnected on Gradient's side already invalidated the key (401):
            # the local disconnect must still succeed.
            log.info("status inactive not accepted (%s); disconnecting locally", type(exc).__name__)
            on_gradient = f"Gradient refused the status change ({type(exc).__name__})"
        with self.ctx.db.write_session() as s:
            s.exec(
                update(VendorAccount)
                .where(col(VendorAccount.partner_id) == partner.id)
                .values(is_mapped_remote=False, sync_state=SyncState.LOCAL.value)
            )
            s.exec(
                update(Mapping)
                .where(col(Mapping.partner_id) == partner.id)
                .values(sync_state=SyncState.LOCAL.value)
            )
            s.commit()
        self.partners.update(partner.id or 0, status=PartnerStatus.DISCONNECTED.value, setup_step=0)
        if acknowledged:  # Gradient confirmed it: that is its status now
            self.ctx.state.note_status(partner.id or 0)
        await self.ctx.drop_clients(partner.id or 0)
        if remove_keys:
            self.ctx.keys.delete_partner_key(partner)
        log.info(
            "disconnected %s: %s; key %s",
            partner.name,
            on_gradient,
            "removed" if remove_keys else "kept",
        )

    async def reconnect(self, partner: Partner, new_partner_key: str | None) -> Integration:
        """A new key (or the kept one) → authenticate → pending; accounts are re-published next."""
        if new_partner_key:
            self.partners.set_partner_key(partner, new_partner_key)
        await self.ctx.drop_clients(partner.id or 0)
        await self.authenticate(partner)
        integration = await self.mark_pending(partner)
        log.info(
            "reconnected %s with %s key: status %s",
            partner.name,
            "a new" if new_partner_key else "the kept",
            integration.status,
        )
        return integration

    # -- accounts -----------------------------------------------------------------------------------

    def save_customers(self, partner: Partner, customers: Iterable[Customer]) -> int:
        """The vendor's customer list for this partner, kept locally (new ones start *local*)."""
        count = 0
        with self.ctx.db.write_session() as s:
            existing = {
                a.account_id: a
                for a in s.exec(select(VendorAccount).where(VendorAccount.partner_id == partner.id))
            }
            for c in customers:
                row = existing.get(c.id)
                if row is None:
                    s.add(
                        VendorAccount(
                            partner_id=partner.id or 0,
                            account_id=c.id,
                            name=c.name,
                            description=c.description,
                        )
                    )
                elif row.name != c.name or (row.description or "") != c.description:
                    row.name, row.description = c.name, c.description
                    row.sync_state = SyncState.LOCAL.value
                    s.add(row)
                count += 1
            s.commit()
        self.ctx.state.touch(partner.id)
        return count

    def accounts(self, partner: Partner) -> list[VendorAccount]:
        with self.ctx.db.session() as s:
            return list(
                s.exec(
                    select(VendorAccount)
                    .where(VendorAccount.partner_id == partner.id)
                    .order_by(VendorAccount.name)
                )
            )

    async def publish_accounts(
        self, partner: Partner, progress: Callable[[int, int], None] | None = None
    ) -> PublishResult:
        """GET the accounts Gradient has, POST the missing ones in chunks, PATCH renamed ones.

        Mapped accounts carry their Gradient client (``clientOId``) when the client has
        vendor-side mapping on, so a mapping made here reaches the partner's Gradient.
        """
        client = self.ctx.client_for(partner)
        local = self.accounts(partner)
        targets = self._mapping_targets(partner)
        remote = {a.id: a for a in await client.list_accounts()}
        result = PublishResult()
        missing = [a for a in local if a.account_id not in remote]
        total = len(local)
        done = 0
        for start in range(0, len(missing), ACCOUNT_CHUNK):
            chunk = missing[start : start + ACCOUNT_CHUNK]
            items = [
                NewAccount(
                    id=a.account_id,
                    name=a.name,
                    description=a.description or "",
                    client_oid=targets.get(a.account_id),
                )
                for a in chunk
            ]
            try:
                await client.create_accounts(items)
                result.created += len(chunk)
                self._set_sync(partner, [a.account_id for a in chunk], SyncState.SYNCED, None)
                if client.vendor_side_mapping:
                    # The create carried each mapping (clientOId): those are on Gradient now.
                    self._set_mapping_synced(
                        partner, [a.account_id for a in chunk if a.account_id in targets]
                    )
            except ConflictError:
                # Someone created some of them meanwhile: fall back to one at a time.
                for item in items:
                    try:
                        await client.create_accounts([item])
                        result.created += 1
                    except ConflictError:
                        result.unchanged += 1
                    except ApiError as exc:
                        result.failed[item.id] = str(exc)
            except OutcomeUnknownError as exc:
                # Never re-post blindly (a create is not idempotent): read back what landed.
                landed = await self._created_after_unknown(client, [a.account_id for a in chunk])
                result.created += len(landed)
                self._set_sync(partner, sorted(landed), SyncState.SYNCED, None)
                lost = [a.account_id for a in chunk if a.account_id not in landed]
                for account_id in lost:
                    result.failed[account_id] = str(exc)
                self._set_sync(partner, lost, SyncState.FAILED, str(exc))
            except ApiError as exc:
                for a in chunk:
                    result.failed[a.account_id] = str(exc)
                self._set_sync(partner, [a.account_id for a in chunk], SyncState.FAILED, str(exc))
            done += len(chunk)
            if progress:
                progress(done, total)
        # Accounts Gradient already has (a reconnect: all of them) are marked synced in one
        # write, not one transaction each: 200 commits were two thirds of a reconnect's
        # publish (cProfile, issue 16: reload 1.2-1.7x the first time).
        synced: list[str] = []
        for a in local:
            r = remote.get(a.account_id)
            if r is None:
                continue
            if r.name != a.name:
                try:
                    await client.update_account(a.account_id, name=a.name)
                    result.updated += 1
                except ApiError as exc:
                    result.failed[a.account_id] = str(exc)
                    continue
                self._set_sync(partner, [a.account_id], SyncState.SYNCED, None)  # as it lands
            else:
                result.unchanged += 1
                synced.append(a.account_id)
            done += 1
            if progress:
                progress(min(done, total), total)
        for start in range(0, len(synced), ACCOUNT_CHUNK):  # SQLite caps bound parameters
            self._set_sync(partner, synced[start : start + ACCOUNT_CHUNK], SyncState.SYNCED, None)
        await self.refresh_account_states(partner)
        return result

    @staticmethod
    async def _created_after_unknown(client: VendorApiClient, account_ids: list[str]) -> set[str]:
        """Which of ``account_ids`` Gradient has, after a create whose answer was lost (an
        empty set when even the read fails: those rows stay failed and the next publish,
        which GETs first, creates only what is still missing)."""
        try:
            present = await client.list_accounts(account_ids)
        except ApiError:
            return set()
        return {a.id for a in present} & set(account_ids)

    async def refresh_account_states(self, partner: Partner) -> list[Account]:
        """Read ``isMapped`` back from Gradient (how far the MSP's mapping has got)."""
        remote = await self.ctx.client_for(partner).list_accounts()
        mapped = {a.id for a in remote if a.is_mapped}
        known = {a.id for a in remote}
        with self.ctx.db.write_session() as s:
            for row in s.exec(select(VendorAccount).where(VendorAccount.partner_id == partner.id)):
                row.is_mapped_remote = row.account_id in mapped
                if row.account_id in known and row.sync_state == SyncState.LOCAL.value:
                    row.sync_state = SyncState.SYNCED.value
                s.add(row)
            s.commit()
        self.ctx.state.touch(partner.id)
        return remote

    def _mapping_targets(self, partner: Partner) -> dict[str, str]:
        with self.ctx.db.session() as s:
            rows = s.exec(
                select(Mapping).where(
                    Mapping.partner_id == partner.id, Mapping.kind == MappingKind.ACCOUNT.value
                )
            )
            return {m.source_id: m.target_id for m in rows}

    def _set_sync(
        self, partner: Partner, ids: list[str], state: SyncState, error: str | None
    ) -> None:
        with self.ctx.db.write_session() as s:
            s.exec(
                update(VendorAccount)
                .where(col(VendorAccount.partner_id) == partner.id)
                .where(col(VendorAccount.account_id).in_(ids))
                .values(sync_state=state.value, sync_error=error)
            )
            s.commit()

    def _set_mapping_synced(self, partner: Partner, ids: list[str]) -> None:
        if not ids:
            return
        with self.ctx.db.write_session() as s:
            s.exec(
                update(Mapping)
                .where(col(Mapping.partner_id) == partner.id)
                .where(col(Mapping.kind) == MappingKind.ACCOUNT.value)
                .where(col(Mapping.source_id).in_(ids))
                .values(sync_state=SyncState.SYNCED.value, sync_error=None)
            )
            s.commit()

    # -- Gradient clients -----------------------------------------------------------------------------

    async def sync_clients(
        self, partner: Partner, progress: Callable[[int], None] | None = None
    ) -> ClientSync:
        """Load every Gradient client through the paging iterator into the store; clients that
        vanished on Gradient's side are kept but flagged *stale* (their mappings need a look)."""
        seen: dict[str, str] = {}
        async for c in self.ctx.client_for(partner).iter_clients():
            seen[c.id] = c.name
            if progress and len(seen) % 500 == 0:
                progress(len(seen))
        now = utcnow()
        result = ClientSync(total=len(seen))
        with self.ctx.db.write_session() as s:
            existing = {
                c.client_id: c
                for c in s.exec(
                    select(GradientClient).where(GradientClient.partner_id == partner.id)
                )
            }
            for cid, name in seen.items():
                row = existing.get(cid)
                if row is None:
                    s.add(GradientClient(partner_id=partner.id or 0, client_id=cid, name=name))
                    result.new += 1
                else:
                    row.name, row.stale, row.seen_at = name, False, now
                    s.add(row)
            for cid, row in existing.items():
                if cid not in seen and not row.stale:
                    row.stale = True
                    s.add(row)
                    result.stale += 1
            s.commit()
        self.ctx.state.touch(partner.id)
        if progress:
            progress(len(seen))
        return result

    def clients(self, partner: Partner) -> list[GradientClient]:
        with self.ctx.db.session() as s:
            return list(
                s.exec(
                    select(GradientClient)
                    .where(GradientClient.partner_id == partner.id)
                    .order_by(GradientClient.name)
                )
            )
