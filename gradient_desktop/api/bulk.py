"""Bulk unit-count push with exactly one billing rebuild (vendor-api.md §7).

Every row but one is sent with ``no_build=true`` through a bounded worker pool; the last one
goes alone, after all others completed, without ``no_build`` so Gradient rebuilds the billing
views once. If that final request does not land (unmapped, failed, replayed), the rebuild is
recovered by re-sending an already-accepted absolute ``set`` row without ``no_build``.
Rows of the same account × service keep their input order (a set then an add must not race).
A row that did not land holds back the rest of its pair: those rows are reported ``cancelled``
rather than sent ahead of it. If it may still land (outcome unknown, transient failure), a later
row sent first could be overwritten by it; if it was definitely refused, the later rows' totals
were computed as if it had landed, and the outbox recomputes them before they go out.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from gradient_desktop.counts import CountRow, Op

from .client import VendorApiClient
from .errors import (
    ApiError,
    AuthenticationError,
    NetworkError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    UnmappedError,
)
from .models import CountResult
from .ratelimit import ConcurrencyGate

__all__ = ["CountRow", "Outcome", "ProgressEvent", "PushReport", "RowResult", "push_counts"]

logger = logging.getLogger("gradient_desktop.api")

Outcome = Literal["ok", "unmapped", "failed", "unknown", "cancelled"]


@dataclass(slots=True)
class RowResult:
    row: CountRow
    outcome: Outcome
    error: ApiError | None = None


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    done: int
    total: int
    ok: int
    unmapped: int
    failed: int
    elapsed: float
    eta_s: float | None
    unknown: int = 0


@dataclass(slots=True)
class PushReport:
    """Per-row outcomes in input order, and whether billing was rebuilt."""

    results: list[RowResult]
    rebuild_triggered: bool
    elapsed: float
    #: The row whose request (without ``no_build``) triggered the rebuild.
    rebuild_row: CountRow | None = None
    cancel_requested: bool = False
    #: Set when the push stopped early (bad key, Gradient unreachable): rows not sent are
    #: ``cancelled`` and this error says why.
    aborted_by: ApiError | None = None
    #: Outcomes of rows counted but not listed in ``results`` (a report merged from the windows
    #: of a long push keeps only the rows that did not land; services/push.py).
    settled: Counter[str] = field(default_factory=Counter)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome == outcome) + self.settled[outcome]

    def rows(self, outcome: Outcome) -> list[RowResult]:
        return [r for r in self.results if r.outcome == outcome]

    @property
    def total(self) -> int:
        return len(self.results) + sum(self.settled.values())

    @property
    def ok(self) -> int:
        return self.count("ok")

    @property
    def unmapped(self) -> int:
        return self.count("unmapped")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def unknown(self) -> int:
        return self.count("unknown")

    @property
    def cancelled(self) -> int:
        return self.count("cancelled")

    @property
    def needs_rebuild(self) -> bool:
        """Counts landed but billing views were not rebuilt (e.g. after a cancel)."""
        return self.ok > 0 and not self.rebuild_triggered


def _final_index(rows: list[CountRow], last_of_pair: dict[tuple[str, str], int]) -> int:
    """The row sent last: the last ``set`` row that is also its pair's last row (so sending
    it last keeps per-pair order), else simply the last row."""
    for i in range(len(rows) - 1, -1, -1):
        if rows[i].op == Op.SET and last_of_pair[rows[i].cell] == i:
            return i
    return len(rows) - 1


async def _send(
    client: VendorApiClient, row: CountRow, *, no_build: bool, key: str | None
) -> CountResult:
    if row.op == Op.SET:
        return await client.set_count(
            row.service_id, row.account_id, row.unit_count, no_build=no_build, idempotency_key=key
        )
    return await client.change_count(
        row.op,
        row.service_id,
        row.account_id,
        row.unit_count,
        no_build=no_build,
        idempotency_key=key,
    )


class _Push:
    """State of one ``push_counts`` call (kept out of closures for readability)."""

    def __init__(
        self,
        client: VendorApiClient,
        rows: list[CountRow],
        concurrency: int | None,
        no_build: bool,
        on_progress: Callable[[ProgressEvent], None] | None,
        cancel: asyncio.Event | None,
        on_result: Callable[[int, RowResult], None] | None = None,
        held: dict[tuple[str, str], ApiError | None] | None = None,
    ) -> None:
        self.client, self.rows, self.no_build = client, rows, no_build
        self.on_result = on_result
        # In flight: the caller's number, else chosen from latency and rate (Little's law).
        self.gate = ConcurrencyGate(
            client.limiter,
            fixed=max(1, concurrency) if concurrency else None,
            maximum=client.options.max_connections,
        )
        self.concurrency = max(1, concurrency) if concurrency else client.options.max_connections
        self.on_progress, self.cancel = on_progress, cancel
        self.results: list[RowResult | None] = [None] * len(rows)
        self.tally: Counter[str] = Counter()
        self.started = time.monotonic()
        self.aborted_by: ApiError | None = None
        self.transient_streak = 0
        # Transport failures in a row before giving up: Gradient is unreachable, and every
        # further row would only wait out its own retries and deadline.
        self.streak_limit = max(10, 2 * (concurrency or 16))
        self.last_of_pair: dict[tuple[str, str], int] = {}
        for i, row in enumerate(rows):
            self.last_of_pair[row.cell] = i
        self.accepted: dict[int, CountResult] = {}
        #: Pairs whose chain stopped at a row that may still land, with that row's error
        #: (the caller's dict: a push sent in windows keeps holding them in later windows).
        self.held: dict[tuple[str, str], ApiError | None] = {} if held is None else held

    def may_land_later(self, i: int) -> bool:
        """Row ``i`` did not land, and the rows of its pair after it must wait: it may still
        land (or have landed unseen), or - a definite failure - the totals of the rows after
        it were computed as if it had landed and must be recomputed by the outbox first."""
        result = self.results[i]
        if result is None:
            return False
        return result.outcome in ("unknown", "failed")

    def stopping(self) -> bool:
        return self.aborted_by is not None or (self.cancel is not None and self.cancel.is_set())

    async def send_row(self, i: int, *, no_build: bool) -> None:
        row = self.rows[i]
        error: ApiError | None = None
        try:
            result = await _send(self.client, row, no_build=no_build, key=row.key or None)
        except UnmappedError as exc:
            outcome: Outcome = "unmapped"
            error = exc
        except OutcomeUnknownError as exc:
            outcome, error = "unknown", exc
        except ApiError as exc:
            outcome, error = "failed", exc
        else:
            outcome = "ok"
            self.accepted[i] = result
        self.record(i, outcome, error)

    def record(self, i: int, outcome: Outcome, error: ApiError | None) -> None:
        result = self.results[i] = RowResult(self.rows[i], outcome, error)
        self.tally[outcome] += 1
        if self.on_result is not None:
            try:
                self.on_result(i, result)
            except Exception:  # the caller's bookkeeping must not abort a half-sent push
                logger.exception("result callback failed")
        if isinstance(error, AuthenticationError) and self.aborted_by is None:
            self.aborted_by = error  # a bad key fails every row: stop at once
        # A server that only ever answers 429 (or is down) would otherwise have every row wait
        # out its own retries: after a streak of them the push stops and says why.
        transient = (NetworkError, ServerError, RateLimitError)
        if isinstance(error, transient) or (
            isinstance(error, OutcomeUnknownError) and isinstance(error.cause, transient)
        ):
            self.transient_streak += 1
            if self.transient_streak >= self.streak_limit and self.aborted_by is None:
                self.aborted_by = error
        elif outcome != "cancelled":
            self.transient_streak = 0
        self.progress()

    def progress(self) -> None:
        if self.on_progress is None:
            return
        t = self.tally
        done = t["ok"] + t["unmapped"] + t["failed"] + t["unknown"]
        elapsed = time.monotonic() - self.started
        eta = elapsed / done * (len(self.rows) - done) if done else None
        event = ProgressEvent(
            done, len(self.rows), t["ok"], t["unmapped"], t["failed"], elapsed, eta, t["unknown"]
        )
        try:
            self.on_progress(event)
        except Exception:  # a broken progress bar must not abort a half-sent push
            logger.exception("progress callback failed")

    async def run_pool(self, work: list[list[int]], *, no_build: bool) -> None:
        items = iter(work)

        async def worker() -> None:
            for chain in items:  # one shared iterator: each work item is taken once
                for i in chain:  # rows of one account × service, in input order
                    if self.stopping():
                        return
                    pair = self.rows[i].cell
                    if pair in self.held:  # never overtake a row that may still land
                        self.record(i, "cancelled", self.held[pair])
                        continue
                    async with self.gate:
                        await self.send_row(i, no_build=no_build)
                    if self.may_land_later(i):
                        self.held[pair] = self.results[i].error  # type: ignore[union-attr]

        tasks = [asyncio.create_task(worker()) for _ in range(min(self.concurrency, len(work)))]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    def work_items(self, exclude: int | None) -> list[list[int]]:
        chains: dict[tuple[str, str], list[int]] = {}
        work: list[list[int]] = []
        repeated = {p for p, n in Counter(r.cell for r in self.rows).items() if n > 1}
        for i, row in enumerate(self.rows):
            if i == exclude:
                continue
            if row.cell in repeated:
                chain = chains.get(row.cell)
                if chain is None:
                    chain = chains[row.cell] = []
                    work.append(chain)
                chain.append(i)
            else:
                work.append([i])
        return work

    async def recover_rebuild(self, final: int) -> int | None:
        """Re-send an accepted absolute row without ``no_build``; return its index if it
        triggered the rebuild. Only a pair's last row qualifies: its value is the current one.
        """
        candidates = [
            i
            for i in self.accepted
            if self.rows[i].op == Op.SET and self.last_of_pair[self.rows[i].cell] == i
        ]
        for i in sorted(candidates, reverse=True)[:3]:
            row = self.rows[i]
            try:
                # No idempotency key: the row's key would be answered from the server's store
                # without applying anything, hence without a rebuild. Absolute, so safe.
                result = await _send(self.client, row, no_build=False, key=None)
            except ApiError as exc:
                logger.warning("rebuild recovery with a resent row failed: %s", exc)
                continue
            if not result.replayed:
                return i
        return None


async def push_counts(
    client: VendorApiClient,
    rows: Iterable[CountRow],
    *,
    concurrency: int | None = None,
    no_build: bool = True,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    cancel: asyncio.Event | None = None,
    on_result: Callable[[int, RowResult], None] | None = None,
    rebuild: bool = True,
    held: dict[tuple[str, str], ApiError | None] | None = None,
) -> PushReport:
    """Push ``rows``; never raises ``ApiError`` for a row — each outcome is in the report.

    ``rebuild=False`` sends every row with ``no_build=true`` and no final rebuild request.

    ``no_build=True`` (single-rebuild mode) sends all rows but one with ``no_build=true`` and
    the last one alone afterwards. ``no_build=False`` lets every accepted row rebuild.
    ``concurrency``: requests in flight; ``None`` chooses it from the observed latency and the
    rate limit (``ratelimit.ConcurrencyGate``).
    Setting ``cancel`` stops scheduling rows (in-flight requests finish); unsent rows are
    reported ``cancelled`` and no further request is made.
    ``on_result(index, result)`` is called as each row's outcome is known (the outbox marks
    rows as they land, so a crash mid-push loses no acknowledged row).
    ``held``: cells whose earlier row may still land, kept across calls by a caller sending
    one push in several calls; their rows are not sent (``cancelled``), and cells held by
    this call are added to it.
    """
    # A row without a key (not from the outbox) gets a fresh one, kept for its retries and in
    # the report; "" sends none.
    row_list = [r if r.key is not None else r.with_key(uuid.uuid4().hex) for r in rows]
    push = _Push(client, row_list, concurrency, no_build, on_progress, cancel, on_result, held)
    if not row_list:
        return PushReport([], False, 0.0)
    final = _final_index(row_list, push.last_of_pair) if no_build and rebuild else None
    await push.run_pool(push.work_items(final), no_build=no_build)

    rebuild_row: int | None = None
    if not rebuild:
        pass
    elif final is None:
        rebuild_row = next((i for i, r in sorted(push.accepted.items()) if not r.replayed), None)
    elif not push.stopping() and row_list[final].cell in push.held:
        # Its pair stopped at a row that may still land: sending this one now would overtake
        # it. It stays unsent (``cancelled``); another accepted row carries the rebuild.
        push.record(final, "cancelled", push.held[row_list[final].cell])
        rebuild_row = await push.recover_rebuild(final)
    elif not push.stopping():
        await push.send_row(final, no_build=False)
        accepted = push.accepted.get(final)
        if accepted is not None and not accepted.replayed:
            rebuild_row = final
        else:
            rebuild_row = await push.recover_rebuild(final)
    for i, result in enumerate(push.results):
        if result is None:
            push.results[i] = RowResult(row_list[i], "cancelled", push.aborted_by)
    return PushReport(
        results=[r for r in push.results if r is not None],
        rebuild_triggered=rebuild_row is not None,
        elapsed=time.monotonic() - push.started,
        rebuild_row=row_list[rebuild_row] if rebuild_row is not None else None,
        cancel_requested=cancel is not None and cancel.is_set(),
        aborted_by=push.aborted_by,
    )
