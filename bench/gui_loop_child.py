"""One run of the loop-stall benchmark: ``python -m bench.gui_loop_child MODE URL VKEY PKEY N``.

The app's main window as a user has it during a push: the partner selected, the Usage page in
front (its grid showing the ``N`` queued counts), on the app's qasync loop. A precise heartbeat
timer (every ``TICK_MS``) records when the loop gets to it; a *stall* is how much later than its
interval a beat came, i.e. how long the loop was busy with something else (the user's clicks
and repaints wait that long).

``MODE`` ``push``: the heartbeat while the Usage page's Push sends the ``N`` counts (sandbox of
the parent). ``idle``: the same window, the same counts staged, nobody pushing, for ``IDLE_S``
seconds after half a second to settle: what the loop does alone (the baseline). Prints one JSON line: the stalls (max, 99th
percentile), the wall time, and how often the page's grid and list models were reset or had
cells changed while the push ran (a reset rebuilds every row and drops the selection).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import time
from typing import Any

from bench.gui_loop import IDLE_S, TICK_MS

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")


class Heartbeat:
    """A precise repeating timer; ``stalls()`` = each beat's lateness beyond ``TICK_MS``."""

    def __init__(self) -> None:
        from gradient_desktop.ui.qt import QtCore

        self.beats: list[float] = []
        self.timer = QtCore.QTimer()
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(lambda: self.beats.append(time.perf_counter()))

    def start(self) -> None:
        self.beats.clear()
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        gaps = [b - a for a, b in itertools.pairwise(self.beats)]
        return [max(0.0, g - TICK_MS / 1000) for g in gaps]

    def stalls_between(self, start: float, end: float) -> list[float]:
        """Stalls of the beats that came between ``start`` and ``end`` (perf_counter)."""
        beats = self.beats
        return [
            max(0.0, b - a - TICK_MS / 1000)
            for a, b in itertools.pairwise(beats)
            if start <= a and b <= end
        ]

    def worst(self, n: int = 5) -> list[tuple[float, float]]:
        """The ``n`` longest stalls as (seconds after the first beat, stall seconds)."""
        beats = self.beats
        stalls = [
            (round(b - beats[0], 2), round(b - a - TICK_MS / 1000, 3))
            for a, b in itertools.pairwise(beats)
        ]
        return sorted(stalls, key=lambda s: s[1], reverse=True)[:n]


def summary(stalls: list[float]) -> dict[str, float]:
    if not stalls:
        return {"max": 0.0, "p99": 0.0, "beats": 0}
    ordered = sorted(stalls)
    return {
        "max": ordered[-1],
        "p99": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "beats": len(ordered),
    }


def show_grid(ctx: Any, partner: Any, skus: list[str], accounts: int) -> None:
    """The partner's integration as the Usage page shows it: ``accounts`` mapped accounts
    (``acc-N``, the sandbox's push accounts) × the vendor's SKUs as services."""
    from gradient_desktop.store.models import PartnerService, VendorAccount

    with ctx.db.session() as s:
        for i, sku in enumerate(skus):
            s.add(PartnerService(partner_id=partner.id, service_id=sku, name=f"Service {i + 1}"))
        for a in range(accounts):
            s.add(
                VendorAccount(
                    partner_id=partner.id,
                    account_id=f"acc-{a}",
                    name=f"Customer {a:05d}",
                    is_mapped_remote=True,
                    sync_state="synced",
                )
            )
        s.commit()


def run(mode: str, ctx: Any, partner: Any, n: int) -> dict[str, Any]:
    from gradient_desktop.ui.main_window import MainWindow
    from gradient_desktop.ui.qt import QEventLoop, QtWidgets
    from gradient_desktop.ui.usage.page import UsagePage

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    loop = QEventLoop(app)
    asyncio.set_event_loop(loop)
    counts = {"resets": 0, "cells_changed": 0}
    sending: list[float] = []  # when the page's progress bar moved
    beat = Heartbeat()

    async def session() -> tuple[Any, float, MainWindow]:
        # Built inside the running loop, as the app attaches its window a tick after start.
        window = MainWindow(ctx)
        window.resize(1400, 860)
        window.select_partner_id(partner.id)
        page = next(p for p in window.pages if isinstance(p, UsagePage))
        window.tabs.setCurrentWidget(page)
        window.show()
        await asyncio.sleep(0.5)
        usage = page.usage
        assert usage is not None
        # The user stages the counts (what Import does), then presses Push.
        edits = []
        services, base = usage.refs().services, usage.projected_totals()
        for a in range(n):
            sku = services[a % len(services)].service_id
            cell = (sku, f"acc-{a // 3}")  # (service, account): the one key order (counts.Cell)
            edits.append(usage.make_edit(cell, "set", float(a % 50 + 1), base=base))
        page.stage_edits([e for e in edits if e is not None], "bench counts")
        await asyncio.sleep(0.2)
        for model in (page.grid_model, page.flat_model):
            model.modelReset.connect(lambda: counts.__setitem__("resets", counts["resets"] + 1))
            model.dataChanged.connect(
                lambda *_: counts.__setitem__("cells_changed", counts["cells_changed"] + 1)
            )
        page.progress_changed.connect(lambda done, total: sending.append(time.perf_counter()))
        t0 = time.perf_counter()
        beat.start()
        if mode == "push":
            page.push()  # from inside the running loop, as a click is delivered
            if page.push_task is None:
                raise RuntimeError("the page did not start a push")
            result = await page.push_task
        else:
            # Idle: the window settles for half a second (the first beats share the loop with
            # the staged cells' repaint), then the measured span.
            await asyncio.sleep(0.5)
            sending.append(time.perf_counter())
            await asyncio.sleep(IDLE_S)
            sending.append(time.perf_counter())
            result = None
        return result, time.perf_counter() - t0, window

    with loop:
        result, wall, window = loop.run_until_complete(session())
        stalls = beat.stop()
        loop.run_until_complete(ctx.aclose())
        window.tasks.cancel_all()
        window.hide()
        window.deleteLater()
    rows = result.report.ok if result is not None else 0
    return {
        "mode": mode,
        "wall": wall,
        "ok": rows,
        "stall": summary(stalls),
        # Between the first and the last answer: what the user sees while rows are sent
        # (idle: the measured span after the window settled).
        "sending": summary(beat.stalls_between(sending[0], sending[-1]) if sending else stalls),
        "worst": beat.worst(),
        **counts,
    }


def main(argv: list[str]) -> int:
    from bench.gui_push_child import prepare

    mode, url, vkey, pkey, n = argv[0], argv[1], argv[2], argv[3], int(argv[4])
    ctx, partner = prepare(url, vkey, pkey, n, queue=False)
    skus = os.environ["BENCH_SKUS"].split(",")
    show_grid(ctx, partner, skus, int(os.environ["BENCH_ACCOUNTS"]))
    try:
        result = run(mode, ctx, partner, n)
    finally:
        ctx.close()
    if mode == "push" and result["ok"] != n:
        raise SystemExit(f"push did not land: {result}")
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
