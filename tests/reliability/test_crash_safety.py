"""Crash safety: SIGKILL the real CLI at random points of a push, restart it, lose nothing.

The sandbox runs in this process (it outlives the killed client, as Gradient would); the
pusher is ``python -m gradient_desktop push FILE --partner NAME`` in a subprocess, with its
keys in a file-backed test keyring (``file_keyring.py``). Each round pushes a CSV of mixed
set/add/subtract rows, kills the process either early (start-up, enqueue) or once the sandbox
has seen a random number of its requests, then restarts pushes (a follow-up file, as a user
would) until the outbox is empty. After every round:

* the database passes ``PRAGMA integrity_check`` (straight after the kill, and at the end);
* nothing is left queued;
* the sandbox's counts equal the fold of every row pushed so far: no add or subtract lost
  or applied twice.

Also here: a corrupt or newer-schema database seen through the CLI (backed up, reported, never
overwritten), and two instances at once.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gradient_desktop.sandbox.seed import VENDOR_KEY
from gradient_desktop.sandbox.server import SandboxServer
from tests.reliability.helpers import (
    FIGURES,
    FULL,
    Pair,
    Row,
    child_env,
    fold,
    mixed_rows,
    new_partner,
    sized,
    write_rows_csv,
    wrong_counts,
)

ROUNDS = sized(20, 60)
ROWS = sized(200, 500)
PARTNER = "Contoso"


@dataclass
class CliEnv:
    """One data folder, one keyring file and one sandbox partner shared by all rounds."""

    sb: SandboxServer
    partner_key: str
    skus: list[str]
    home: Path
    env: dict[str, str]

    @property
    def db_path(self) -> Path:
        return self.home / "data" / "gradient-desktop.sqlite3"

    def cli(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "gradient_desktop", *args],
            env=self.env,
            cwd=self.home,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        proc = self.cli(*args)
        out, err = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture
def cli_env(tmp_path: Path, sandbox_factory: Callable[..., SandboxServer]) -> Iterator[CliEnv]:
    sb = sandbox_factory(seed="demo")  # Gradient's 100 rps limit; the CLI keeps under it
    key, skus = new_partner(sb.state, ROWS + 10, prefix="crash")
    home = tmp_path / "gd-home"
    home.mkdir()
    env = child_env(home, tmp_path / "keyring.json")
    cli = CliEnv(sb, key, skus, home, env)
    added = subprocess.run(
        [
            sys.executable,
            "-m",
            "gradient_desktop",
            "partner",
            "add",
            PARTNER,
            "--base-url",
            sb.base_url,
            "--profile",
            "Northwind",
        ],
        env={**env, "GRADIENT_VENDOR_KEY": VENDOR_KEY, "GRADIENT_PARTNER_KEY": key},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=home,
    )
    assert added.returncode == 0, added.stderr
    yield cli


def _integrity(db_path: Path) -> list[str]:
    conn = sqlite3.connect(db_path)
    try:
        return [r[0] for r in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def _pending(db_path: Path) -> dict[str, int]:
    conn = sqlite3.connect(db_path)
    try:
        return dict(conn.execute("SELECT state, COUNT(*) FROM outbox_entry GROUP BY state"))
    finally:
        conn.close()


def _kill_at_random_point(cli: CliEnv, proc: subprocess.Popen[str], rng: random.Random) -> str:
    """SIGKILL ``proc`` early (start-up/enqueue) or after the sandbox saw K of its requests."""
    if rng.random() < 0.2:
        delay = rng.uniform(0.2, 1.5)
        point = f"{delay:.2f} s after start"
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.002)
    else:
        k = rng.randint(1, ROWS)
        point = f"after {k} requests"
        deadline = time.monotonic() + 120
        while len(cli.sb.state.requests()) < k and proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
                _out, err = proc.communicate(timeout=30)
                raise AssertionError(f"the push hung before request {k}:\n{err[-2000:]}")
            time.sleep(0.001)
    if proc.poll() is not None:
        return "finished before the kill"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return point


@pytest.mark.slow
@pytest.mark.timeout(3_600 if FULL else 600)
def test_sigkill_at_random_points_never_loses_or_doubles_a_count(cli_env: CliEnv) -> None:
    cli = cli_env
    expected: dict[Pair, float] = {}
    survived = 0
    log: list[str] = []
    for seed in range(ROUNDS):
        rng = random.Random(seed)
        rows = mixed_rows(cli.skus, ROWS, seed, start=expected, set_share=0.3)
        batch = cli.home / f"batch-{seed}.csv"
        write_rows_csv(batch, rows)
        pushed: list[Row] = list(rows)
        cli.sb.state.clear_requests()

        before = sum(_pending(cli.db_path).values()) if cli.db_path.exists() else 0
        proc = cli.cli("push", str(batch), "--partner", PARTNER)
        point = _kill_at_random_point(cli, proc, rng)
        if point != "finished before the kill":
            survived += 1
            assert _integrity(cli.db_path) == ["ok"], f"round {seed}: damaged after kill {point}"
        # The file is taken whole or not at all: killed before the enqueue committed, nothing
        # of it is queued and the push must simply be run again (as a scheduler would).
        enqueued = sum(_pending(cli.db_path).values()) - before if cli.db_path.exists() else 0
        assert enqueued in (0, len(rows)), f"round {seed} ({point}): {enqueued} of {len(rows)} rows"
        if not enqueued:
            FIGURES["crash loop: kills before the file was enqueued"] += 1
            rerun = cli.run("push", str(batch), "--partner", PARTNER)
            assert rerun.returncode == 0, rerun.stderr
            point += " (before the enqueue: file pushed again)"

        # Restart: the next push (a follow-up file) first finishes what the killed one left.
        restarts = 0
        while True:
            states = _pending(cli.db_path)
            queued = sum(states.get(s, 0) for s in ("pending", "sending", "unknown"))
            if restarts and not queued:
                break
            assert restarts < 4, f"round {seed} ({point}): still queued {states}"
            last_service, last_account = pushed[-1][0], pushed[-1][1]
            follow = [(last_service, last_account, float(rng.randint(1, 99)), "set")]
            path = cli.home / f"follow-{seed}-{restarts}.csv"
            write_rows_csv(path, follow)
            done = cli.run("push", str(path), "--partner", PARTNER)
            pushed += follow
            restarts += 1
            assert done.returncode == 0, (
                f"round {seed} ({point}), restart {restarts}: rc {done.returncode}\n{done.stderr}"
            )
            assert "Traceback" not in done.stderr
            if queued:
                assert "left over from an earlier push" in done.stderr, done.stderr

        expected = fold(pushed, expected)
        wrong = wrong_counts(cli.sb.state, cli.partner_key, expected)
        assert wrong == [], f"round {seed}, killed {point}: {wrong[:5]}"
        assert _integrity(cli.db_path) == ["ok"]
        assert set(_pending(cli.db_path)) <= {"sent"}
        log.append(f"round {seed}: killed {point}, {restarts} restart(s)")
    FIGURES["crash loop: SIGKILLs survived"] += survived
    FIGURES["crash loop: rounds"] += ROUNDS
    FIGURES["crash loop: counts lost or doubled"] += 0
    assert survived >= ROUNDS * 3 // 4, log
