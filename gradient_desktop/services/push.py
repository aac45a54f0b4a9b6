"""Usage pushes that never lose a count: rows go into the outbox first, are sent with the bulk
helper (one billing rebuild per push), and are marked as each answer arrives. Whatever was not
acknowledged when the app, the machine or the network died is resumed on the next ``run``.

How add/subtract stay exactly-once is described in ``store/outbox.py``: every row keeps one
idempotency key for its whole life, and a row whose outcome is unknown is resolved with an
absolute set of its expected total when that is known.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from gradient_desktop.api import (
    AuthenticationError,
    CountRow,
    ProgressEvent,
    PushReport,
    RowResult,
    push_counts,
)
from gradient_desktop.services.context import AppContext
from gradient_desktop.store import OutboxItem, PushRow
from gradient_desktop.store.models import OutboxState, Partner

log = logging.getLogger(__name__)

_OUTCOME_STATE = {
    "ok": OutboxState.SENT.value,
    "unmapped": OutboxState.UNMAPPED.value,
    "failed": OutboxState.FAILED.value,
    "unknown": OutboxState.UNKNOWN.value,
    # A cancelled push leaves the row queued: nothing is lost, the next push sends it.
    "cancelled": OutboxState.PENDING.value,
}
#: Flush row results to SQLite at least this often (a crash loses at most this much bookkeeping,
#: never a count: unflushed rows stay *sending* and are resolved on resume).
_FLUSH_SECONDS = 0.25
_FLUSH_ROWS = 200


@dataclass
class PushSummary:
    """What a push did, in words a user can act on."""

    batch_rows: int
    report: PushReport
    resumed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def all_landed(self) -> bool:
        r = self.report
        return r.ok == r.total and (r.total == 0 or r.rebuild_triggered)

    def text(self) -> str:
        r = self.report
        parts = [f"{r.ok} of {r.total} counts landed"]
        if self.resumed:
            parts.append(f"{self.resumed} resumed from an earlier push")
        if r.unmapped:
            parts.append(f"{r.unmapped} unmapped (the MSP has not mapped that account or service)")
        if r.failed:
            parts.append(f"{r.failed} failed")
        if r.unknown:
            parts.append(f"{r.unknown} with an unknown outcome (will be resolved on the next push)")
        if r.cancelled:
            parts.append(f"{r.cancelled} not sent (still queued)")
        parts.append("billing rebuilt once" if r.rebuild_triggered else "billing not rebuilt")
        text = "; ".join(parts) + f" in {r.elapsed:.1f} s."
        if r.aborted_by is not None:
            text += f" Stopped early: {r.aborted_by}"
        return text


def wire_key(item: OutboxItem, op: str) -> str:
    """The idempotency key for what is sent now. A row resolved with an absolute ``set`` of its
    expected total sends a different request than its first attempt, so it needs a key of its
    own: reusing the add's key is refused (422, "key already used for a different request")
    whenever the first attempt did land. The derived key is stable, so a resolution interrupted
    in turn is recognised as a repeat on the next resume."""
    return item.idempotency_key if op == item.op else f"{item.idempotency_key}-{op}"


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


class _ResultWriter:
    """Batches outbox updates so a 100k-row push does not commit per row."""

    def __init__(self, ctx: AppContext, ids: list[int]) -> None:
        self.ctx, self.ids = ctx, ids
        self.buffer: list[tuple[int, str, str | None]] = []
        self.last = time.monotonic()

    def __call__(self, index: int, result: RowResult) -> None:
        error = str(result.error) if result.error is not None else None
        self.buffer.append((self.ids[index], row_state(result), error))
        if len(self.buffer) >= _FLUSH_ROWS or time.monotonic() - self.last > _FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            buffer, self.buffer = self.buffer, []
            self.ctx.outbox.mark_results(buffer)
        self.last = time.monotonic()


class PushService:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def enqueue(self, partner: Partner, rows: Iterable[PushRow], actor: str | None = None) -> str:
        """Write the rows to the outbox (one transaction) before anything is sent."""
        batch = self.ctx.outbox.enqueue(partner.id or 0, list(rows), actor=actor)
        self.ctx.state.touch(partner.id)
        return batch

    def pending(self, partner: Partner) -> int:
        return self.ctx.outbox.pending_count(partner.id or 0)

    def running(self) -> str | None:
        """How far the running push is ("81 of 362 sent"), or None when none runs."""
        return self.ctx.push_activity.summary()

    async def run(
        self,
        partner: Partner,
        *,
        concurrency: int | None = None,
        on_progress: Callable[[ProgressEvent], None] | None = None,
        cancel: asyncio.Event | None = None,
        batch_id: str | None = None,
    ) -> PushSummary:
        """Send every unfinished row of this partner (oldest first), then rebuild once."""
        items: list[OutboxItem] = self.ctx.outbox.claim_resumable(partner.id or 0)
        # Rows from earlier pushes (crash, cancel, network loss) ride along with this one.
        resumed = sum(1 for i in items if i.batch_id != batch_id)
        rows = []
        for item in items:
            op, count = item.wire_op()
            rows.append(CountRow(item.service_id, item.account_id, count, op, wire_key(item, op)))  # type: ignore[arg-type]
        ids = [i.id for i in items]
        if not rows:
            return PushSummary(0, PushReport([], False, 0.0))
        self.ctx.outbox.mark_sending(ids)
        writer = _ResultWriter(self.ctx, ids)
        activity = self.ctx.push_activity.begin(partner.id or 0, partner.name, len(rows))
        pid = partner.id or 0
        self.ctx.state.note_push_progress(pid, 0, len(rows))

        def progress(event: ProgressEvent) -> None:
            activity.done = event.done
            self.ctx.state.note_push_progress(pid, event.done, event.total)
            if on_progress is not None:
                on_progress(event)

        log.info("push to %s: sending %d count(s) (%d resumed)", partner.name, len(rows), resumed)
        try:
            report = await push_counts(
                self.ctx.client_for(partner),
                rows,
                concurrency=concurrency or self.ctx.settings.default_concurrency,
                on_progress=progress,
                cancel=cancel,
                on_result=writer,
            )
        except BaseException as exc:
            what = "cancelled" if isinstance(exc, asyncio.CancelledError) else "stopped"
            log.warning("push to %s %s; unsent counts stay queued", partner.name, what)
            writer.flush()
            self.ctx.state.note_push(
                pid, "The push stopped before the end; unsent counts stay queued.", 0, len(rows), False
            )
            raise
        finally:
            writer.flush()
            self.ctx.push_activity.end(activity)
        # Rows never attempted (cancel, abort) come back as results too; make sure they are
        # queued again rather than left *sending*.
        untouched = [
            (ids[i], OutboxState.PENDING.value, None)
            for i, r in enumerate(report.results)
            if r.outcome == "cancelled"
        ]
        if untouched:
            self.ctx.outbox.mark_results(untouched)
        if report.rebuild_triggered or report.ok:
            self._touch_partner(partner)
        summary = PushSummary(len(rows), report, resumed=resumed)
        # The audit trail: who got how many, and the outcome, in the words the user saw.
        log.info("push to %s finished: %s", partner.name, summary.text())
        self.ctx.state.note_push(
            partner.id or 0, summary.text(), report.ok, report.total, summary.all_landed
        )
        return summary

    def _touch_partner(self, partner: Partner) -> None:
        from gradient_desktop.services.partners import PartnerDirectory
        from gradient_desktop.store.models import utcnow

        PartnerDirectory(self.ctx).update(partner.id or 0, last_synced_at=utcnow())
