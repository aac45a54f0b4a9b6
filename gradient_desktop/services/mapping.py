"""Mappings of vendor accounts to Gradient clients (and of SKUs to services): stored locally,
then synced to Gradient through the account's vendor-side ``clientOId``.

Every change goes through ``apply``, which returns what it replaced, so an undo command is just
``apply`` of the inverse.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlmodel import col, select

from gradient_desktop.api import ApiError, NotFoundError
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
            current = {
                m.source_id: m
                for m in s.exec(
                    select(Mapping).where(Mapping.partner_id == partner.id, Mapping.kind == kind)
                )
            }
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
        inverse.reverse()
        return inverse

    def clear(self, partner: Partner, kind: str = MappingKind.ACCOUNT.value) -> None:
        with self.ctx.db.write_session() as s:
            s.exec(
                delete(Mapping).where(col(Mapping.partner_id) == partner.id, col(Mapping.kind) == kind)
            )
            s.commit()

    async def sync(
        self, partner: Partner, source_ids: Iterable[str] | None = None
    ) -> dict[str, str]:
        """Send local account mappings to Gradient (vendor-side ``clientOId``).

        Returns ``{account_id: error}`` for the ones that failed; each row's ``sync_state``
        says saved/syncing/failed for the grid's indicator.
        """
        client = self.ctx.client_for(partner)
        wanted = self.mappings(partner)
        with self.ctx.db.session() as s:
            published = {
                a.account_id
                for a in s.exec(select(VendorAccount).where(VendorAccount.partner_id == partner.id))
                if a.sync_state == SyncState.SYNCED.value
            }
        ids = list(source_ids) if source_ids is not None else list(wanted)
        errors: dict[str, str] = {}
        for account_id in ids:
            if account_id not in published:
                continue  # mapped at publish time instead (create carries clientOId)
            self._mark(partner, account_id, SyncState.SYNCING, None)
            try:
                target = wanted.get(account_id)
                if target is None:
                    await client.update_account(account_id, unmap_client=True)
                else:
                    await client.update_account(account_id, client_oid=target)
            except NotFoundError as exc:
                errors[account_id] = str(exc)
                self._mark(partner, account_id, SyncState.FAILED, str(exc))
            except ApiError as exc:
                errors[account_id] = str(exc)
                self._mark(partner, account_id, SyncState.FAILED, str(exc))
            else:
                self._mark(partner, account_id, SyncState.SYNCED, None)
        return errors

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
