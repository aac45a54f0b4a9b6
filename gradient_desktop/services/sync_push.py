"""The one place where a sync touches the count path: what the ledger knows, and "push these
rows for this partner through the outbox". Everything else in the sync (sources, routing,
diffing, concurrency, run records) goes through these two functions, so a change to the count
path (the outbox, its row and op types, the push service) is adapted here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gradient_desktop.api import AuthenticationError, ProgressEvent
from gradient_desktop.counts import Cell, CountRow
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.push import PushService
from gradient_desktop.store.models import Partner

#: Requests in flight per partner. The client's per-token limiter (90/s) must be what binds:
#: at Gradient-like latency (200 ms) 16 in flight would cap a token at 80/s.
SYNC_CONCURRENCY = 24


class CountsRefused(ValueError):
    """The outbox refused the partner's counts (nothing of them was queued); says why."""


@dataclass
class PartnerPush:
    sent: int
    landed: int
    unmapped: int
    failed: int
    unknown: int
    not_sent: int
    resumed: int
    rebuilt: bool
    message: str
    #: ``(account, service, outcome, error)`` of every row that did not land
    problems: list[tuple[str, str, str, str]]
    #: the partner's key was refused: its rows stay queued for a new key
    key_refused: bool = False


def known_totals(ctx: AppContext, partner: Partner) -> dict[Cell, float | None]:
    """``{(service, account): total}`` the server holds once every queued row has landed."""
    return PushService(ctx).projected_totals(partner.id or 0)


async def push_partner(
    ctx: AppContext,
    partner: Partner,
    counts: list[CountRow],
    *,
    actor: str,
    on_progress: Callable[[ProgressEvent], None] | None = None,
) -> PartnerPush:
    """Queue ``counts`` for ``partner`` in one outbox batch, then send every unfinished row of
    the partner with one billing rebuild (rows left by an earlier run ride along)."""
    service = PushService(ctx)
    # No database copy per partner: the sync makes one when every partner is done.
    run_args: dict[str, Any] = {
        "concurrency": SYNC_CONCURRENCY,
        "on_progress": on_progress,
        "backup": False,
    }
    if counts:
        try:
            # The count path's entry point: enqueue (adds resolved to absolute totals) + run.
            summary = await service.push(partner, counts, actor, **run_args)
        except ValueError as exc:  # UnknownTotalError: an add to a cell whose total is unknown
            raise CountsRefused(str(exc)) from None
    else:
        summary = await service.run(partner, **run_args)  # only rows left by an earlier run
    r = summary.report
    problems: list[tuple[str, str, str, str]] = [
        (x.row.account_id, x.row.service_id, x.outcome, str(x.error or "not mapped in Gradient"))
        for x in r.results
        if x.outcome in ("unmapped", "failed", "unknown")
    ]
    message = summary.text()
    if r.aborted_by is not None and not message.endswith(str(r.aborted_by)):
        message += f" {r.aborted_by}"
    return PartnerPush(
        sent=r.total,
        landed=r.ok,
        unmapped=r.unmapped,
        failed=r.failed + summary.not_sendable,
        unknown=r.unknown,
        not_sent=r.cancelled,
        resumed=summary.resumed,
        rebuilt=r.rebuild_triggered,
        message=message,
        problems=problems,
        key_refused=isinstance(r.aborted_by, AuthenticationError),
    )
