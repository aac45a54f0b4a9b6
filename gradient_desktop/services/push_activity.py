"""Which pushes are running right now, and how far each has got.

One ``PushActivity`` lives on the application context; ``PushService.run`` registers every push
with it, so any part of the app (the main window asking "may I quit?") asks the push service
instead of keeping its own copy of "a push is running". Qt-free.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class RunningPush:
    """One push in flight: ``done`` of ``total`` rows answered so far."""

    partner_id: int
    partner_name: str
    total: int
    done: int = 0

    def describe(self) -> str:
        return f"{self.done:,} of {self.total:,} sent"


class PushActivity:
    """The registry of running pushes (at most one per partner)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, RunningPush] = {}

    def begin(self, partner_id: int, partner_name: str, total: int) -> RunningPush:
        push = RunningPush(partner_id, partner_name, total)
        with self._lock:
            self._running[partner_id] = push
        return push

    def end(self, push: RunningPush) -> None:
        with self._lock:
            if self._running.get(push.partner_id) is push:
                del self._running[push.partner_id]

    def running(self) -> list[RunningPush]:
        with self._lock:
            return list(self._running.values())

    def summary(self) -> str | None:
        """ "81 of 362 sent" (one push) or a sentence for several; None when none runs."""
        pushes = self.running()
        if not pushes:
            return None
        if len(pushes) == 1:
            return pushes[0].describe()
        return "; ".join(f"{p.partner_name}: {p.describe()}" for p in pushes)
