"""Shared pieces of the benchmarks: result rows, goals, interleaved timing, the sandbox process.

Every figure is a ratio against a baseline measured in the same run, because these machines
are noisy: absolute seconds say little, a subject and its baseline measured side by side do.
Baseline and subject runs are interleaved (B S, S B, B S, ...) so a slow phase of the machine
hits both, and the median of the repetitions is reported.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")

GoalOp = Literal["<=", ">=", "info", "pending"]


@dataclass(frozen=True, slots=True)
class Goal:
    """``ratio <= value`` or ``ratio >= value``; ``info`` rows have no target; ``pending`` rows
    are benchmarks whose subject does not exist yet."""

    op: GoalOp
    value: float = 0.0
    unit: str = "×"

    def met(self, ratio: float | None) -> bool | None:
        if self.op in ("info", "pending") or ratio is None:
            return None
        return ratio <= self.value if self.op == "<=" else ratio >= self.value

    def __str__(self) -> str:
        if self.op in ("info", "pending"):
            return self.op
        sign = "≤" if self.op == "<=" else "≥"
        return f"{sign} {self.value:g}{self.unit}"


@dataclass(slots=True)
class Row:
    """One line of the table: ``measured`` and ``baseline`` are display strings; ``ratio`` is
    what the goal is checked against."""

    name: str
    measured: str
    baseline: str
    ratio: float | None
    goal: Goal
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    ratio_unit: str = "×"

    @property
    def met(self) -> bool | None:
        return self.goal.met(self.ratio)

    def ratio_text(self) -> str:
        if self.ratio is None:
            return "—"
        if self.ratio_unit == "×":
            return f"{self.ratio:.2f}×"
        return f"{self.ratio:g}{self.ratio_unit}"

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["goal"] = str(self.goal)
        out["met"] = self.met
        return out


@dataclass(frozen=True, slots=True)
class Config:
    """Sizes of one run: ``quick`` is the reduced suite CI runs."""

    quick: bool
    reps: int
    #: ``--reps`` was given: cheap benchmarks then use it as is instead of their own minimum.
    explicit_reps: bool = False
    #: Where the push curve is drawn (``--plot``); None: the push benchmark's default.
    plot: Path | None = None

    def pick(self, full: T, quick: T) -> T:
        return quick if self.quick else full

    def cheap_reps(self, minimum: int = 5) -> int:
        """Repetitions for a benchmark whose run takes seconds: more are affordable."""
        return self.reps if self.explicit_reps else max(self.reps, minimum)


def median(values: list[float]) -> float:
    return statistics.median(values)


def interleave(
    baseline: Callable[[int], T], subject: Callable[[int], T], reps: int
) -> tuple[list[T], list[T]]:
    """Run ``baseline(i)`` and ``subject(i)`` ``reps`` times each, alternating which goes
    first, so a drift of the machine (thermal, another process) hits both alike."""
    base: list[T] = []
    subj: list[T] = []
    for i in range(reps):
        if i % 2 == 0:
            base.append(baseline(i))
            subj.append(subject(i))
        else:
            subj.append(subject(i))
            base.append(baseline(i))
    return base, subj


def fmt_s(seconds: float) -> str:
    if seconds >= 100:
        return f"{seconds:.0f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.1f} ms"


def log(message: str) -> None:
    """Progress on stderr, so the table on stdout stays clean."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def child_env(**extra: str) -> dict[str, str]:
    """Environment for child processes: the repo importable, no user data touched."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("PYTHONSTARTUP", None)
    env.update(extra)
    return env


@dataclass(slots=True)
class SandboxProc:
    """Handle of a running ``bench.sandbox_proc`` child."""

    proc: subprocess.Popen[str]
    info: dict[str, Any]

    @property
    def base_url(self) -> str:
        return str(self.info["base_url"])

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        import httpx  # the bench's own process imports httpx anyway; kept local for clarity

        # Admin POSTs must be JSON (the sandbox refuses other bodies so a web page cannot
        # drive them): send an empty object rather than no body.
        if body is None and method.upper() != "GET":
            body = {}
        r = httpx.request(
            method, f"{self.base_url}/_sandbox/{path}", json=body, timeout=30, trust_env=False
        )
        r.raise_for_status()
        return r.json()

    def set_faults(self, **faults: Any) -> None:
        self.admin("POST", "faults", faults)

    def max_rps_seen(self, partner_key: str) -> int:
        return int(self.admin("GET", f"max-rps?partnerKey={partner_key}")["maxRpsSeen"])

    def run_gui_child(self, module: str, mode: str, partner: str, n: int, salt: int) -> Any:
        """One run of a GUI benchmark child (``python -m MODULE MODE URL VKEY PARTNER N``,
        offscreen Qt) against this sandbox's ``partner``: the last JSON line it prints."""
        env = child_env(
            QT_QPA_PLATFORM="offscreen",
            BENCH_SKUS=",".join(self.info["sku_ids"]),
            BENCH_ACCOUNTS=str(self.info["push_accounts"]),
            BENCH_SALT=str(salt),
        )
        args = [mode, self.base_url, self.info["vendor_key"], partner, str(n)]
        proc = subprocess.run(
            [sys.executable, "-m", module, *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"{module} ({mode}) failed: {proc.stderr[-2000:]}")
        return json.loads(lines[-1])


@contextmanager
def sandbox_process(
    *,
    latency_ms: float = 0.0,
    rate_limit: int = 100,
    push_partners: int = 0,
    push_accounts: int = 0,
    paging_clients: int = 0,
    fresh_partners: int = 0,
) -> Iterator[SandboxProc]:
    """Start the sandbox in a child process on a free loopback port; stop it afterwards."""
    cmd = [
        sys.executable,
        "-m",
        "bench.sandbox_proc",
        "--latency-ms",
        str(latency_ms),
        "--rate-limit",
        str(rate_limit),
        "--push-partners",
        str(push_partners),
        "--push-accounts",
        str(push_accounts),
        "--paging-clients",
        str(paging_clients),
        "--fresh-partners",
        str(fresh_partners),
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=child_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the benchmark sandbox did not start (exit {proc.wait()})")
        yield SandboxProc(proc, json.loads(line))
    finally:
        # Closing stdin asks it to stop; SIGTERM (this pid only) if it does not.
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
