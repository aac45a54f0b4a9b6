"""Alerts across kills: SIGKILL the real CLI in the middle of an alert batch, again and again,
and no alert ever becomes a second PSA ticket, and none is lost.

The sandbox runs in this process with some latency and processes alerts at once; the CLI
reaches it through the fault proxy. Each round starts ``gradient-desktop alert send FILE
--partner Contoso --wait 0`` on the same file and kills it once the sandbox has received a
random number (1–4) of this round's dispatches, in one of two ways: a few milliseconds later
(the kill lands between alerts or while the next is on the wire), or — every other round —
while the proxy holds back Gradient's answer to that dispatch, which Gradient has already
queued (the worst case: applied, and the client never learns its messageId). Reading the same
file again finds its rows recorded, so each rerun sends only what is still queued. An alert cut off mid-send is
"outcome unknown"; at the end the user settles those as a user would — looks at the PSA board
(the sandbox's tickets) and runs ``alert confirm ID --mark-sent`` or ``--resend``.

Then: every alertId of the file has exactly one ticket (duplicates 0, lost 0), and the
ledger agrees. ``GD_FULL=1`` kills 20 times; the default 5.
"""

from __future__ import annotations

import csv
import random
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from gradient_desktop.sandbox.seed import VENDOR_KEY
from tests.reliability.fault_proxy import Fault, FaultPlan, FaultProxy, RequestInfo
from tests.reliability.helpers import FIGURES, child_env, new_partner, sized

KILLS = sized(5, 20)
ALERTS = 6 * KILLS + 12
PARTNER = "Contoso"


def _cli(env: dict[str, str], home: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gradient_desktop", *args],
        env=env,
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run(env: dict[str, str], home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = _cli(env, home, *args)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _ledger(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return dict(conn.execute("SELECT alert_id, state FROM alert_entry"))
    finally:
        conn.close()


def test_killing_the_cli_mid_batch_never_duplicates_or_loses_an_alert(
    tmp_path: Path, sandbox_factory: Any
) -> None:
    sb = sandbox_factory(seed="demo", latency_ms=25, alert_delay_ms=0)
    key, _ = new_partner(sb.state, ALERTS, prefix="alertkill")
    proxy = FaultProxy(sb.base_url).start()
    try:
        _rounds(tmp_path, sb, key, proxy)
    finally:
        proxy.stop()


def _rounds(tmp_path: Path, sb: Any, key: str, proxy: FaultProxy) -> None:
    home = tmp_path / "gd-home"
    home.mkdir()
    env = child_env(home, tmp_path / "keyring.json")
    added = subprocess.run(
        [sys.executable, "-m", "gradient_desktop", "partner", "add", PARTNER,
         "--base-url", proxy.base_url, "--profile", "Northwind"],
        env={**env, "GRADIENT_VENDOR_KEY": VENDOR_KEY, "GRADIENT_PARTNER_KEY": key},
        capture_output=True, text=True, timeout=60, cwd=home, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    batch = tmp_path / "alerts.csv"
    with batch.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["accountId", "title", "description", "priority"])
        for i in range(ALERTS):
            w.writerow(
                [f"acc-{i}", f"Backup job {i} failed", f"Job {i} ended with errors", 1 + i % 4]
            )
    db = home / "data" / "gradient-desktop.sqlite3"
    rng = random.Random(20261201)
    send = ("alert", "send", str(batch), "--partner", PARTNER, "--wait", "0")

    def dispatched() -> int:
        return len(sb.state.alert_log(key))

    kills = held = 0
    for round_no in range(KILLS):
        target = rng.randint(1, 4)
        hold = round_no % 2 == 1  # hold back the answer to the target dispatch
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
        before = dispatched()
        proc = _cli(env, home, *send)
        deadline = time.monotonic() + 60
        while dispatched() - before < target and proc.poll() is None:
            assert time.monotonic() < deadline, "the CLI made no progress"
            time.sleep(0.003)
        landed = proc.poll() is None
        time.sleep(0.05 if hold else rng.uniform(0, 0.04))
        proc.kill()
        proc.communicate(timeout=30)
        kills += landed
        held += landed and hold
    proxy.set_plan(FaultPlan.none())
    assert kills == KILLS, "the batch finished before every kill landed; make it longer"

    finished = _run(env, home, *send)
    assert finished.returncode in (0, 1), finished.stderr
    states = _ledger(db)
    assert (
        len(states) == ALERTS
        and "queued" not in states.values()
        and "sending" not in states.values()
    )

    # The user settles every alert in doubt by looking at the PSA board.
    on_board = Counter(t["alertId"] for t in sb.state.tickets(key))
    unknown = [a for a, s in states.items() if s == "unknown"]
    for alert_id in unknown:
        choice = "--mark-sent" if on_board[alert_id] else "--resend"
        done = _run(env, home, "alert", "confirm", alert_id, choice)
        assert done.returncode == 0, done.stdout + done.stderr

    traced = _run(env, home, "alert", "trace", "--partner", PARTNER, "--wait", "20")
    assert traced.returncode == 0, traced.stdout + traced.stderr
    tickets = Counter(t["alertId"] for t in sb.state.tickets(key))
    final = _ledger(db)
    duplicates = sum(n - 1 for n in tickets.values() if n > 1)
    lost = sum(1 for a in final if tickets[a] == 0)
    assert duplicates == 0 and lost == 0, (duplicates, lost)
    assert set(final.values()) <= {"success", "marked_sent"}, Counter(final.values())
    FIGURES["alert batch: CLI kills mid-batch"] += kills
    FIGURES["alert batch: kills while Gradient's answer was held back"] += held
    FIGURES["alert batch: alerts sent"] += len(tickets)
    FIGURES["alert batch: outcome unknown, found on the board (marked sent)"] += sum(
        1 for a in unknown if on_board[a]
    )
    FIGURES["alert batch: outcome unknown, not on the board (resent)"] += sum(
        1 for a in unknown if not on_board[a]
    )
    FIGURES["alert batch: duplicate tickets"] += duplicates
    FIGURES["alert batch: lost alerts"] += lost
