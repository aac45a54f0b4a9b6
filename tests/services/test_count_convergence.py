"""Property: any sequence of set/add/subtract batches, sent through the real outbox, push service
and bulk sender against a server that applies absolute sets and may lose any answer, refuse a
row, or die mid-push (a restart), converges to the totals of applying the accepted rows once,
in order, with the floor at 0.

The server is an in-process fake with the real client's method shape (``set_count``), so one
example runs in milliseconds; the same path over a real socket and real kills is
tests/reliability/test_crash_base_url.py. The fake has no idempotency store and no delta
routes: correctness must come from the absolute sets alone.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradient_desktop.api import ClientOptions, CountResult, OutcomeUnknownError, ValidationError
from gradient_desktop.api.ratelimit import TokenBucket
from gradient_desktop.counts import CountRow
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.services.push import PushService
from gradient_desktop.store import UnknownTotalError, open_database
from tests.reliability.helpers import FULL, fold

CELLS = [("svc-a", "acc-1"), ("svc-a", "acc-2"), ("svc-b", "acc-1")]
OUTCOMES = ["ok", "ok", "ok", "lost_after_apply", "lost_before_apply", "reject", "crash"]


class _Crash(BaseException):
    """The process dies mid-push (not an Exception: nothing may catch and carry on)."""


class FakeGradient:
    """Applies absolute sets; each call's fate is drawn by the test."""

    def __init__(self, draw: Any) -> None:
        self.counts: dict[tuple[str, str], float] = {}
        self.draw = draw
        self.calm = False  # the final drain: every answer arrives
        self.applied: set[tuple[str, str, float]] = set()
        self.refused: set[tuple[str, str, float]] = set()
        # What push_counts reads of a real client: its rate limiter (no limit here) and the
        # options that bound requests in flight.
        self.limiter = TokenBucket(None)
        self.options = ClientOptions()

    async def set_count(
        self, service_id: str, account_id: str, unit_count: float, **_: Any
    ) -> CountResult:
        await asyncio.sleep(0)
        fate = "ok" if self.calm else self.draw(st.sampled_from(OUTCOMES))
        # A refusal is about the request itself: one Gradient applied once is not refused later.
        if fate == "reject" and (service_id, account_id, unit_count) not in self.applied:
            self.refused.add((service_id, account_id, unit_count))
        if (service_id, account_id, unit_count) in self.refused:
            raise ValidationError("refused", status=400)
        if fate == "lost_before_apply":
            raise OutcomeUnknownError("no answer", status=None)
        self.counts[(service_id, account_id)] = unit_count
        self.applied.add((service_id, account_id, unit_count))
        if fate == "lost_after_apply":
            raise OutcomeUnknownError("no answer", status=502)
        if fate == "crash":
            raise _Crash
        return CountResult(201)

    async def add_count(self, *args: Any, **kwargs: Any) -> CountResult:
        raise AssertionError("a delta was sent: no PATCH count route exists")

    subtract_count = add_count


row = st.tuples(
    st.sampled_from(CELLS),
    st.sampled_from(["set", "add", "subtract"]),
    st.integers(min_value=1, max_value=30).map(float),
)
batches = st.lists(st.lists(row, min_size=1, max_size=6), min_size=1, max_size=6)


@settings(
    max_examples=300 if FULL else 100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batches=batches, data=st.data())
def test_any_sequence_with_lost_answers_and_restarts_converges(batches: list, data: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "gd.sqlite3"
        server = FakeGradient(data.draw)
        ctx = AppContext(open_database(db_path))
        directory = PartnerDirectory(ctx)
        profile = directory.save_profile("P", "http://127.0.0.1:9")
        partner = directory.add("Partner", profile, None, base_url="http://127.0.0.1:9")
        queued: list[tuple[str, str, float, str]] = []
        for batch in batches:
            rows = [CountRow(s, a, n, op) for (s, a), op, n in batch]
            try:
                PushService(ctx).enqueue(partner, rows)
            except UnknownTotalError:
                continue  # refused whole: nothing of it may reach the server
            queued += [(r.service_id, r.account_id, r.unit_count, r.op) for r in rows]
            if data.draw(st.booleans()):
                ctx = _push(ctx, db_path, partner, server)
        server.calm = True
        for _ in range(len(queued) + 2):  # each push settles at least one row per held pair
            if not PushService(ctx).pending(partner):
                break
            ctx = _push(ctx, db_path, partner, server)
        assert PushService(ctx).pending(partner) == 0
        states = [i.state for i in _all_rows(ctx, partner.id)]
        ctx.close()
    assert len(states) == len(queued)
    # Rows the server refused (or that could not be sent because of a refusal before them)
    # changed nothing; every other row counts exactly once, in order, floored at 0.
    landed = [r for r, state in zip(queued, states, strict=True) if state == "sent"]
    assert set(states) <= {"sent", "failed"}
    expected = fold(landed)
    assert server.counts == {k: v for k, v in expected.items() if k in server.counts}
    assert set(expected) <= set(server.counts)


def _push(ctx: AppContext, db_path: Path, partner: Any, server: FakeGradient) -> AppContext:
    """One push; a crash ends the 'process' and a new context reopens the same database."""

    async def run() -> None:
        await PushService(ctx).run(partner, client=server, concurrency=2)  # type: ignore[arg-type]

    try:
        asyncio.run(run())
        return ctx
    except _Crash:
        ctx.db.close()
        return AppContext(open_database(db_path))


def _all_rows(ctx: AppContext, partner_id: int | None) -> list[Any]:
    from sqlalchemy import select

    from gradient_desktop.store.models import OutboxEntry

    t = OutboxEntry.__table__
    with ctx.db.read() as conn:
        return list(
            conn.execute(select(t.c.state).where(t.c.partner_id == partner_id).order_by(t.c.id))
        )
