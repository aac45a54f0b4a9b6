"""``scripts/app.sh`` second start (nothing changed since the first) vs the installed entry point.

Both to the first painted main window (``GRADIENT_DESKTOP_EXIT_AFTER_PAINT=1``, offscreen), in
the repository's own ``.venv`` (the one ``app.sh`` creates). The script used to re-run
``pip install -e .`` on every start; the goal is within 1.3× of starting
``.venv/bin/gradient-desktop`` directly.
"""

from __future__ import annotations

import subprocess
import tempfile

from .cold_start import HOOK, NoHook, time_to_paint
from .common import REPO, Config, Goal, Row, child_env, fmt_s, interleave, log, median

SCRIPT = REPO / "scripts" / "app.sh"
ENTRY = REPO / ".venv" / "bin" / "gradient-desktop"


def bench(cfg: Config) -> list[Row]:
    if not ENTRY.exists():
        return [
            Row(
                "app.sh second start",
                "pending",
                "entry point",
                None,
                Goal("pending"),
                note=f"{ENTRY.relative_to(REPO)} missing: run scripts/app.sh once",
            )
        ]
    reps = cfg.reps if cfg.explicit_reps else cfg.pick(5, 3)
    with tempfile.TemporaryDirectory(prefix="gradient-bench-appsh-") as home:
        env = child_env(QT_QPA_PLATFORM="offscreen", GRADIENT_DESKTOP_HOME=home, **{HOOK: "1"})
        log(f"appsh: {reps}× scripts/app.sh vs .venv/bin/gradient-desktop, to first paint")
        try:
            time_to_paint(["bash", str(SCRIPT)], env)  # the "first" start (and warm-up)
            time_to_paint([str(ENTRY)], env)
        except (NoHook, subprocess.TimeoutExpired) as exc:
            return [
                Row("app.sh second start", "error", "entry point", None, Goal("info"), str(exc))
            ]
        base, subj = interleave(
            lambda i: time_to_paint([str(ENTRY)], env),
            lambda i: time_to_paint(["bash", str(SCRIPT)], env),
            reps,
        )
    t_s, t_b = median(subj), median(base)
    return [
        Row(
            "app.sh second start",
            fmt_s(t_s),
            f"{fmt_s(t_b)} (.venv/bin/gradient-desktop)",
            t_s / t_b,
            Goal("<=", 1.3),
            note=f"process start → first paint, nothing changed since the last start; "
            f"median of {reps}",
            data={"script": subj, "entry": base},
        )
    ]
