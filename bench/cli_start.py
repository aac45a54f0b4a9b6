"""Headless CLI start: ``gradient-desktop push --help`` against ``python -c "import httpx"``.

Both are timed as whole processes (start to exit), interleaved, median of many. The installed
console script is used when it exists (what a scheduled task runs), else
``python -m gradient_desktop``. A separate ``-X importtime`` run lists every module the command
imported: none may be Qt (PySide6, shiboken6, qasync, pyqtgraph) — a scheduled push on a
server must not need a display stack, and Qt alone costs more than the whole 2× budget.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from .common import REPO, Config, Goal, Row, child_env, fmt_s, interleave, log, median

QT_PREFIXES = ("PySide6", "shiboken6", "qasync", "pyqtgraph")


def command() -> tuple[list[str], str]:
    """How to start the CLI: the console script if installed, else ``python -m``."""
    script = Path(sys.executable).with_name("gradient-desktop")
    if script.exists():
        return [sys.executable, str(script)], "gradient-desktop"
    return [sys.executable, "-m", "gradient_desktop"], "python -m gradient_desktop"


def _time(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        argv,
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        timeout=60,
    )
    return time.perf_counter() - t0


def imported_modules(argv: list[str]) -> list[str]:
    """Top-level names of every module ``argv`` imports (from ``-X importtime``)."""
    cmd = [argv[0], "-X", "importtime", *argv[1:]]
    proc = subprocess.run(
        cmd, cwd=REPO, env=child_env(), capture_output=True, text=True, check=True, timeout=60
    )
    names = []
    for line in proc.stderr.splitlines():
        # "import time:       123 |        456 |     package.module"
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":
                names.append(name)
    return names


def bench(cfg: Config) -> list[Row]:
    cli, label = command()
    subject = [*cli, "push", "--help"]
    baseline = [sys.executable, "-c", "import httpx"]
    reps = cfg.reps if cfg.explicit_reps else cfg.pick(21, 11)
    log(f"cli: {reps}× `{label} push --help` vs `python -c 'import httpx'`")
    _time(subject), _time(baseline)  # warm the OS file cache for both
    base, subj = interleave(lambda i: _time(baseline), lambda i: _time(subject), reps)
    t_subj, t_base = median(subj), median(base)

    modules = imported_modules(subject)
    qt = sorted({m for m in modules if m.split(".")[0] in QT_PREFIXES})
    return [
        Row(
            "CLI start: push --help",
            fmt_s(t_subj),
            f"{fmt_s(t_base)} (import httpx)",
            t_subj / t_base,
            Goal("<=", 2),
            note=f"`{label} push --help`, process start to exit, median of {reps}",
            data={"subject": subj, "baseline": base},
        ),
        Row(
            "CLI start: Qt modules imported",
            "none" if not qt else ", ".join(qt[:5]),
            "none allowed",
            float(len(qt)),
            Goal("<=", 0, " modules"),
            note=f"{len(modules)} modules imported in all (-X importtime)",
            ratio_unit=" modules",
        ),
    ]
