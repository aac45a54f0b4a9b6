"""Sending a partner's outbox window by window, while a producer may still be queueing.

``PushService.run`` used to read every unsettled row, turn all of them into requests and hand
the lot to ``push_counts``: 200,000 ``OutboxItem`` + ``CountRow`` + ``RowResult`` objects at
once, and nothing sent before the last row was queued. Here the rows go in windows of
``WINDOW``, oldest first (``Outbox.list_resumable(after=...)``): memory stays bounded, and a
streamed file (``Feed``) is sent while its later parts are still being queued.

What stays as it was, across windows:

* each row is ``mark_sending`` before its request and marked as its answer arrives;
* rows of one cell go in id order, and a cell whose row may still land holds back its later
  rows for the rest of the push (``held``, shared with every ``push_counts`` call);
* one billing rebuild: every window but the last is sent with ``no_build`` only, and the
  last row of a non-final window is left for the next one, so the final window is never empty
  and its last request (without ``no_build``) rebuilds once;
* a window's row is never re-sent in the same push: the next window starts after it, so a row
  left ``unknown`` or ``pending`` (held back) waits for the next push, as before.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from gradient_desktop.api import (
    ApiError,
    ProgressEvent,
    PushReport,
    RowResult,
    VendorApiClient,
    push_counts,
)
from gradient_desktop.api.bulk import Outcome
from gradient_desktop.counts import Cell, CountRow, Op
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.result_batch import result_batch
from gradient_desktop.services.wire import NO_KNOWN_TOTAL, wire_row
from gradient_desktop.store import OutboxItem
from gradient_desktop.store.models import OutboxState

#: Rows per window: large enough that the pause between windows (the last answers of one
#: before the next starts) is lost in the noise, small enough to keep a push's memory flat.
WINDOW = 2000
_LANDED: tuple[Outcome, ...] = ("ok", "unmapped", "failed", "unknown")


class Feed:
    """Rows a producer is still queueing for this push (a streamed file). ``queued`` and
    ``finish`` may be called from the producer's thread."""

    def __init__(self, expected: int) -> None:
        self.expected = expected  # rows still to come, for the progress total
        self.done = False
        self._event = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def queued(self, rows: int) -> None:
        self._loop.call_soon_threadsafe(self._note, rows, False)

    def finish(self) -> None:
        self._loop.call_soon_threadsafe(self._note, 0, True)

    def _note(self, rows: int, done: bool) -> None:
        self.expected = max(0, self.expected - rows)
        self.done = self.done or done
        self._event.set()

    async def wait(self, timeout: float = 0.5) -> None:
        """Until the producer queued more (or finished), or ``timeout``."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            pass
        self._event.clear()


class _ResultWriter:
    """Batches outbox updates so a long push does not commit per row; the batch is shared by
    every push running at once (services/result_batch.py: a sync of many partners)."""

    def __init__(self, ctx: AppContext, ids: list[int], state_of: Callable[[RowResult], str]):
        self.ids, self.state_of = ids, state_of
        self.batch = result_batch(ctx.outbox)

    def __call__(self, index: int, result: RowResult) -> None:
        error = str(result.error) if result.error is not None else None
        self.batch.add((self.ids[index], self.state_of(result), error))

    def flush(self) -> None:
        self.batch.flush()


@dataclass
class WindowedPush:
    """One push of a partner's outbox (see the module docstring); ``run`` returns the merged
    report. ``sent``/``resumed``/``not_sendable`` count rows over all windows."""

    ctx: AppContext
    partner_id: int
    client: VendorApiClient
    state_of: Callable[[RowResult], str]
    concurrency: int | None = None
    on_progress: Callable[[ProgressEvent], None] | None = None
    cancel: asyncio.Event | None = None
    batch_id: str | None = None
    rebuild: bool = True
    legacy: bool = False
    feed: Feed | None = None
    total: int = 0
    sent: int = 0
    resumed: int = 0
    not_sendable: int = 0
    held: dict[Cell, ApiError | None] = field(default_factory=dict)
    _reports: list[PushReport] = field(default_factory=list)
    _base: Counter[str] = field(default_factory=Counter)
    _started: float = field(default_factory=time.monotonic)
    _unsent: int = 0
    _accepted: list[tuple[int, CountRow]] = field(default_factory=list)

    async def run(self) -> PushReport:
        after = 0
        while True:
            # Read before the query: a part queued after it is seen by the next window.
            producer_done = self.feed is None or self.feed.done
            items = self.ctx.outbox.list_resumable(self.partner_id, WINDOW + 1, after=after)
            more = len(items) > WINDOW
            final = producer_done and not more
            items = items[:WINDOW]
            if not final:
                items = items[:-1]  # the final window must not be empty (it rebuilds)
            if not items:
                if final or self.feed is None:
                    break
                await self.feed.wait()
                continue
            after = items[-1].id
            report = await self._window(items, final)
            stopped = self.cancel is not None and self.cancel.is_set()
            if report is not None:
                self._reports.append(report)
                stopped = stopped or report.aborted_by is not None or report.cancel_requested
            if stopped:
                # Rows this push did not reach stay queued: counted as not sent, like the
                # rows of a window cut short.
                self._unsent = self.ctx.outbox.pending_count(self.partner_id, after=after)
                self._unsent += self.feed.expected if self.feed is not None else 0
                break
        merged = self._merged()
        cut_short = merged.aborted_by is not None or merged.cancel_requested or self._unsent > 0
        if self.rebuild and merged.ok and not merged.rebuild_triggered and not cut_short:
            await self._recover_rebuild(merged)
        return merged

    async def _recover_rebuild(self, report: PushReport) -> None:
        """The final window triggered no rebuild (its rows did not land) but earlier windows
        landed rows: re-send one of those absolute totals without ``no_build``. Only a row
        that is still its cell's newest (nothing queued after it, not held): re-sending it
        changes no total. No idempotency key: a server honouring keys would replay it without
        applying, hence without rebuilding (as api/bulk.py recovers within one call)."""
        for row_id, row in reversed(self._accepted):
            if row.cell in self.held or not self.ctx.outbox.is_latest(
                self.partner_id, row_id, row.service_id, row.account_id
            ):
                continue
            again = await push_counts(self.client, [row.with_key("")], concurrency=1)
            if again.rebuild_triggered:
                report.rebuild_triggered, report.rebuild_row = True, again.rebuild_row
                return

    async def _window(self, items: list[OutboxItem], final: bool) -> PushReport | None:
        unsendable = []
        rows: list[CountRow] = []
        ids: list[int] = []
        for item in items:
            row = wire_row(item, legacy_routes=self.legacy)
            if row is None:
                unsendable.append((item.id, OutboxState.FAILED.value, NO_KNOWN_TOTAL))
            else:
                rows.append(row)
                ids.append(item.id)
                # Rows from earlier pushes (crash, cancel, network loss) ride along.
                self.resumed += item.batch_id != self.batch_id
        if unsendable:
            # Definitely not sent, so voiding them re-projects the rows queued after them.
            self.ctx.outbox.mark_results(unsendable)
            self.not_sendable += len(unsendable)
        if not rows:
            return None
        self.ctx.outbox.mark_sending(ids)
        writer = _ResultWriter(self.ctx, ids, self.state_of)
        try:
            report = await push_counts(
                self.client,
                rows,
                concurrency=self.concurrency,
                on_progress=self._progress,
                cancel=self.cancel,
                on_result=writer,
                rebuild=self.rebuild and final,
                held=self.held,
            )
        finally:
            writer.flush()
        self.sent += len(rows)
        # Rows never attempted (cancel, abort, held back) come back as results too; make sure
        # they are queued again rather than left *sending*.
        untouched = [
            (ids[i], OutboxState.PENDING.value, None)
            for i, r in enumerate(report.results)
            if r.outcome == "cancelled"
        ]
        if untouched:
            self.ctx.outbox.mark_results(untouched)
        for outcome in _LANDED:
            self._base[outcome] += report.count(outcome)
        # The last few absolute totals that landed: candidates to carry the rebuild if the
        # final window cannot (``_recover_rebuild``).
        landed = [
            (ids[i], r.row)
            for i, r in enumerate(report.results)
            if r.outcome == "ok" and r.row.op == Op.SET
        ]
        self._accepted = (self._accepted + landed[-3:])[-3:]
        return report

    def expected_total(self) -> int:
        """Rows this push expects to answer: what was queued, plus what is still coming."""
        coming = self.feed.expected if self.feed is not None else 0
        return max(self.total + coming, self._done())

    def _done(self) -> int:
        return sum(self._base[o] for o in _LANDED)

    def _progress(self, event: ProgressEvent) -> None:
        if self.on_progress is None:
            return
        b = self._base
        done = self._done() + event.done
        total = max(self.expected_total(), done)
        elapsed = time.monotonic() - self._started
        eta = elapsed / done * (total - done) if done else None
        self.on_progress(
            ProgressEvent(
                done,
                total,
                b["ok"] + event.ok,
                b["unmapped"] + event.unmapped,
                b["failed"] + event.failed,
                elapsed,
                eta,
                b["unknown"] + event.unknown,
            )
        )

    def _merged(self) -> PushReport:
        reports = self._reports
        if not reports:
            return PushReport([], False, 0.0)
        last = reports[-1]
        if len(reports) == 1 and not self._unsent:
            return last
        # Rows that landed are only counted: a 200,000-row push keeps no object per row.
        settled: Counter[str] = Counter({"cancelled": self._unsent})
        results: list[RowResult] = []
        for report in reports:
            settled.update(report.settled)
            for r in report.results:
                if r.outcome == "ok" and len(reports) > 1:
                    settled["ok"] += 1
                else:
                    results.append(r)
        return PushReport(
            results,
            last.rebuild_triggered,
            time.monotonic() - self._started,
            rebuild_row=last.rebuild_row,
            cancel_requested=any(r.cancel_requested for r in reports),
            aborted_by=next((r.aborted_by for r in reports if r.aborted_by), None),
            settled=settled,
        )
