"""Shared machinery of the alert kill tests (``test_alert_kills.py``: ``alert send FILE``;
``test_sync_alert_kills.py``: the scheduled ``sync`` with alert sources): run the real CLI,
SIGKILL it mid-batch while the fault proxy may hold back Gradient's answer, settle the alerts
left in doubt as a user would (from the PSA board), and count tickets per alertId.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradient_desktop.sandbox.seed import VENDOR_KEY
from tests.reliability.fault_proxy import Fault, FaultPlan, FaultProxy, RequestInfo
from tests.reliability.helpers import FIGURES, child_env

PARTNER = "Contoso"


def cli(env: dict[str, str], home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gradient_desktop", *args],
        env=env,
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_cli(env: dict[str, str], home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = cli(env, home, *args)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def ledger(db: Path) -> dict[str, str]:
    """alertId → state, from the app's database (checked intact)."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return dict(conn.execute("SELECT alert_id, state FROM alert_entry"))
    finally:
        conn.close()


@dataclass
class Home:
    """A CLI home with the partner added (its keys from the environment, once)."""

    env: dict[str, str]
    home: Path

    @property
    def db(self) -> Path:
        return self.home / "data" / "gradient-desktop.sqlite3"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(self.env, self.home, *args)


def cli_home(tmp_path: Path, base_url: str, partner_key: str) -> Home:
    home = tmp_path / "gd-home"
    home.mkdir()
    env = child_env(home, tmp_path / "keyring.json")
    added = subprocess.run(
        [sys.executable, "-m", "gradient_desktop", "partner", "add", PARTNER,
         "--base-url", base_url, "--profile", "Northwind"],
        env={**env, "GRADIENT_VENDOR_KEY": VENDOR_KEY, "GRADIENT_PARTNER_KEY": partner_key},
        capture_output=True, text=True, timeout=60, cwd=home, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    return Home(env, home)


def kill_rounds(
    h: Home, sb: Any, key: str, proxy: FaultProxy, args: tuple[str, ...], kills: int, seed: int
) -> tuple[int, int]:
    """Start ``args`` ``kills`` times and SIGKILL it once the sandbox got 1–4 of this round's
    dispatches: a few ms later, or (every other round) while the proxy holds back Gradient's
    answer to that dispatch. Returns (kills that landed mid-batch, of them with an answer held)."""
    rng = random.Random(seed)
    landed_kills = held = 0
    for round_no in range(kills):
        target = rng.randint(1, 4)
        hold = round_no % 2 == 1
        count = [0]

        def plan(
            r: RequestInfo, target: int = target, hold: bool = hold, count: list[int] = count
        ) -> Fault:
            if r.method == "POST" and "/alerting/" in r.path:
                count[0] += 1
                if hold and count[0] == target:
                    return Fault("hang_after")
            return Fault()

        proxy.set_plan(FaultPlan(plan))
        before = len(sb.state.alert_log(key))
        proc = cli(h.env, h.home, *args)
        deadline = time.monotonic() + 60
        while len(sb.state.alert_log(key)) - before < target and proc.poll() is None:
            assert time.monotonic() < deadline, "the CLI made no progress"
            time.sleep(0.003)
        landed = proc.poll() is None
        time.sleep(0.05 if hold else rng.uniform(0, 0.04))
        proc.kill()
        proc.communicate(timeout=30)
        landed_kills += landed
        held += landed and hold
    proxy.set_plan(FaultPlan.none())
    return landed_kills, held


def settle_and_count(h: Home, sb: Any, key: str, label: str, kills: int, held: int) -> Counter[str]:
    """The user settles every alert in doubt from the PSA board (mark sent if its ticket is
    there, else resend), the alerts are traced, and every alertId must have exactly one ticket.
    Adds the figures under ``label``; returns the tickets per alertId."""
    states = ledger(h.db)
    on_board = Counter(t["alertId"] for t in sb.state.tickets(key))
    unknown = [a for a, s in states.items() if s == "unknown"]
    for alert_id in unknown:
        choice = "--mark-sent" if on_board[alert_id] else "--resend"
        done = h.run("alert", "confirm", alert_id, choice)
        assert done.returncode == 0, done.stdout + done.stderr
    traced = h.run("alert", "trace", "--partner", PARTNER, "--wait", "20")
    assert traced.returncode == 0, traced.stdout + traced.stderr
    tickets = Counter(t["alertId"] for t in sb.state.tickets(key))
    final = ledger(h.db)
    duplicates = sum(n - 1 for n in tickets.values() if n > 1)
    lost = sum(1 for a in final if tickets[a] == 0)
    assert duplicates == 0 and lost == 0, (duplicates, lost)
    assert set(final.values()) <= {"success", "marked_sent"}, Counter(final.values())
    marked = sum(1 for a in unknown if on_board[a])
    for name, n in (
        ("kills mid-batch", kills),
        ("kills while Gradient's answer was held back", held),
        ("alerts sent", len(tickets)),
        ("outcome unknown, found on the board (marked sent)", marked),
        ("outcome unknown, not on the board (resent)", len(unknown) - marked),
        ("duplicate tickets", duplicates),
        ("lost alerts", lost),
    ):
        FIGURES[f"{label}: {name}"] += n
    return tickets
