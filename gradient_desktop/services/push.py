"""Usage pushes that never lose or double a count: rows go into the outbox first (where each
add/subtract becomes the absolute total it must produce), are sent with the bulk helper (one
billing rebuild per push), and are marked as each answer arrives. Whatever was not
acknowledged when the app, the machine or the network died is re-sent by the next ``run``;
re-sending an absolute total is harmless, so nothing depends on the server remembering
idempotency keys (store/outbox.py, services/wire.py).

The entry point for every caller (usage page, CLI, sync): ``PushService.enqueue`` /
``run`` / ``push`` with ``CountRow`` values (docs/ARCHITECTURE.md, "The path of a count").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gradient_desktop.api import (
    AuthenticationError,
    ProgressEvent,
    PushReport,
    RowResult,
    VendorApiClient,
)
from gradient_desktop.counts import Cell, CountRow, apply_op
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.push_windows import Feed, WindowedPush
from gradient_desktop.services.wording import figures, plural
from gradient_desktop.store import EnqueueResult, HistoryPoint
from gradient_desktop.store.backups import backup_after_push
from gradient_desktop.store.models import OutboxState, Partner, PartnerCountOptions

log = logging.getLogger(__name__)

_OUTCOME_STATE = {
    "ok": OutboxState.SENT.value,
    "unmapped": OutboxState.UNMAPPED.value,
    "failed": OutboxState.FAILED.value,
    "unknown": OutboxState.UNKNOWN.value,
    # A cancelled push leaves the row queued: nothing is lost, the next push sends it.
    "cancelled": OutboxState.PENDING.value,
}


@dataclass
class PushSummary:
    """What a push did, in words a user can act on."""

    batch_rows: int
    report: PushReport
    resumed: int = 0
    problems: list[str] = field(default_factory=list)
    #: Rows that could not be sent at all (an add/subtract whose starting total is not known).
    not_sendable: int = 0
    #: Subtracts floored at 0, ``(service_id, account_id, amount below 0)`` (set by ``push``).
    floored: list[tuple[str, str, float]] = field(default_factory=list)

    @property
    def all_landed(self) -> bool:
        r = self.report
        return r.ok == r.total and (r.total == 0 or r.rebuild_triggered)

    def text(self) -> str:
        r = self.report
        parts = [f"{r.ok} of {r.total} counts landed"]
        parts += figures(
            (self.resumed, f"{self.resumed} resumed from an earlier push"),
            (r.unmapped, f"{r.unmapped} unmapped (the MSP has not mapped that account or service)"),
            (r.failed, f"{r.failed} failed"),
            (r.unknown, f"{r.unknown} with an unknown outcome (will be resolved on the next push)"),
            (r.cancelled, f"{r.cancelled} not sent (still queued)"),
            (
                self.not_sendable,
                f"{self.not_sendable} add/subtract not sent (the current total is not known)",
            ),
            (len(self.floored), f"{plural(len(self.floored), 'subtract')} stopped at 0"),
        )
        parts.append("billing rebuilt once" if r.rebuild_triggered else "billing not rebuilt")
        text = "; ".join(parts) + f" in {r.elapsed:.1f} s."
        if r.aborted_by is not None:
            text += f" Stopped early: {r.aborted_by}"
        return text


def row_state(result: RowResult) -> str:
    """The outbox state for a row's outcome. ``failed`` is kept for a definite verdict on the
    row (400, 409, 422): a revoked key (401/403) says nothing about the row, so it stays queued
    for the new key; a transient failure that outlived its retries (outage, 5xx, 429) may or may
    not have been applied, so it is ``unknown`` and resolved on the next push."""
    if result.outcome == "failed" and result.error is not None:
        if isinstance(result.error, AuthenticationError):
            return OutboxState.PENDING.value
        if result.error.retryable:
            return OutboxState.UNKNOWN.value
    return _OUTCOME_STATE[result.outcome]


class PushService:
    """Queue and send unit counts for a partner (the one entry point; see module docstring)."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    # -- policy ---------------------------------------------------------------------------------

    def legacy_routes(self, partner: Partner) -> bool:
        """Whether add/subtract on a cell with no known total may use the §2.10 PATCH routes:
        only when turned on for this partner (the built-in demo turns it on)."""
        with self.ctx.db.session() as s:
            opts = s.get(PartnerCountOptions, partner.id or 0)
        if opts is not None:
            return bool(opts.legacy_count_routes)
        return self.ctx.is_demo_url(partner.base_url)

    def set_legacy_routes(self, partner: Partner, on: bool) -> None:
        with self.ctx.db.session() as s:
            opts = s.get(PartnerCountOptions, partner.id or 0)
            if opts is None:
                opts = PartnerCountOptions(partner_id=partner.id or 0)
            opts.legacy_count_routes = on
            s.add(opts)
            s.commit()

    # -- queue and send -------------------------------------------------------------------------

    def enqueue(
        self,
        partner: Partner,
        rows: Iterable[CountRow],
        actor: str | None = None,
        *,
        source: str | None = None,
        source_label: str | None = None,
    ) -> EnqueueResult:
        """Write the rows to the outbox (one transaction) before anything is sent.

        Raises ``UnknownTotalError`` for an add/subtract on a cell with no known total (unless
        the partner allows the legacy routes) and ``ValueError`` for a bad row; nothing is
        queued then. ``source`` makes a file's enqueue happen once (``Outbox.enqueue``).
        """
        queued = self.ctx.outbox.enqueue(
            partner.id or 0,
            list(rows),
            actor=actor,
            legacy_deltas=self.legacy_routes(partner),
            source=source,
            source_label=source_label,
        )
        self.ctx.state.touch(partner.id)
        return queued

    def pending(self, partner: Partner) -> int:
        """Rows queued for ``partner`` and not yet acknowledged."""
        return self.ctx.outbox.pending_count(partner.id or 0)

    def running(self) -> str | None:
        """How far the running push is ("81 of 362 sent"), or None when none runs."""
        return self.ctx.state.push_summary()

    def projected_totals(
        self,
        partner_id: int,
        acknowledged: dict[Cell, tuple[float, datetime | None]] | None = None,
    ) -> dict[Cell, float | None]:
        """``{(service, account): total}`` once every queued row has landed: the last
        acknowledged totals (``acknowledged``: already read by the caller), moved on by the
        rows still queued (an add/subtract counts as the absolute total fixed at enqueue)."""
        outbox = self.ctx.outbox
        if acknowledged is None:
            acknowledged = outbox.last_totals(partner_id)
        out: dict[Cell, float | None] = {cell: t for cell, (t, _) in acknowledged.items()}
        for item in outbox.list_resumable(partner_id):
            cell = (item.service_id, item.account_id)
            absolute = item.absolute
            out[cell] = (
                absolute
                if absolute is not None
                else apply_op(out.get(cell), item.op, item.unit_count)
            )
        return out

    def cell_history(self, partner_id: int, service_id: str, account_id: str) -> list[HistoryPoint]:
        """Every write of one cell, oldest first, with the acknowledged total after it."""
        return self.ctx.outbox.history(partner_id, service_id, account_id)

    async def push(
        self, partner: Partner, rows: Iterable[CountRow], actor: str | None = None, **run_args: Any
    ) -> PushSummary:
        """``enqueue`` then ``run``: the call for a service that has counts to send now."""
        queued = self.enqueue(partner, rows, actor)
        summary = await self.run(partner, batch_id=queued.batch_id, **run_args)
        summary.floored = queued.floored
        return summary

    async def run(
        self,
        partner: Partner,
        *,
        client: VendorApiClient | None = None,
        concurrency: int | None = None,
        on_progress: Callable[[ProgressEvent], None] | None = None,
        cancel: asyncio.Event | None = None,
        batch_id: str | None = None,
        rebuild: bool = True,
        backup: bool = True,
        feed: Feed | None = None,
    ) -> PushSummary:
        """Send every unfinished row of this partner (oldest first, in windows:
        services/push_windows.py), then rebuild once (``rebuild=False``: every row with
        ``no_build``, billing views not rebuilt). ``feed``: rows still being queued by a
        streamed file (services/push_file.py) are sent as they arrive.

        ``client`` is for callers holding keys outside the keyring (``push --base-url``);
        by default the partner's own client is used. ``backup=False`` skips the copy of the
        database made after the push (the caller makes one for many pushes).
        """
        partner_id = partner.id or 0
        total = self.ctx.outbox.pending_count(partner_id)
        if not total and feed is None:
            return PushSummary(0, PushReport([], False, 0.0))
        push = WindowedPush(
            self.ctx,
            partner_id,
            client if client is not None else self.ctx.client_for(partner),
            row_state,
            # 0/None: chosen from the latency (Little's law, api/ratelimit.py).
            concurrency=concurrency or self.ctx.settings.default_concurrency or None,
            cancel=cancel,
            batch_id=batch_id,
            rebuild=rebuild,
            legacy=self.legacy_routes(partner),
            feed=feed,
            total=total,
        )
        self.ctx.state.note_push_progress(partner_id, 0, push.expected_total())

        def progress(event: ProgressEvent) -> None:
            self.ctx.state.note_push_event(partner_id, event)
            if on_progress is not None:
                on_progress(event)

        push.on_progress = progress
        log.info(
            "push to %s: sending %s", partner.name, plural(push.expected_total(), "queued count")
        )
        try:
            report = await push.run()
        except BaseException as exc:
            what = "cancelled" if isinstance(exc, asyncio.CancelledError) else "stopped"
            log.warning("push to %s %s; unsent counts stay queued", partner.name, what)
            self.ctx.state.note_push(
                partner_id,
                "The push stopped before the end; unsent counts stay queued.",
                0,
                push.expected_total(),
                False,
            )
            raise
        if not push.sent:
            return PushSummary(0, PushReport([], False, 0.0), not_sendable=push.not_sendable)
        if report.rebuild_triggered or report.ok:
            self._touch_partner(partner)
        # The ledger now decides what add/subtract send: keep a copy of it after every session
        # (``backup=False``: the caller makes one copy for many pushes, e.g. a sync run).
        if backup:
            backup_after_push(self.ctx.db, self.ctx.settings.backup_keep_days)
        summary = PushSummary(
            push.sent, report, resumed=push.resumed, not_sendable=push.not_sendable
        )
        # The audit trail: who got how many, and the outcome, in the words the user saw.
        log.info("push to %s finished (%d resumed): %s", partner.name, push.resumed, summary.text())
        self.ctx.state.note_push(
            partner_id, summary.text(), report.ok, report.total, summary.all_landed
        )
        return summary

    def _touch_partner(self, partner: Partner) -> None:
        from gradient_desktop.services.partners import PartnerDirectory
        from gradient_desktop.store.models import utcnow

        PartnerDirectory(self.ctx).update(partner.id or 0, last_synced_at=utcnow())
