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
import sqlite3
from pathlib import Path
from typing import Any

from tests.reliability.alert_kills import (
    PARTNER,
    Home,
    cli_home,
    kill_rounds,
    ledger,
    settle_and_count,
)
from tests.reliability.fault_proxy import FaultProxy
from tests.reliability.helpers import new_partner, sized

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
        h = cli_home(tmp_path, proxy.base_url, key)
        _sources(tmp_path, h)
        sync = ("sync", "--all", "--scheduled")
        kills, held = kill_rounds(h, sb, key, proxy, sync, KILLS, seed=20261215)
        assert kills == KILLS, "the batch finished before every kill landed; make it longer"

        finished = h.run(*sync)
        assert finished.returncode in (0, 1), finished.stdout + finished.stderr
        assert "alerts:" in finished.stdout  # the summary has the alert table
        states = ledger(h.db)
        assert len(states) == EVENTS, (len(states), EVENTS)
        assert "queued" not in states.values() and "sending" not in states.values()
        again = h.run(*sync)  # every event is in the ledger: nothing new, nothing sent
        assert "0 new, 0 sent" in again.stderr, again.stderr
        settle_and_count(h, sb, key, "sync alert sources", kills, held)
    finally:
        proxy.stop()


def _sources(tmp_path: Path, h: Home) -> None:
    """A SQLite table of monitoring events (an event-id column) and a folder of three JSON
    event files (every other event without an id of its own), added with the CLI."""
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
    for f in range(3):
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
        added = h.run("source", "add", *args, "--alerts")
        assert added.returncode == 0, added.stdout + added.stderr
