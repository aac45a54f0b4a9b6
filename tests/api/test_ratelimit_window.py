"""The client-side limiter holds *actual* send instants to its rate, even when wake-ups are late.

``TokenBucket.reserve`` plans starts at most ``burst + rate`` per second; a starved event loop
then releases several planned starts at once (bench/push.py saw 99 sends in a second at 90/s,
and 429s). ``acquire`` must still let at most ``rate`` through in any one-second window.
"""

from __future__ import annotations

import asyncio
import time

from gradient_desktop.api import TokenBucket
from tests.api.helpers import max_in_window


def test_late_wakeups_never_put_more_than_rate_sends_in_a_second() -> None:
    rate, callers = 20, 50
    calls = 0

    async def late_sleep(seconds: float) -> None:
        # Every third sleep wakes 0.3 s late, like a loop busy elsewhere: the planned starts
        # behind it then all fall due together.
        nonlocal calls
        calls += 1
        await asyncio.sleep(seconds + (0.3 if calls % 3 == 0 else 0.0))

    async def main() -> list[float]:
        bucket = TokenBucket(rate, burst=5, clock=time.monotonic, sleep=late_sleep)
        sends: list[float] = []

        async def caller() -> None:
            await bucket.acquire()
            sends.append(time.monotonic())  # no await in between: this is the send instant

        await asyncio.gather(*(caller() for _ in range(callers)))
        return sends

    sends = asyncio.run(main())
    assert len(sends) == callers
    assert max_in_window(sends) <= rate


def test_unlimited_bucket_does_not_wait() -> None:
    async def main() -> list[float]:
        bucket = TokenBucket(None)
        return [await bucket.acquire() for _ in range(1000)]

    assert set(asyncio.run(main())) == {0.0}
