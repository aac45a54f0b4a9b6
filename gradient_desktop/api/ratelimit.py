"""Client-side token bucket: keeps one client (= one token) under Gradient's 100 requests/s.

Reservation style: ``acquire`` takes a token at once, letting the balance go negative, and
sleeps until that debt is repaid. Callers are thus served in arrival order with no lock and
no busy loop, and in any one-second window at most ``burst + rate`` requests are *planned*.

Planned is not sent: a late wake-up (a busy event loop, a starved process) releases several
planned starts at once. Measured (bench/push.py, 64 in flight, a loaded 2-core machine): up
to 99 sends in one second at 90/s with a burst of 5, and 429s from the sandbox. So ``acquire``
also holds the *actual* send instants to ``rate`` in any one-second window, the way a server
counting arrivals sees them. On a loop that keeps up this never waits.

The rate adapts to what the server accepts (AIMD): a 429 means the token's real limit is lower
than ours (another client shares the token, or the server's limit is not the documented 100/s).
The request refused was the n-th we sent within one second, so the server's limit is below n:
the rate drops to 95 % of that estimate (a multiplicative cut, at most once per second, one
cut per episode however many workers see it) and climbs back additively — fast up to 97 % of
the estimate, slowly beyond, probing whether the limit went up — to the configured rate once
429s stop. Against a 60/s server this holds ~57-60/s with a 429 every ~10 s instead of a
sawtooth through the full ``Retry-After`` pause on every second of the push.

:class:`ConcurrencyGate` chooses how many requests a bulk push keeps in flight: by Little's law
``in flight = rate × latency``, so from the observed latency (median of the latest request
durations, fed by the client) and the current rate, plus 30 % headroom — 27 at 200 ms and
97/s, 4 on a fast LAN — instead of a fixed 16, which caps a 200 ms link at 80/s.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]

#: Multiplicative cut on a 429, applied to the estimated server limit.
BACKOFF = 0.95
#: Additive increase (requests/s gained per second without a 429): fast below ``FAST_UP_TO`` of
#: the estimated limit, slow beyond it (probing), unbounded estimate: fast.
FAST_STEP, PROBE_STEP, FAST_UP_TO = 4.0, 0.2, 0.97
#: The rate never adapts below this (a 429 storm must not stall a push for good).
MIN_RATE = 1.0
#: A 429 on a request that was at least this share of the configured rate within its second is
#: taken as the server's clock bunching our sends, not as a lower limit (``throttled``).
NEAR_CAP = 0.9
#: Request durations spreading less than this are a steady link: a 429's second is not widened
#: (see ``TokenBucket.throttled``), so a real limit is learned exactly.
JITTER_FLOOR = 0.05


class TokenBucket:
    """Async token bucket shared by every call of one ``VendorApiClient``.

    ``rate=None`` disables the throughput limit but still honours :meth:`pause` (a server
    ``Retry-After`` applies to the whole token, not just the request that received it).
    """

    def __init__(
        self,
        rate: float | None,
        burst: int = 5,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive or None")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = rate
        #: The configured rate: the adaptive rate never exceeds it.
        self.max_rate = rate
        #: Estimated server limit (requests/s) from the last 429; None until one is seen.
        self.limit_estimate: float | None = None
        self.throttled_count = 0
        self._last_cut = -math.inf
        self._last_grow: float | None = None
        #: Durations of the latest requests (seconds), fed by the client; see ``latency``.
        self._durations: deque[float] = deque(maxlen=64)
        self._latency: float | None = None
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._last = clock()
        self._paused_until = 0.0
        #: Sends allowed in any one-second window of actual send instants (see module doc).
        self._window = max(1, math.floor(rate)) if rate is not None else None
        self._sent: deque[float] = deque()
        #: Send instants of the last three seconds: a 429 answered late is matched to the
        #: (widened, see ``throttled``) second before its own send.
        self._recent: deque[float] = deque()

    def _refill(self, now: float) -> None:
        if self.rate is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def _grow(self, now: float) -> None:
        """Additive increase since the last call (see module doc)."""
        last, self._last_grow = self._last_grow, now
        rate, top = self.rate, self.max_rate
        if rate is None or top is None or rate >= top or last is None:
            return
        dt = now - last
        est = self.limit_estimate
        knee = top if est is None else min(top, FAST_UP_TO * est)
        if rate < knee:  # fast up to the knee, then the rest of dt at the probing pace
            fast = min(dt, (knee - rate) / FAST_STEP)
            rate += FAST_STEP * fast
            dt -= fast
        self.rate = rate = min(top, rate + PROBE_STEP * dt)
        self._window = max(1, math.floor(rate))

    def reserve(self) -> float:
        """Take one token now; return how long the caller must wait before sending."""
        now = self._clock()
        self._grow(now)
        self._refill(now)
        wait = self._paused_until - now
        if self.rate is not None:
            self._tokens -= 1.0
            if self._tokens < 0:
                wait = max(wait, -self._tokens / self.rate)
        return max(0.0, wait)

    async def acquire(self) -> float:
        """Wait for a slot; return the seconds waited (0 on the fast path, no suspension)."""
        wait = self.reserve()
        if wait > 0:
            await self._sleep(wait)
        if self._window is None:
            return wait
        sent = self._sent
        while True:
            # No await between the check and the append: the slot is this caller's.
            now = self._clock()
            while sent and sent[0] <= now - 1.0:
                sent.popleft()
            if len(sent) < self._window:
                sent.append(now)
                recent = self._recent
                recent.append(now)
                while recent[0] <= now - 3.0:
                    recent.popleft()
                return wait
            extra = sent[0] + 1.0 - now
            await self._sleep(extra)
            wait += extra

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` (server asked to slow down)."""
        if seconds <= 0:
            return
        now = self._clock()
        self._refill(now)
        if self.rate is not None:
            # Turn the pause into debt: callers then resume spaced at `rate`, instead of
            # all waking at the same instant and re-triggering the server's limit. `min`, not
            # a sum: sixteen workers hit by the same 429 must not pause sixteen times over.
            self._tokens = min(self._tokens, -seconds * self.rate)
        self._paused_until = max(self._paused_until, now + seconds)

    def throttled(self, sent_at: float, hold: float = 0.0) -> None:
        """The server refused (429) a request sent at ``sent_at`` and asked to wait ``hold``
        seconds (its ``Retry-After``): cut the rate (AIMD).

        The refused request itself waits ``hold`` before its retry (the retry policy). The
        whole token is held too when there is no rate to cut, or when ``hold`` is longer than
        the one-second window of the documented limit (the server wants more than a slower
        pace). A hold of up to one second is what the rest of a full window takes to drain:
        the cut rate already keeps the next window under the limit, and freezing every worker
        for it cost a 60/s-limited push ~40 % of its time (one freeze per probe).
        """
        self.throttled_count += 1
        if self.rate is None or self.max_rate is None or hold > 1.0:
            self.pause(hold)
        if self.rate is None or self.max_rate is None:
            return
        now = self._clock()
        if now - self._last_cut < 1.0:
            return  # same episode: the workers in flight saw the same full window
        self._last_cut = now
        # It was the n-th of our sends within one second: the server allows fewer than n. But
        # the server counts *arrivals*, and the instants recorded here are taken before the
        # request waits for a connection and the loop's turn to write it: on a loaded machine
        # requests recorded over more than a second reach the server within one. Bench runs
        # (issue 16) learned 70-79/s from a 100/s server that way — n counted 71 of our sends
        # while the server had 100 in its second — and every later 429 ratcheted the limit
        # lower (90.7 instead of ≥ 92 req/s). So the second is widened by how unevenly
        # requests travel now (``jitter``): on a steady link it stays a second (a real limit is
        # learned exactly); behind a stall it is wider, and the cut is a plain 5 %.
        n = sum(1 for t in self._recent if sent_at - 1.0 - self.jitter < t <= sent_at)
        self._refill(now)
        if n - 1 >= NEAR_CAP * self.max_rate:
            # Refused at (nearly) our own configured rate, a few percent under the documented
            # limit: the server's second held a few more of our requests than our clock's did
            # (the loop's scheduling shifts each send by milliseconds; 3 % of slack at 97/s
            # is 31 ms). That is no evidence of a lower limit: a plain cut, fast back to just
            # under our own rate, then the slow probe (fewer 429s than straight back to it).
            # Learning n-1 here instead ratcheted the limit down with every such 429 — 96,
            # 92, 87 in one bench push — and cost the push 5-10 % (issue 16).
            self.limit_estimate = float(self.max_rate)
            self.rate = max(MIN_RATE, self.rate * BACKOFF)
        else:
            estimate = float(n - 1) if n > 1 else self.rate * 0.8
            self.limit_estimate = max(MIN_RATE, estimate)
            self.rate = max(MIN_RATE, min(self.rate, self.limit_estimate) * BACKOFF)
        self._window = max(1, math.floor(self.rate))
        self._last_grow = now

    def observe(self, seconds: float) -> None:
        """One request took ``seconds`` (send to answer; the client leaves 429s out: a refusal
        is answered before the work a served request waits for): feeds ``latency`` and
        ``jitter``."""
        if seconds < 0:
            return
        self._durations.append(seconds)
        self._latency = None

    @property
    def jitter(self) -> float:
        """How unevenly requests travel now: the spread (90th - 10th percentile) of the last
        64 request durations, at most a second; 0 below ``JITTER_FLOOR`` or before ten are
        known."""
        if len(self._durations) < 10:
            return 0.0
        ordered = sorted(self._durations)
        spread = ordered[(9 * len(ordered)) // 10] - ordered[len(ordered) // 10]
        return min(1.0, spread) if spread >= JITTER_FLOOR else 0.0

    @property
    def latency(self) -> float | None:
        """Median duration of the last 64 requests (None before the first). The median, not
        the mean: a stalled server's tail would otherwise raise the concurrency exactly when
        more requests in flight only bunch up into 429s."""
        if self._latency is None and self._durations:
            self._latency = statistics.median(self._durations)
        return self._latency


class ConcurrencyGate:
    """How many requests a bulk push keeps in flight, from Little's law (see module doc).

    Workers call ``async with gate:`` around each request. ``fixed`` pins the limit (a caller's
    explicit choice); otherwise it follows ``rate × latency × HEADROOM`` within
    ``[minimum, maximum]``, recomputed as requests complete.
    """

    HEADROOM = 1.3

    def __init__(
        self,
        bucket: TokenBucket,
        *,
        fixed: int | None = None,
        # Never fewer in flight than the fixed default this gate replaced: with 4, a burst of
        # ten 503s fell on the same few rows, which used up their retries (fault matrix, "5xx
        # bursts"). The rate limiter, not the gate, keeps a fast server under its limit.
        minimum: int = 16,
        maximum: int = 64,
        unlimited_rate: float = 200.0,
    ) -> None:
        self._bucket = bucket
        self._fixed = fixed
        self._min, self._max = max(1, minimum), max(1, maximum)
        #: Rate assumed when the client has no limiter (``rate_limit_per_s=None``).
        self._unlimited_rate = unlimited_rate
        self._active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.peak = 0

    @property
    def limit(self) -> int:
        if self._fixed is not None:
            return max(1, self._fixed)
        latency = self._bucket.latency
        if latency is None:
            return self._min  # nothing measured yet: start small, grow with the first answers
        rate = self._bucket.rate if self._bucket.rate is not None else self._unlimited_rate
        wanted = math.ceil(rate * latency * self.HEADROOM) + 1
        return max(self._min, min(self._max, wanted))

    async def __aenter__(self) -> None:
        if self._active >= self.limit or self._waiters:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                await fut
            except BaseException:
                if not fut.cancelled() and fut.done():
                    self._release()  # woken and cancelled at once: pass the slot on
                elif fut in self._waiters:
                    self._waiters.remove(fut)
                raise
        else:
            self._active += 1
        self.peak = max(self.peak, self._active)

    async def __aexit__(self, *exc_info: object) -> None:
        self._release()

    def _release(self) -> None:
        self._active -= 1
        limit = self.limit
        while self._waiters and self._active < limit:
            fut = self._waiters.popleft()
            if not fut.done():
                self._active += 1
                fut.set_result(None)
