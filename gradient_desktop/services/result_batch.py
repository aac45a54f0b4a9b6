"""One buffer of outbox results for every push running on a database at once.

A push marks its rows in the outbox as their answers arrive, in batches (a crash loses at most
a quarter of a second of bookkeeping, never a count: unflushed rows stay *sending* and are
re-sent, harmlessly, as absolute totals). With one buffer per push, a sync of 50 partners
at ~97 answers/s each committed ~200 small transactions a second: a fifth of the client's CPU
(bench/syncall.py, py-spy). Shared, the same answers go out in ~4 transactions a second.

The flush rule is unchanged for a single push (at least every ``FLUSH_SECONDS``, or every
``FLUSH_ROWS`` rows); ``flush()`` writes everything buffered, whichever push it came from.
"""

from __future__ import annotations

import threading
import time
import weakref

from gradient_desktop.store.outbox import Outbox

#: Flush row results to SQLite at least this often.
FLUSH_SECONDS = 0.25
#: ... or once this many rows are buffered (all pushes together).
FLUSH_ROWS = 2000

Result = tuple[int, str, str | None]


class ResultBatch:
    """Buffered ``(id, state, error)`` outbox results of every push on one ``Outbox``."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._buffer: list[Result] = []
        self._last = time.monotonic()
        # Pushes share one event loop, but a push may run on a worker thread's loop too.
        self._lock = threading.Lock()

    def add(self, result: Result) -> None:
        with self._lock:
            self._buffer.append(result)
            due = len(self._buffer) >= FLUSH_ROWS or time.monotonic() - self._last > FLUSH_SECONDS
        if due:
            self.flush()

    def flush(self) -> None:
        """Write everything buffered now, in one transaction."""
        with self._lock:
            buffer, self._buffer = self._buffer, []
            self._last = time.monotonic()
            if buffer:
                self.outbox.mark_results(buffer)


_BATCHES: weakref.WeakKeyDictionary[Outbox, ResultBatch] = weakref.WeakKeyDictionary()


def result_batch(outbox: Outbox) -> ResultBatch:
    """The shared batch of ``outbox`` (one per database connection set)."""
    batch = _BATCHES.get(outbox)
    if batch is None:
        batch = _BATCHES[outbox] = ResultBatch(outbox)
    return batch
