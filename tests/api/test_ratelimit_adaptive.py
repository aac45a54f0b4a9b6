"""The limiter adapts to 429s (AIMD) and the bulk push chooses its concurrency by Little's law.

Deterministic: a fake clock drives ``TokenBucket``; the gate is exercised with real asyncio
tasks; one push against a real sandbox limiting at 20/s checks the whole path lands every row
and learns the limit. No timing thresholds.
"""

from __future__ import annotations

import asyncio
import math

import pytest

from bench.sandbox_proc import add_push_partner
from gradient_desktop.api import ClientOptions, CountRow, Credentials, VendorApiClient, push_counts
from gradient_desktop.api.ratelimit import BACKOFF, FAST_UP_TO, ConcurrencyGate, TokenBucket
from gradient_desktop.sandbox.seed import VENDOR_KEY


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def sends(bucket: TokenBucket, clock: FakeClock, n: int, gap: float) -> None:
    """``n`` sends ``gap`` seconds apart, recorded as the limiter would (no waiting)."""

    async def run() -> None:
        for _ in range(n):
            await bucket.acquire()
            clock.now += gap

    asyncio.run(run())


def test_a_429_cuts_the_rate_below_what_the_server_accepted_once_per_episode() -> None:
    clock = FakeClock()

    async def no_sleep(_: float) -> None:
        return None

    bucket = TokenBucket(97, clock=clock, sleep=no_sleep)
    sends(bucket, clock, 80, 1 / 80)  # 80 sends in the last second
    refused_at = clock.now - 1 / 80
    bucket.throttled(refused_at, 1.0)
    # The 80th send was refused, so the server allows at most 79 in a second.
    assert bucket.limit_estimate == 79
    assert bucket.rate == 79 * BACKOFF
    assert bucket._paused_until <= clock.now  # a 1 s Retry-After does not freeze the token
    bucket.throttled(refused_at, 1.0)  # another worker's 429 from the same full window
    assert bucket.rate == 79 * BACKOFF and bucket.throttled_count == 2


def test_a_429_behind_uneven_travel_times_cuts_the_rate_without_learning_a_low_limit() -> None:
    """Issue 16: on a loaded machine requests recorded over more than a second reach the
    server within one; a 429 then said nothing about the server's limit, and learning n-1 from
    it ratcheted a 100/s server down to 70-79/s. Behind uneven travel times (request durations
    spreading 0.6 s here) the second is widened: a plain 5 % cut, then back to full speed."""

    async def no_sleep(_: float) -> None:
        return None

    def refused_after_a_stall(durations: list[float]) -> TokenBucket:
        clock = FakeClock()
        bucket = TokenBucket(97, clock=clock, sleep=no_sleep)
        for d in durations:
            bucket.observe(d)
        sends(bucket, clock, 97, 1 / 97)  # a full second at 97/s...
        sends(bucket, clock, 70, 1 / 70)  # ...then the loop lagged: 70 recorded in the next
        bucket.throttled(clock.now - 1 / 70, 1.0)
        return bucket

    uneven = refused_after_a_stall([0.2] * 32 + [0.8] * 32)
    assert uneven.jitter == pytest.approx(0.6)
    assert uneven.limit_estimate == 97  # no lower limit learned: a plain cut
    assert uneven.rate == pytest.approx(97 * BACKOFF)
    steady = refused_after_a_stall([0.2] * 64)  # a steady link: the exact second
    # (70 sends in it, 71 if the float sum puts the first batch's last one inside)
    assert steady.jitter == 0 and steady.limit_estimate in (69, 70)
    assert steady.rate is not None and steady.rate < 70 * BACKOFF + 1e-9


def test_a_429_at_our_own_rate_is_a_plain_cut_not_a_lower_limit() -> None:
    """Refused with 96 sends in the second at 97/s (3 % under the documented 100/s): the
    server's second held a few more of them than ours did. A 5 % cut, fast back to just under
    our own rate, instead of learning 95/s and lowering it again at every such 429 (issue 16)."""
    clock = FakeClock()

    async def no_sleep(_: float) -> None:
        return None

    bucket = TokenBucket(97, clock=clock, sleep=no_sleep)
    sends(bucket, clock, 96, 1 / 97)
    bucket.throttled(clock.now - 1 / 97, 1.0)
    assert bucket.limit_estimate == 97 and bucket.rate == pytest.approx(97 * BACKOFF)
    clock.now += 1.5
    bucket.reserve()
    assert bucket.rate == pytest.approx(97 * FAST_UP_TO, abs=0.5)  # fast to just under it
    clock.now += 20
    bucket.reserve()
    assert bucket.rate == 97  # and the slow probe brings it back
    # Refused well under our rate (another client shares the token): that limit is learned.
    sends(bucket, clock, 70, 1 / 70)
    bucket.throttled(clock.now - 1 / 70, 1.0)
    assert bucket.limit_estimate is not None and bucket.limit_estimate < 72


def test_the_rate_recovers_to_the_configured_rate_once_429s_stop() -> None:
    clock = FakeClock()
    bucket = TokenBucket(97, clock=clock)
    sends(bucket, clock, 61, 1 / 61)
    bucket.throttled(clock.now, 1.0)
    low = bucket.rate
    assert low is not None and low < 60
    rates = []
    for _ in range(600):  # ten minutes without a 429, one reservation a second
        clock.now += 1.0
        bucket.reserve()
        rates.append(bucket.rate)
    assert rates == sorted(rates)  # only ever climbs
    assert rates[-1] == 97  # back at the configured rate, never above it
    # It first climbs fast to just under the limit it learned, then probes slowly past it.
    assert rates[1] < 60 * 1.0 and rates[5] > 0.95 * 60


def test_a_long_retry_after_still_holds_the_whole_token() -> None:
    clock = FakeClock()
    bucket = TokenBucket(97, clock=clock)
    bucket.throttled(clock.now, 5.0)
    assert bucket.reserve() >= 5.0
    unlimited = TokenBucket(None, clock=clock)
    unlimited.throttled(clock.now, 0.5)  # no rate to cut: the hold is all there is
    assert unlimited.reserve() == 0.5


def test_concurrency_follows_littles_law_within_bounds() -> None:
    bucket = TokenBucket(97)
    gate = ConcurrencyGate(bucket, maximum=64)
    assert gate.limit == 16  # nothing measured yet: the old fixed default
    for _ in range(64):
        bucket.observe(0.2)
    assert gate.limit == math.ceil(97 * 0.2 * ConcurrencyGate.HEADROOM) + 1
    for _ in range(64):
        bucket.observe(0.002)  # a fast LAN: the minimum
    assert gate.limit == 16
    for _ in range(64):
        bucket.observe(5.0)
    assert gate.limit == 64
    assert ConcurrencyGate(bucket, fixed=16).limit == 16


def test_the_gate_never_lets_more_than_its_limit_in_flight() -> None:
    async def main() -> tuple[int, int]:
        bucket = TokenBucket(None)
        gate = ConcurrencyGate(bucket, fixed=5)
        inflight = peak = 0

        async def work() -> None:
            nonlocal inflight, peak
            async with gate:
                inflight += 1
                peak = max(peak, inflight)
                await asyncio.sleep(0)
                inflight -= 1

        tasks = [asyncio.create_task(work()) for _ in range(40)]
        tasks[3].cancel()  # a cancelled waiter must not leak its slot
        await asyncio.gather(*tasks, return_exceptions=True)
        return peak, gate._active

    peak, active = asyncio.run(main())
    assert peak == 5 and active == 0


def test_a_push_against_a_20_per_second_server_lands_everything_and_learns_the_limit(
    sandbox_factory,
) -> None:
    sb = sandbox_factory(seed="demo", latency_ms=5, rate_limit=20)
    add_push_partner(sb.state, "adaptive", 40)

    async def main() -> tuple[int, int, float | None]:
        async with VendorApiClient(
            sb.base_url, Credentials(VENDOR_KEY, "adaptive"), ClientOptions()
        ) as client:
            skus = [s.id for s in (await client.get_vendor()).skus]
            rows = [CountRow(s, f"acc-{a}", 3) for a in range(40) for s in skus][:100]
            report = await push_counts(client, rows)
            return report.ok, len(rows), client.limiter.limit_estimate

    ok, n, estimate = asyncio.run(main())
    assert ok == n == 100
    assert sb.state.max_rps_seen("adaptive") <= 20
    # It was refused, and learned a limit at or under the server's.
    assert estimate is not None and estimate <= 20
