"""qasync's event loop with asyncio's own scheduling: one Qt timer instead of one per callback.

Why: qasync 0.28 turns every ``call_soon`` and ``call_later`` into a Qt timer of its own
(``startTimer(int(delay * 1000))``, a coarse timer, killed after it fires). Profiling a 2,000-row
push from the Usage page (``python -m bench --only guipush``, cProfile of the child) showed what
that costs: each hop of a request (socket ready → transport → future → task) waits for a further
pass of Qt's event loop, a request resumes ~1.3× as often as under plain asyncio, and httpcore's
pool, whose waiting requests are woken late, loses the race for the connection it was given
(``ConnectionNotAvailable``, re-queued): ~2× as many pool scans, each checking every connection
with a ``getpeername`` syscall. The truncation to whole milliseconds also wakes sleepers early
(``asyncio.sleep(0.0009)`` returns at once).

Here, like ``asyncio.BaseEventLoop._run_once``: ready callbacks go to a FIFO queue, timed ones to
a heap, and a single precise ``QTimer`` drains everything that is due in one Qt event — armed at
0 ms while anything is ready, else at the nearest deadline rounded *up* to the millisecond, so
nothing runs before its time. Socket notifiers, signals and ``call_soon_threadsafe`` are qasync's
unchanged (they all end in ``call_soon``).
"""

from __future__ import annotations

import asyncio
import heapq
import math
import os
from collections import deque
from typing import Any

os.environ.setdefault("QT_API", "pyside6")  # before qasync: it picks the binding (qasync#23)

import qasync
from PySide6 import QtCore

__all__ = ["QEventLoop"]


class _Scheduler(QtCore.QObject):
    """Ready queue + timer heap of one loop, driven by one single-shot precise QTimer."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._loop = loop
        self._ready: deque[asyncio.Handle] = deque()
        self._heap: list[asyncio.TimerHandle] = []
        self._cancelled = 0  # cancelled handles still in the heap (cleaned up in bulk)
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._run)
        self._armed_for: float | None = None  # loop time the timer fires at; None: idle
        self._stopped = False

    def ready(self, handle: asyncio.Handle) -> None:
        self._ready.append(handle)
        if self._armed_for is None or self._armed_for > self._loop.time():
            self._arm(0)

    def at(self, handle: asyncio.TimerHandle) -> None:
        heapq.heappush(self._heap, handle)
        # So cancel() reports it: asyncio's own bookkeeping, a private slot typeshed omits.
        handle._scheduled = True  # type: ignore[attr-defined]
        first = self._heap[0].when()
        if not self._ready and (self._armed_for is None or first < self._armed_for):
            self._arm_for(first)

    def cancelled(self) -> None:
        self._cancelled += 1

    def stop(self) -> None:
        self._stopped = True
        self._timer.stop()
        self._ready.clear()
        self._heap.clear()

    def _arm(self, ms: int) -> None:
        self._armed_for = self._loop.time() + ms / 1000
        self._timer.start(ms)

    def _arm_for(self, when: float) -> None:
        delay = when - self._loop.time()
        # Rounded up: a timer that fires early would only be re-armed.
        self._arm(max(0, math.ceil(delay * 1000)) if delay > 0 else 0)

    def _run(self) -> None:
        self._armed_for = None
        if self._stopped:
            return
        heap, ready = self._heap, self._ready
        if self._cancelled > 50 and self._cancelled * 2 > len(heap):
            # Mostly cancelled timeouts (every request sets one): drop them in one pass.
            self._heap = heap = [h for h in heap if not h._cancelled]
            heapq.heapify(heap)
            self._cancelled = 0
        now = self._loop.time()
        while heap and (heap[0]._cancelled or heap[0].when() <= now):
            handle = heapq.heappop(heap)
            handle._scheduled = False  # type: ignore[attr-defined]
            if handle._cancelled:
                self._cancelled = max(0, self._cancelled - 1)
            else:
                ready.append(handle)
        # Only what is ready now: callbacks they schedule wait for the next pass, as in asyncio,
        # so Qt's own events (input, paint) are never starved by a chain of callbacks.
        for _ in range(len(ready)):
            if not ready:  # drained by a nested event loop (a modal dialog) meanwhile
                break
            callback = ready.popleft()
            if not callback._cancelled:
                callback._run()
            if self._stopped:
                return
        if ready:
            self._arm(0)
        elif heap and self._armed_for is None:
            self._arm_for(heap[0].when())


class QEventLoop(qasync.QEventLoop):
    """``qasync.QEventLoop`` whose callbacks are scheduled by :class:`_Scheduler`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Before qasync's __init__, which may already schedule callbacks (already_running).
        self._scheduler: _Scheduler | None = _Scheduler(self)
        super().__init__(*args, **kwargs)

    def call_soon(self, callback: Any, *args: Any, context: Any = None) -> asyncio.Handle:
        self._check_callback(callback, "call_soon")
        handle = asyncio.Handle(callback, args, self, context=context)
        self._scheduler.ready(handle)  # type: ignore[union-attr]
        return handle

    def call_later(
        self, delay: float, callback: Any, *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        return self.call_at(self.time() + delay, callback, *args, context=context)

    def call_at(
        self, when: float, callback: Any, *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        self._check_callback(callback, "call_at")
        handle = asyncio.TimerHandle(when, callback, args, self, context=context)
        self._scheduler.at(handle)  # type: ignore[union-attr]
        return handle

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        if handle._scheduled and self._scheduler is not None:  # type: ignore[attr-defined]
            self._scheduler.cancelled()

    def close(self) -> None:
        if self._scheduler is not None and not self.is_running() and not self.is_closed():
            self._scheduler.stop()
        super().close()

    def _check_callback(self, callback: Any, method: str) -> None:
        # asyncio checks for coroutine functions in debug mode only: the check (inspect) cost
        # 0.8 s of CPU in a 2,000-row push when done on every callback.
        if not callable(callback):
            raise TypeError(f"a callable object was expected by {method}(), got {callback!r}")
        if self.get_debug() and asyncio.iscoroutinefunction(callback):
            raise TypeError(f"coroutines cannot be used with {method}()")
