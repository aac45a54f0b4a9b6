"""Alert sources across kills of the scheduled sync: SIGKILL the real ``gradient-desktop sync
--all --scheduled`` in the middle of its alert batch, again and again, and no source event ever
becomes a second PSA ticket, and none is lost.

Two alert sources, set up with the CLI as a user would: a SQLite query (with an event-id column)
and a folder of JSON event files (some events with an id, some without). Each round starts the
scheduled sync and kills it once the sandbox has received a random number (1–4) of this round's
dispatches: a few milliseconds later, or — every other round — while the fault proxy holds back
Gradient's answer to that dispatch (queued at Gradient, messageId never seen by the client).
Every rerun reads both sources again: events are found in the ledger by their derived alertId,
so only what is still queued is sent; an alert cut off mid-send becomes "outcome unknown", which
the user settles at the end by looking at the PSA board (``alert confirm --mark-sent/--resend``).

``GD_FULL=1`` kills 20 times; the default 5.
"""

from __future__ import annotations

import json
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
from tests.reliability.helpers import FIGURES, new_partner, sized
from tests.reliability.test_alert_kills import PARTNER, _cli, _ledger, _run
from tests.reliability.test_crash_safety import _child_env

KILLS = sized(5, 20)
SQL_EVENTS = 3 * KILLS + 6
FOLDER_EVENTS = 3 * KILLS + 6
EVENTS = SQL_EVENTS + FOLDER_EVENTS


def test_killing_the_scheduled_sync_mid_alert_batch_never_duplicates_or_loses_an_alert(
    tmp_path: Path, sandbox_factory: Any
) -> None:
    sb = sandbox_factory(seed="demo", latency_ms=25, alert_delay_ms=0)
    key, _ = new_partner(sb.state, EVENTS, prefix="syncalertkill")
    proxy = FaultProxy(sb.base_url).start()
    try:
        _rounds(tmp_path, sb, key, proxy)
    finally:
        proxy.stop()


def _sources(tmp_path: Path, env: dict[str, str], home: Path) -> None:
    db = tmp_path / "monitoring.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE ev (event_id TEXT, account TEXT, title TEXT, prio INTEGER)")
    conn.executemany(
        "INSERT INTO ev VALUES (?, ?, ?, ?)",
        [(f"m-{i}", f"acc-{i}", f"Monitor {i} down", 1 + i % 4) for i in range(SQL_EVENTS)],
    )
    conn.commit()
    conn.close()
    folder = tmp_path / "drop"
    folder.mkdir()
    for f in range(3):  # three files; every other event has no id of its own
        events = [
            {"accountId": f"acc-{SQL_EVENTS + i}", "title": f"Backup {i} failed",
             "partner": PARTNER, **({"eventId": f"b-{i}"} if i % 2 else {})}
            for i in range(f, FOLDER_EVENTS, 3)
        ]  # fmt: skip
        (folder / f"events-{f}.json").write_text(json.dumps(events), encoding="utf-8")
    for args in (
        ["monitoring", "--kind", "sql", "--url", f"sqlite:///{db}",
         "--query", f"SELECT event_id, '{PARTNER}' AS partner, account, title, prio FROM ev",
         "--alert-field", "key=event_id", "--alert-field", "priority=prio"],
        ["drop", "--kind", "file", "--path", str(folder)],
    ):  # fmt: skip
        added = _run(env, home, "source", "add", *args, "--alerts")
        assert added.returncode == 0, added.stdout + added.stderr


def _rounds(tmp_path: Path, sb: Any, key: str, proxy: FaultProxy) -> None:
    home = tmp_path / "gd-home"
    home.mkdir()
    env = _child_env(home, tmp_path / "keyring.json")
    added = subprocess.run(
        [sys.executable, "-m", "gradient_desktop", "partner", "add", PARTNER,
         "--base-url", proxy.base_url, "--profile", "Northwind"],
        env={**env, "GRADIENT_VENDOR_KEY": VENDOR_KEY, "GRADIENT_PARTNER_KEY": key},
        capture_output=True, text=True, timeout=60, cwd=home, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    _sources(tmp_path, env, home)
    db = home / "data" / "gradient-desktop.sqlite3"
    rng = random.Random(20261215)
    sync = ("sync", "--all", "--scheduled")

    def dispatched() -> int:
        return len(sb.state.alert_log(key))

    kills = held = 0
    for round_no in range(KILLS):
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
        before = dispatched()
        proc = _cli(env, home, *sync)
        deadline = time.monotonic() + 60
        while dispatched() - before < target and proc.poll() is None:
            assert time.monotonic() < deadline, "the sync made no progress"
            time.sleep(0.003)
        landed = proc.poll() is None
        time.sleep(0.05 if hold else rng.uniform(0, 0.04))
        proc.kill()
        proc.communicate(timeout=30)
        kills += landed
        held += landed and hold
    proxy.set_plan(FaultPlan.none())
    assert kills == KILLS, "the batch finished before every kill landed; make it longer"

    finished = _run(env, home, *sync)
    assert finished.returncode in (0, 1), finished.stdout + finished.stderr
    assert "alerts:" in finished.stdout  # the summary has the alert table
    states = _ledger(db)
    assert len(states) == EVENTS, (len(states), EVENTS)
    assert "queued" not in states.values() and "sending" not in states.values()
    again = _run(env, home, *sync)  # nothing is left to send, and nothing is sent twice
    assert "0 new, 0 sent" in again.stderr, again.stderr

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
    assert len(final) == EVENTS and duplicates == 0 and lost == 0, (duplicates, lost)
    assert set(final.values()) <= {"success", "marked_sent"}, Counter(final.values())
    FIGURES["sync alert sources: scheduled sync kills mid-batch"] += kills
    FIGURES["sync alert sources: kills while Gradient's answer was held back"] += held
    FIGURES["sync alert sources: alerts sent (one ticket each)"] += len(tickets)
    FIGURES["sync alert sources: outcome unknown, found on the board (marked sent)"] += sum(
        1 for a in unknown if on_board[a]
    )
    FIGURES["sync alert sources: outcome unknown, not on the board (resent)"] += sum(
        1 for a in unknown if not on_board[a]
    )
    FIGURES["sync alert sources: duplicate tickets"] += duplicates
    FIGURES["sync alert sources: lost alerts"] += lost
