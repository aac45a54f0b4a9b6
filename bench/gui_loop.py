"""Is the app's event loop free while the Usage page pushes? (``bench/gui_loop_child.py``)

The main window with the Usage page in front, ``N`` counts queued, the page's Push against the
benchmark sandbox (60 ms latency, 100 req/s): a 5 ms heartbeat timer measures how late the loop
gets to it (a *stall*: repaints, clicks and keys wait that long). Baseline: the same window
with the same counts queued, idle. A child process per run, push and idle alternating.

Rows: the longest stall while the rows are sent (first to last answer), next to the idle
window's and as a ratio to it in the note (goal ≤ 100 ms: no stall a user would notice; a
ratio goal would hinge on the idle window's few milliseconds); the grid/list model resets
during the push (goal 0: the page updates the cells that changed instead of rebuilding every
row).
"""

from __future__ import annotations

import math
from typing import Any

from .common import (
    Config,
    Goal,
    Row,
    SandboxProc,
    fmt_s,
    interleave,
    log,
    median,
    sandbox_process,
)

LATENCY_MS = 60
#: The heartbeat's interval and the idle baseline's length (read by the child too).
TICK_MS = 5
IDLE_S = 3.0
#: The longest stall that still feels instant (RAIL: respond to input within 100 ms).
STALL_GOAL_MS = 100


def run_child(sb: SandboxProc, mode: str, partner: str, n: int, salt: int) -> dict[str, Any]:
    return dict(sb.run_gui_child("bench.gui_loop_child", mode, partner, n, salt))


def bench(cfg: Config) -> list[Row]:
    n = cfg.pick(2000, 400)
    reps = cfg.reps
    log(f"guiloop: {reps}× loop stalls while the Usage page pushes {n} rows vs idle")
    with sandbox_process(
        latency_ms=LATENCY_MS,
        rate_limit=100,
        push_partners=2 * reps,
        push_accounts=math.ceil(n / 3),
    ) as sb:
        keys = iter(sb.info["push_partners"])
        idle, push = interleave(
            lambda i: run_child(sb, "idle", next(keys), n, i),
            lambda i: run_child(sb, "push", next(keys), n, i),
            reps,
        )
    worst = median([r["sending"]["max"] for r in push]) * 1000
    whole = median([r["stall"]["max"] for r in push]) * 1000
    worst_idle = median([r["sending"]["max"] for r in idle]) * 1000
    p99 = median([r["sending"]["p99"] for r in push]) * 1000
    resets = max(r["resets"] for r in push)
    return [
        Row(
            f"GUI push {n}: longest loop stall",
            f"{worst:.0f} ms",
            f"{worst_idle:.0f} ms (same window, idle)",
            round(worst),
            Goal("<=", STALL_GOAL_MS, " ms"),
            note=(
                f"main window, Usage page in front, {n} counts pushed (sandbox {LATENCY_MS} ms, "
                f"100 req/s): how late a {TICK_MS} ms heartbeat timer fired between the first "
                f"and the last answer, {worst / max(worst_idle, 1.0):.1f}× the same window idle "
                f"for {IDLE_S:g} s; 99th percentile {p99:.1f} ms; goal: no stall a user would "
                f"notice (a response within 100 ms feels instant); the whole push incl. "
                f"queueing the staged counts at the click and the final refresh {whole:.0f} ms; "
                f"push {fmt_s(median([r['wall'] for r in push]))}; median of {reps}"
            ),
            data={"push": push, "idle": idle},
            ratio_unit=" ms",
        ),
        Row(
            f"GUI push {n}: grid rebuilds",
            f"{resets} resets",
            "0 (cells updated in place)",
            float(resets),
            Goal("<=", 0, " resets"),
            note=(
                "model resets of the Usage grid and list while the push ran (each rebuilds "
                f"every row); cell updates seen: {[r['cells_changed'] for r in push]}"
            ),
            ratio_unit=" resets",
        ),
    ]
