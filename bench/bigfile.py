"""A 200,000-row push file: peak memory and time to the first request.

``gradient-desktop push FILE --partner …`` (``bench/bigfile_child.py``) against the sandbox in
its own process (no latency, no rate limit); the file is written here: 200,000 ``set`` rows of
accounts mapped in the sandbox. Measured per run: the child's peak resident memory (its own
``VmHWM``, printed by the child: ``wait4``'s ``ru_maxrss`` carries this process's peak over the
child's ``exec``, see ``bench/memory.py``) and the seconds from starting the push to the
sandbox's first request (polled every 20 ms). Sending all 200,000 rows takes over half an hour
at Gradient's 100/s, so the child is interrupted (SIGINT, as Ctrl-C: unsent rows stay queued)
``SEND_S`` seconds after its first request; by then a load-everything-first design has passed
its peak. Baseline, side by side:
Python's ``csv`` module reading the same file into tuples (peak memory and time).
Goals (issue #16): ≤ 150 MB peak, ≤ 1 s to the first request.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import REPO, Config, Goal, Row, child_env, fmt_s, log, median, sandbox_process

SEND_S = 5.0
GOAL_MB, GOAL_FIRST_S = 150.0, 1.0


def write_file(path: Path, skus: list[str], accounts: int, n: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("accountId,serviceId,unitCount\n")
        written = 0
        for a in range(accounts):
            for sku in skus:
                if written == n:
                    return
                fh.write(f"acc-{a},{sku},{(a % 50) + 1}\n")
                written += 1


def _wait(proc: subprocess.Popen[str]) -> tuple[int, float]:
    """Exit status and peak RSS (MB) of ``proc``: the ``peak_mb`` line the child prints last."""
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.wait()
    peaks = [float(ln.split()[1]) for ln in out.splitlines() if ln.startswith("peak_mb ")]
    if not peaks:
        raise RuntimeError(f"big-file child printed no peak (exit {proc.returncode})")
    return proc.returncode, peaks[-1]


def run_app(sb, path: Path, partner: str) -> tuple[float, float | None]:
    sb.admin("POST", "requests/clear")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.bigfile_child",
            "app",
            str(path),
            sb.base_url,
            sb.info["vendor_key"],
            partner,
        ],
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError(f"big-file child failed to start (exit {proc.wait()})")
    # The push starts now (the partner set-up before "ready" is not part of it).
    t0 = time.perf_counter()
    first = None
    while proc.poll() is None and time.perf_counter() - t0 < 120:
        if sb.admin("GET", "requests")["requests"]:
            first = time.perf_counter() - t0
            break
        time.sleep(0.02)
    if first is not None:
        time.sleep(SEND_S)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: unsent rows stay queued
    _code, peak = _wait(proc)
    return peak, first


def run_bare(path: Path) -> tuple[float, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.bigfile_child", "bare", str(path)],
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    code, peak = _wait(proc)
    if code != 0:
        raise RuntimeError(f"bare csv read failed ({code})")
    return peak, time.perf_counter() - t0


def bench(cfg: Config) -> list[Row]:
    n = cfg.pick(200_000, 20_000)
    reps = cfg.reps if cfg.explicit_reps else cfg.pick(3, 1)
    accounts = -(-n // 3)
    log(f"bigfile: sandbox with {accounts} mapped accounts; {reps}× push of a {n}-row file")
    with (
        sandbox_process(
            latency_ms=0, rate_limit=0, push_partners=reps, push_accounts=accounts
        ) as sb,
        tempfile.TemporaryDirectory(prefix="gradient-bench-bigfile-") as tmp,
    ):
        path = Path(tmp) / "counts.csv"
        write_file(path, sb.info["sku_ids"], accounts, n)
        size_mb = path.stat().st_size / 2**20
        apps, bares = [], []
        for i, partner in enumerate(sb.info["push_partners"]):
            bares.append(run_bare(path))
            apps.append(run_app(sb, path, partner))
            log(f"bigfile: run {i + 1}: peak {apps[-1][0]:.0f} MB, first request {apps[-1][1]}")
    peak = median([p for p, _ in apps])
    firsts = [f for _, f in apps if f is not None]
    first = median(firsts) if firsts else None
    bare_peak = median([p for p, _ in bares])
    bare_t = median([t for _, t in bares])
    common = f"{n:,}-row CSV ({size_mb:.1f} MB); median of {reps}"
    return [
        Row(
            f"push file {n}: peak memory",
            f"{peak:.0f} MB",
            f"{bare_peak:.0f} MB (csv.reader into tuples)",
            peak / GOAL_MB,
            Goal("<=", 1.0, f"× {GOAL_MB:.0f} MB"),
            note=f"`gradient-desktop push FILE --partner …`, peak RSS until {SEND_S:g} s after "
            f"its first request (then Ctrl-C); {common}",
            data={"app": apps, "bare": bares},
        ),
        Row(
            f"push file {n}: first request",
            fmt_s(first) if first is not None else "none in 120 s",
            f"{fmt_s(bare_t)} (csv.reader, whole file)",
            (first / GOAL_FIRST_S) if first is not None else None,
            Goal("<=", 1.0, f"× {GOAL_FIRST_S:g} s"),
            note=f"from the push's start (process up, partner configured) to the sandbox's "
            f"first request; {common}",
        ),
    ]
