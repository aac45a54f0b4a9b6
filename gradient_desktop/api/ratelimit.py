"""Client-side token bucket: keeps one client (= one token) under Gradient's 100 requests/s.

Reservation style: ``acquire`` takes a token at once, letting the balance go negative, and
sleeps until that debt is repaid. Callers are thus served in arrival order with no lock and
no busy loop, and in any one-second window at most ``burst + rate`` requests are *planned*.

Planned is not sent: a late wake-up (a busy event loop, a starved process) releases several
planned starts at once. Measured (bench/push.py, 64 in flight, a loaded 2-core machine): up
to 99 sends in one second at 90/s with a burst of 5, and 429s from the sandbox. So ``acquire``
also holds the *actual* send instants to ``rate`` in any one-second window, the way a server
counting arrivals sees them. On a loop that keeps up this never waits.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]


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
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._last = clock()
        self._paused_until = 0.0
        #: Sends allowed in any one-second window of actual send instants (see module doc).
        self._window = max(1, math.floor(rate)) if rate is not None else None
        self._sent: deque[float] = deque()

    def _refill(self, now: float) -> None:
        if self.rate is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def reserve(self) -> float:
        """Take one token now; return how long the caller must wait before sending."""
        now = self._clock()
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
