"""Mappings of vendor accounts to Gradient clients (and of SKUs to services): stored locally,
then synced to Gradient through the account's vendor-side ``clientOId``.

Every change goes through ``apply``, which returns what it replaced, so an undo command is just
``apply`` of the inverse.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlmodel import col, select

from gradient_desktop.api import ApiError
from gradient_desktop.services.context import AppContext
from gradient_desktop.store.models import (
    Mapping,
    MappingKind,
    MappingOrigin,
    Partner,
    SyncState,
    VendorAccount,
)

log = logging.getLogger(__name__)

#: Ids per ``IN (...)`` list: well under SQLite's bound-parameter limit on every build.
_IN_LIMIT = 900


#: Mapping updates in flight at once (MappingService.sync).
SYNC_CONCURRENCY = 8


@dataclass(frozen=True)
class MappingChange:
    """Set ``source_id`` → ``target_id`` (None removes the mapping)."""

    source_id: str
    target_id: str | None
    origin: str = MappingOrigin.MANUAL.value


class MappingService:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def mappings(self, partner: Partner, kind: str = MappingKind.ACCOUNT.value) -> dict[str, str]:
        with self.ctx.db.session() as s:
            rows = s.exec(
                select(Mapping).where(Mapping.partner_id == partner.id, Mapping.kind == kind)
            )
            return {m.source_id: m.target_id for m in rows}

    def rows(self, partner: Partner, kind: str = MappingKind.ACCOUNT.value) -> list[Mapping]:
        with self.ctx.db.session() as s:
            return list(
                s.exec(
                    select(Mapping).where(Mapping.partner_id == partner.id, Mapping.kind == kind)
                )
            )

    def apply(
        self,
        partner: Partner,
        changes: Sequence[MappingChange],
        kind: str = MappingKind.ACCOUNT.value,
    ) -> list[MappingChange]:
        """Store the changes in one transaction; return the inverse changes (for undo)."""
        inverse: list[MappingChange] = []
        with self.ctx.db.write_session() as s:
            # Load only the rows the changes touch: a drop onto one client must not read 50,000
            # mappings (a bulk change reads them all in one query instead of many IN lists).
            query = select(Mapping).where(Mapping.partner_id == partner.id, Mapping.kind == kind)
            ids = list(dict.fromkeys(c.source_id for c in changes))
            if len(ids) <= _IN_LIMIT * 4:
                found: list[Mapping] = []
                for start in range(0, len(ids), _IN_LIMIT):
                    chunk = ids[start : start + _IN_LIMIT]
                    found.extend(s.exec(query.where(col(Mapping.source_id).in_(chunk))))
            else:
                found = list(s.exec(query))
            current = {m.source_id: m for m in found}
            for change in changes:
                row = current.get(change.source_id)
                inverse.append(
                    MappingChange(
                        change.source_id,
                        row.target_id if row else None,
                        row.origin if row else MappingOrigin.MANUAL.value,
                    )
                )
                if change.target_id is None:
                    if row is not None:
                        s.delete(row)
                        current.pop(change.source_id)
                    continue
                if row is None:
                    row = Mapping(
                        partner_id=partner.id or 0,
                        kind=kind,
                        source_id=change.source_id,
                        target_id=change.target_id,
                    )
                    current[change.source_id] = row
                row.target_id = change.target_id
                row.origin = change.origin
                row.sync_state = SyncState.LOCAL.value
                row.sync_error = None
                s.add(row)
            s.commit()
        self.ctx.state.touch(partner.id)
        inverse.reverse()
        return inverse

    def clear(self, partner: Partner, kind: str = MappingKind.ACCOUNT.value) -> None:
        with self.ctx.db.write_session() as s:
            s.exec(
                delete(Mapping).where(
                    col(Mapping.partner_id) == partner.id, col(Mapping.kind) == kind
                )
            )
            s.commit()
        self.ctx.state.touch(partner.id)

    async def sync(
        self, partner: Partner, source_ids: Iterable[str] | None = None
    ) -> dict[str, str]:
        """Send local account mappings to Gradient (vendor-side ``clientOId``).

        Returns ``{account_id: error}`` for the ones that failed; each row's ``sync_state``
        says saved/syncing/failed for the grid's indicator.
        """
        client = self.ctx.client_for(partner)
        if source_ids is None:
            wanted = self.mappings(partner)
            ids = list(wanted)
        else:
            # Only the rows asked for: the grid syncs a few rows after each change.
            ids = list(dict.fromkeys(source_ids))
            wanted = self._targets_of(partner, ids)
        published = self._published(partner, ids)
        errors: dict[str, str] = {}
        # A few requests in flight: one at a time, a reconnect re-sending 180 mappings took
        # ~9 s at 50 ms a request (#11 defect 14). The client's rate limiter still applies.
        gate = asyncio.Semaphore(SYNC_CONCURRENCY)

        async def send(account_id: str) -> None:
            async with gate:
                self._mark(partner, account_id, SyncState.SYNCING, None)
                try:
                    target = wanted.get(account_id)
                    if target is None:
                        answer = await client.update_account(account_id, unmap_client=True)
                    else:
                        answer = await client.update_account(account_id, client_oid=target)
                except ApiError as exc:  # NotFoundError included: the account is gone
                    errors[account_id] = str(exc)
                    self._mark(partner, account_id, SyncState.FAILED, str(exc))
                else:
                    self._mark(partner, account_id, SyncState.SYNCED, None)
                    if answer.is_mapped is not None:
                        remote_mapped[account_id] = bool(answer.is_mapped)

        # What Gradient answered about each account's mapping, so every view that shows
        # "mapped in Synthesize" (the Alerts form, the usage service) agrees with the grid.
        remote_mapped: dict[str, bool] = {}

        # mapped at publish time instead when not published (the create carries clientOId)
        await asyncio.gather(*(send(i) for i in ids if i in published))
        self._record_remote_mapped(partner, remote_mapped)
        self.ctx.state.touch(partner.id)
        return errors

    def _record_remote_mapped(self, partner: Partner, mapped: dict[str, bool]) -> None:
        if not mapped:
            return
        with self.ctx.db.write_session() as s:
            for value in (True, False):
                ids = [a for a, m in mapped.items() if m is value]
                for start in range(0, len(ids), _IN_LIMIT):
                    s.exec(
                        update(VendorAccount)
                        .where(col(VendorAccount.partner_id) == partner.id)
                        .where(col(VendorAccount.account_id).in_(ids[start : start + _IN_LIMIT]))
                        .values(is_mapped_remote=value)
                    )
            s.commit()

    def _mark(self, partner: Partner, source_id: str, state: SyncState, error: str | None) -> None:
        with self.ctx.db.write_session() as s:
            s.exec(
                update(Mapping)
                .where(col(Mapping.partner_id) == partner.id)
                .where(col(Mapping.kind) == MappingKind.ACCOUNT.value)
                .where(col(Mapping.source_id) == source_id)
                .values(sync_state=state.value, sync_error=error)
            )
            s.commit()

    async def partner_services(self, partner: Partner) -> list[tuple[str, str, bool]]:
        """The partner's organisation services on Gradient: ``(id, name, isMapped)`` — the
        targets of service mappings (the MSP maps them to PSA products in Synthesize)."""
        services = await self.ctx.client_for(partner).list_org_services()
        return [(s.id, s.name or s.id, bool(s.is_mapped)) for s in services]

    # -- reads for the mapping grid ---------------------------------------------------------------

    def _targets_of(self, partner: Partner, ids: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        with self.ctx.db.session() as s:
            for start in range(0, len(ids), _IN_LIMIT):
                rows = s.exec(
                    select(Mapping.source_id, Mapping.target_id).where(
                        Mapping.partner_id == partner.id,
                        Mapping.kind == MappingKind.ACCOUNT.value,
                        col(Mapping.source_id).in_(ids[start : start + _IN_LIMIT]),
                    )
                )
                out.update(dict(rows.all()))
        return out

    def _published(self, partner: Partner, ids: list[str]) -> set[str]:
        """The accounts Gradient has (a mapping of any other is sent when it is published)."""
        out: set[str] = set()
        with self.ctx.db.session() as s:
            for start in range(0, len(ids), _IN_LIMIT):
                rows = s.exec(
                    select(VendorAccount.account_id).where(
                        VendorAccount.partner_id == partner.id,
                        VendorAccount.sync_state == SyncState.SYNCED.value,
                        col(VendorAccount.account_id).in_(ids[start : start + _IN_LIMIT]),
                    )
                )
                out.update(rows.all())
        return out

    def sync_states(
        self, partner: Partner, ids: list[str], kind: str = MappingKind.ACCOUNT.value
    ) -> dict[str, tuple[str, str | None]]:
        """``{source_id: (sync_state, sync_error)}`` of the mapped ones among ``ids``."""
        out: dict[str, tuple[str, str | None]] = {}
        with self.ctx.db.session() as s:
            for start in range(0, len(ids), _IN_LIMIT):
                rows = s.exec(
                    select(Mapping.source_id, Mapping.sync_state, Mapping.sync_error).where(
                        Mapping.partner_id == partner.id,
                        Mapping.kind == kind,
                        col(Mapping.source_id).in_(ids[start : start + _IN_LIMIT]),
                    )
                )
                out.update({sid: (state, err) for sid, state, err in rows.all()})
        return out

    def grid_rows(self, partner: Partner, kind: str = MappingKind.ACCOUNT.value) -> GridRows:
        """Everything the mapping grid shows, read column-wise with plain SQL (50,000 ORM
        objects would cost seconds; tuples from the driver cost tens of milliseconds)."""
        partner_id = partner.id
        with self.ctx.db.read() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            if kind == MappingKind.ACCOUNT.value:
                left = raw.execute(
                    "SELECT account_id, name, COALESCE(description, ''), sync_state = 'synced' "
                    "FROM vendor_account WHERE partner_id = ? ORDER BY name COLLATE NOCASE",
                    (partner_id,),
                ).fetchall()
                right = raw.execute(
                    "SELECT client_id, name, stale FROM gradient_client WHERE partner_id = ? "
                    "ORDER BY name COLLATE NOCASE",
                    (partner_id,),
                ).fetchall()
            else:
                left = raw.execute(
                    "SELECT service_id, name, unit_type || COALESCE(' (' || storage_unit || ')', ''),"
                    " 1 FROM partner_service WHERE partner_id = ? ORDER BY name COLLATE NOCASE",
                    (partner_id,),
                ).fetchall()
                right = []
            maps = raw.execute(
                "SELECT source_id, target_id, origin, sync_state, sync_error FROM mapping "
                "WHERE partner_id = ? AND kind = ?",
                (partner_id, kind),
            ).fetchall()
        return GridRows(left=left, right=right, mappings=maps)


@dataclass(frozen=True)
class GridRows:
    """Rows as tuples: ``left`` (id, name, description, published), ``right`` (id, name,
    stale), ``mappings`` (source, target, origin, sync_state, sync_error). ``published`` says
    Gradient has the account (a mapping of any other travels with its create)."""

    left: list[tuple[str, str, str, int]]
    right: list[tuple[str, str, int]]
    mappings: list[tuple[str, str, str, str, str | None]]
