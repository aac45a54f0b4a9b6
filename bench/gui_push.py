"""A push from the GUI vs the same push in plain asyncio (``bench/gui_push_child.py``).

The Usage page's Push (qasync loop, page shown, progress bar and live refresh on) against
``PushService.run`` under ``asyncio.run`` (the CLI's path), the same N queued counts, the same
sandbox process (60 ms latency: the demo sandbox's; Gradient's 100 req/s). A child process per
run, alternating. Also, for information, the page on qasync's stock loop (before
``ui/qloop.py``).
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


def run_child(sb: SandboxProc, mode: str, partner: str, n: int, salt: int) -> dict[str, Any]:
    return dict(sb.run_gui_child("bench.gui_push_child", mode, partner, n, salt))


def bench(cfg: Config) -> list[Row]:
    n = cfg.pick(2000, 400)
    reps = cfg.reps
    parts = 2 * reps + 1
    log(f"guipush: {reps}× Usage page push (qasync) vs PushService.run (asyncio), {n} rows")
    with sandbox_process(
        latency_ms=LATENCY_MS,
        rate_limit=100,
        push_partners=parts,
        push_accounts=math.ceil(n / 3),
    ) as sb:
        keys = iter(sb.info["push_partners"])
        base, gui = interleave(
            lambda i: run_child(sb, "asyncio", next(keys), n, i),
            lambda i: run_child(sb, "gui", next(keys), n, i),
            reps,
        )
        stock = run_child(sb, "gui-stock", next(keys), n, 99)
    r_gui = median([n / r["wall"] for r in gui])
    r_base = median([n / r["wall"] for r in base])
    return [
        Row(
            f"GUI push {n} vs asyncio",
            f"{r_gui:.1f} rows/s",
            f"{r_base:.1f} rows/s (asyncio.run)",
            r_gui / r_base,
            Goal(">=", 0.9),
            note=(
                f"Usage page Push on the app's qasync loop vs PushService.run under asyncio.run; "
                f"sandbox {LATENCY_MS} ms latency, 100 req/s; CPU {median([r['cpu'] for r in gui]):.1f} s "
                f"vs {median([r['cpu'] for r in base]):.1f} s; median of {reps}; same page on "
                f"qasync's stock loop (one run): {n / stock['wall']:.1f} rows/s, "
                f"CPU {stock['cpu']:.1f} s, wall {fmt_s(stock['wall'])}"
            ),
            data={"gui": gui, "asyncio": base, "stock": stock},
        )
    ]
