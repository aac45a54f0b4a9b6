"""Fault matrix: a bad network and a bad server, one fault at a time, never lose a count.

Each scenario pushes ``N`` counts (1,000; ``GD_FULL=1`` → 5,000) of mixed set/add/subtract
rows through the fault proxy (``fault_proxy.py``) and/or the sandbox's own fault switches,
twice: once with the bare bulk helper ``push_counts`` and once through the outbox-backed
``PushService``. Every scenario must end with

* every count on the sandbox equal to the fold of the rows (no add/subtract lost or doubled),
* exactly one billing rebuild,
* the user told what happened (report fields, the summary text, an error sentence when the
  push had to stop).

Retries are counted at the proxy (a keyed write seen again). The table is printed at the end
of the run (see ``conftest.py``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.api import (
    ApiError,
    CountRow,
    Credentials,
    PushReport,
    VendorApiClient,
    push_counts,
)
from gradient_desktop.sandbox.seed import VENDOR_KEY
from gradient_desktop.sandbox.server import SandboxServer
from tests.reliability.fault_proxy import Fault, FaultPlan, FaultProxy, RequestInfo
from tests.reliability.helpers import (
    MATRIX,
    MatrixRow,
    Row,
    accounts_for,
    add_partner,
    fast_options,
    fold,
    make_context,
    mixed_rows,
    new_partner,
    run_service,
    sized,
    wrong_counts,
)

pytestmark = pytest.mark.slow

N = sized(1_000, 5_000)
RATE = 0.03  # share of requests hit by a random fault


@dataclass(frozen=True)
class Scenario:
    """One fault: a proxy plan and/or sandbox switches; ``outage`` ends when the push gives up."""

    name: str
    plan: Callable[[int], FaultPlan] = field(default=lambda seed: FaultPlan.none())
    sandbox: dict[str, Any] = field(default_factory=dict)
    outage: bool = False
    read_timeout: float = 2.0
    #: False for scenarios whose fault the proxy/sandbox do not count (plain latency).
    injects: bool = True
    #: (seconds, sandbox option changes) applied while the push runs, e.g. a limit relaxing.
    later: tuple[float, dict[str, Any]] | None = None


def _random(kind: str, rate: float = RATE, **kw: Any) -> Callable[[int], FaultPlan]:
    return lambda seed: FaultPlan.random(seed=seed, rate=rate, fault=Fault(kind, **kw))


def _outage(seed: int) -> FaultPlan:
    start = N // 4

    def decide(r: RequestInfo) -> Fault:
        return Fault("status", status=503) if r.index >= start else Fault()

    return FaultPlan(decide)


SCENARIOS = [
    Scenario("none (baseline)", injects=False),
    Scenario(
        "latency spikes 0.2-1.5 s (5 %)",
        lambda seed: FaultPlan.spikes(seed=seed, rate=0.05, low=0.2, high=1.5),
    ),
    Scenario("sandbox latency 25 ms", sandbox={"latency_ms": 25}, injects=False),
    Scenario(
        "5xx bursts (10 × 503 every 150)",
        lambda seed: FaultPlan.bursts(
            every=150, length=10, start=40, fault=Fault("status", status=503)
        ),
    ),
    Scenario("503 before processing (sandbox, 5 %)", sandbox={"fail_rate": 0.05}),
    Scenario("500 after applying (sandbox, 5 %)", sandbox={"fail_after_apply_rate": 0.05}),
    # A 20 rps limit for the first 1.5 s makes a 429 storm certain on any machine; then 150.
    Scenario(
        "429 with Retry-After (20, then 150 rps)",
        sandbox={"rate_limit": 20},
        later=(1.5, {"rate_limit": 150}),
    ),
    Scenario(
        "429 without Retry-After (20, then 150 rps)",
        sandbox={"rate_limit": 20, "retry_after": False},
        later=(1.5, {"rate_limit": 150}),
    ),
    Scenario(
        "429 bursts, Retry-After: 1 (proxy)",
        lambda seed: FaultPlan.bursts(
            every=400,
            length=12,
            start=100,
            fault=Fault("status", status=429, headers=(("Retry-After", "1"),)),
        ),
    ),
    Scenario("connection reset mid-request (3 %)", _random("reset_before")),
    Scenario("connection reset after applying (3 %)", _random("reset_after")),
    Scenario("truncated body (3 %)", _random("truncate")),
    Scenario("non-JSON 502 page (3 %)", _random("status", status=502)),
    Scenario("non-JSON 200 captive portal (3 %)", _random("captive")),
    Scenario("non-JSON 200 after applying (3 %)", _random("garbled")),
    Scenario("accept, then hang (1 %)", _random("hang_before", rate=0.01), read_timeout=1.0),
    Scenario("apply, then hang (1 %)", _random("hang_after", rate=0.01), read_timeout=1.0),
    Scenario("outage: 503 until the push gives up", _outage, outage=True),
]


@pytest.fixture
def world(
    sandbox_factory: Callable[..., SandboxServer], request: pytest.FixtureRequest
) -> Iterator[Any]:
    """(sandbox, partner key, SKU ids, proxy) for the scenario in ``request.param``."""
    scenario: Scenario = request.param
    options = {"rate_limit": None, **scenario.sandbox}
    sb = sandbox_factory(seed="demo", **options)
    key, skus = new_partner(sb.state, accounts_for(N))
    seed = sum(map(ord, scenario.name))
    timer = None
    if scenario.later is not None:
        delay, changes = scenario.later
        timer = threading.Timer(delay, sb.options.update, args=(changes,))
        timer.start()  # counted from set-up, a moment before the push starts
    try:
        with FaultProxy(sb.base_url, scenario.plan(seed)) as proxy:
            yield scenario, sb, key, skus, proxy, seed
    finally:
        if timer is not None:
            timer.cancel()


def _injected(sb: SandboxServer, proxy: FaultProxy) -> int:
    server_side = Counter(r["status"] for r in sb.state.requests())
    return proxy.stats.injected + sum(n for s, n in server_side.items() if s in (429, 500, 503))


def _user_sentence(error: ApiError | None) -> None:
    """An error the user sees is a sentence with a hint, never a traceback or a repr."""
    if error is None:
        return
    text = str(error)
    assert text and error.user_hint and error.user_hint in text
    assert "Traceback" not in text and "httpx." not in text and "<" not in text[:1]


def _record(
    path: str,
    scenario: Scenario,
    rows: int,
    ok: int,
    wrong: int,
    sb: SandboxServer,
    key: str,
    proxy: FaultProxy,
    runs: int,
    seconds: float,
    told: str,
) -> None:
    injected = _injected(sb, proxy)
    MATRIX.append(
        MatrixRow(
            path,
            scenario.name,
            rows,
            ok,
            wrong,
            proxy.stats.repeats,
            injected,
            sb.state.rebuilds(key),
            runs,
            seconds,
            told,
        )
    )
    if scenario.injects:  # a fault that never fired would make the scenario pass vacuously
        assert injected > 0, f"{scenario.name}: no fault was injected"


def _absolute(plan_rows: list[Row]) -> list[CountRow]:
    totals: dict[tuple[str, str], float] = {}
    out = []
    for s, a, c, op in plan_rows:
        old = totals.get((s, a), 0.0)
        totals[(s, a)] = c if op == "set" else old + c if op == "add" else max(0.0, old - c)
        out.append(CountRow(s, a, totals[(s, a)], "set"))
    return out


def _push(url: str, key: str, rows: list[CountRow], read_timeout: float) -> PushReport:
    async def main() -> PushReport:
        creds = Credentials(VENDOR_KEY, key)
        async with VendorApiClient(url, creds, fast_options(read_timeout)) as client:
            return await push_counts(client, rows, concurrency=16)

    return asyncio.run(main())


@pytest.mark.parametrize("world", SCENARIOS, indirect=True, ids=[s.name for s in SCENARIOS])
def test_push_counts_survives_the_fault_with_every_count_right_and_one_rebuild(world: Any) -> None:
    scenario, sb, key, skus, proxy, seed = world
    plan_rows: list[Row] = mixed_rows(skus, N, seed)
    # What the outbox hands push_counts: each add/subtract already turned into the absolute
    # total it must produce (the sandbox ignores idempotency keys, as Gradient may).
    rows = _absolute(plan_rows)
    started = time.monotonic()

    report = _push(proxy.base_url, key, rows, scenario.read_timeout)
    runs, told = 1, f"{report.ok} ok"
    if scenario.outage:
        # The push stops by itself and says why; the caller re-sends what did not land.
        assert report.aborted_by is not None, "an outage must stop the push early"
        _user_sentence(report.aborted_by)
        assert not report.rebuild_triggered and report.ok < N
        told = f"stopped: {type(report.aborted_by).__name__}; {report.ok} ok, re-sent rest"
        proxy.set_plan(FaultPlan.none())
        rest = [r.row for r in report.results if r.outcome != "ok"]
        second = _push(proxy.base_url, key, rest, scenario.read_timeout)
        assert second.ok == len(rest), second
        report = PushReport(
            [r for r in report.results if r.outcome == "ok"] + second.results,
            second.rebuild_triggered,
            report.elapsed + second.elapsed,
        )
        runs = 2
    elapsed = time.monotonic() - started

    wrong = wrong_counts(sb.state, key, fold(plan_rows))
    _record(
        "push_counts",
        scenario,
        N,
        report.ok,
        len(wrong),
        sb,
        key,
        proxy,
        runs,
        elapsed,
        told + (", rebuilt" if report.rebuild_triggered else ", NOT rebuilt"),
    )
    assert wrong == []
    assert (report.ok, report.failed, report.unknown, report.unmapped) == (N, 0, 0, 0)
    assert report.rebuild_triggered and not report.needs_rebuild
    assert sb.state.rebuilds(key) == 1
    for result in report.results:
        _user_sentence(result.error)


#: Known to fail until services/push.py keeps transiently failed rows queued (reported to the
#: lead): strict, so the fix turns this red until the marker is removed.
SERVICE_PARAMS = [pytest.param(s, id=s.name) for s in SCENARIOS]


@pytest.mark.parametrize("world", SERVICE_PARAMS, indirect=True)
def test_push_service_survives_the_fault_with_every_count_right_and_one_rebuild(
    world: Any, tmp_path: Path
) -> None:
    scenario, sb, key, skus, proxy, seed = world
    plan_rows: list[Row] = mixed_rows(skus, N, seed)
    ctx = make_context(tmp_path / "gd.sqlite3", scenario.read_timeout)
    try:
        partner = add_partner(ctx, proxy.base_url, key)
        from gradient_desktop.services.push import PushService

        batch = PushService(ctx).enqueue(partner, [CountRow(*r) for r in plan_rows], actor="test")
        started = time.monotonic()
        summary = run_service(ctx, partner, batch_id=batch)
        texts = [summary.text()]
        runs = 1
        if scenario.outage:
            assert summary.report.aborted_by is not None
            _user_sentence(summary.report.aborted_by)
            assert "Stopped early" in summary.text()
            proxy.set_plan(FaultPlan.none())
        # What the app does on its next push or start: resume whatever is still queued.
        while ctx.outbox.pending_count(partner.id) and runs < 4:
            summary = run_service(ctx, partner)
            texts.append(summary.text())
            runs += 1
        elapsed = time.monotonic() - started
        states = ctx.outbox.counts_by_state(partner.id)
        wrong = wrong_counts(sb.state, key, fold(plan_rows))
        sent = states.get("sent", 0)
        told = "; ".join(t.split(" in ")[0] for t in texts)
        _record(
            "PushService", scenario, N, sent, len(wrong), sb, key, proxy, runs, elapsed, told[:120]
        )
        assert wrong == []
        assert states == {"sent": N}, (states, texts)
        assert sb.state.rebuilds(key) == 1, texts
        assert f"{summary.report.ok} of {summary.report.total} counts landed" in texts[-1]
        assert "billing rebuilt once" in texts[-1]
        assert ctx.db.integrity_check() == ["ok"]
    finally:
        ctx.close()
