"""The app's qasync loop (``ui/qloop.py``) schedules like asyncio: FIFO callbacks, timers never
early and in deadline order, cancelled timers never run, cancelled timeouts do not pile up, and
one Qt timer serves them all. Runs on the session's loop (``qloop``), as the app has one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gradient_desktop.ui.qloop import QEventLoop

pytestmark = pytest.mark.gui


def test_the_app_uses_the_scheduling_loop(qloop: Any) -> None:
    assert isinstance(qloop, QEventLoop)


def test_call_soon_runs_in_order_and_timers_never_early(qloop: Any) -> None:
    seen: list[Any] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for i in range(50):
            loop.call_soon(seen.append, i)
        late: list[float] = []
        for delay in (0.03, 0.0004, 0.011, 0.0):
            when = loop.time() + delay
            loop.call_at(when, lambda w=when: late.append(loop.time() - w))
        done = loop.create_future()
        loop.call_later(0.05, done.set_result, None)
        await done
        seen.append(late)

    qloop.run_until_complete(main())
    assert seen[:50] == list(range(50))
    lates = seen[50]
    assert len(lates) == 4 and all(d >= 0 for d in lates)


def test_timers_fire_in_deadline_order_and_cancelled_ones_never(qloop: Any) -> None:
    order: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(0.02, order.append, "c")
        loop.call_later(0.005, order.append, "a")
        dropped = loop.call_later(0.01, order.append, "never")
        loop.call_later(0.012, order.append, "b")
        dropped.cancel()
        await asyncio.sleep(0.04)

    qloop.run_until_complete(main())
    assert order == ["a", "b", "c"]


def test_cancelled_timeouts_are_dropped_not_accumulated(qloop: Any) -> None:
    async def main() -> int:
        for _ in range(500):  # as every HTTP request does: a timeout set, then cancelled
            async with asyncio.timeout(60):
                await asyncio.sleep(0)
        await asyncio.sleep(0.002)
        return len(qloop._scheduler._heap)

    assert qloop.run_until_complete(main()) < 120


def test_wait_for_timeout_and_exceptions_in_callbacks(qloop: Any) -> None:
    errors: list[dict[str, Any]] = []

    async def main() -> bool:
        loop = asyncio.get_running_loop()
        old = loop.get_exception_handler()
        loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
        try:
            loop.call_soon(lambda: 1 / 0)  # reported, and the loop carries on
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(asyncio.sleep(10), 0.02)
            return True
        finally:
            loop.set_exception_handler(old)

    assert qloop.run_until_complete(main())
    assert len(errors) == 1 and isinstance(errors[0]["exception"], ZeroDivisionError)
