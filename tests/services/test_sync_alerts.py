"""Alert sources as sources of the sync (issue #15 over #13): a SQLite query, a folder of JSON
events and a paged HTTP endpoint with a keyring token, routed to two partners on a live sandbox
over a real socket, sent by the same ``SyncService.run`` as the usage, and never sent twice
across runs."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.sandbox.seed import PARTNER_DEMO, PARTNER_SMALL
from gradient_desktop.services.alert_source import run_alert_source
from gradient_desktop.services.alert_sources import alert_id_for
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.sources import SourceConfig, SourceStore, preview
from gradient_desktop.services.sources.config import ALERT_FIELDS
from gradient_desktop.services.sync import SyncService
from gradient_desktop.services.sync_alerts import detail_lines
from gradient_desktop.store.alerts import AlertLedger
from tests.sync_helpers import sku_names, sync_once, two_partners, usage_db, usage_source


@pytest.fixture
def sb(sandbox_factory: Any) -> Any:
    return sandbox_factory(seed="demo", alert_delay_ms=0)  # tickets at once


def _alerts_db(path: Path, rows: list[tuple[Any, ...]]) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS events (event_id TEXT, customer TEXT, title TEXT, "
        "details TEXT, prio TEXT, product TEXT)"
    )
    conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return path


def _sql_alerts(path: Path) -> SourceConfig:
    return SourceConfig(
        name="monitoring",
        kind="sql",
        url=f"sqlite:///{path}",
        query="SELECT * FROM events",
        emits="alerts",
        alert_fields={"account": "customer", "key": "event_id", "priority": "prio",
                      "service": "product", "description": "details"},
    )  # fmt: skip


def _tickets(sb: Any, key: str) -> Counter[str]:
    return Counter(t["alertId"] for t in sb.state.tickets(key))


def test_a_sql_alert_source_is_sent_by_the_sync_with_the_usage_and_never_twice(
    ctx: AppContext, sb: Any, run_async: Any, tmp_path: Path
) -> None:
    run_async(two_partners(ctx, sb))
    names = sku_names(sb)
    # A usage source and an alert source in one run.
    usage = usage_db(tmp_path / "usage.sqlite3", [("c-0", names[0], 5.0)])
    SourceStore(ctx).save(usage_source(f"sqlite:///{usage}", name="usage"))
    db = _alerts_db(tmp_path / "alerts.sqlite3", [
        ("ev-1", "c-1", "Backup failed", "Job 7 ended with errors", "high", names[0]),
        ("ev-2", "f-2", "Quota almost full", "", "2", ""),
        ("ev-3", "nobody", "Lost", "", "1", ""),  # no partner has this account
        ("ev-4", "c-2", "Bad priority", "", "7", ""),  # refused before anything is sent
        (None, "c-3", "Agent offline", "no key: its content is its identity", "low", ""),
        ("ev-1", "c-5", "Same key again", "", "1", ""),  # one event per key
    ])  # fmt: skip
    SourceStore(ctx).save(_sql_alerts(db))

    first = sync_once(ctx, run_async, trigger="cli")
    assert first.landed == 1  # the usage half ran too
    alerts = first.alerts
    assert (alerts.read, alerts.new, alerts.sent) == (6, 3, 3)
    assert [s.split(": ", 1)[0] for s in alerts.errors] == [
        "monitoring, row 4",
        "monitoring, row 6",
    ]
    assert alerts.errors[1].endswith("the key 'ev-1' is also on row 1")
    assert "priority '7' is not allowed" in alerts.errors[0]
    assert alerts.unmatched == ["monitoring, row 3: no partner has account 'nobody'"]
    assert first.status == "problems" and first.exit_code() == 1
    assert "Alerts: 6 events read, 3 new, 3 sent" in first.message
    contoso, fabrikam = _tickets(sb, PARTNER_DEMO), _tickets(sb, PARTNER_SMALL)
    ev1 = alert_id_for("source:monitoring:key:ev-1")
    assert contoso[ev1] == 1 and sum(contoso.values()) == 2
    assert fabrikam == {alert_id_for("source:monitoring:key:ev-2"): 1}
    (sent_ev1,) = [a for a in sb.state.alert_log(PARTNER_DEMO) if a["alertId"] == ev1]
    assert sent_ev1["priority"] == 3 and sent_ev1["title"] == "Backup failed"

    # The same rows again (a scheduled run an hour later): nothing new, and the tickets of the
    # first run are confirmed.
    second = sync_once(ctx, run_async, trigger="schedule")
    assert (second.alerts.new, second.alerts.sent, second.alerts.seen) == (0, 0, 3)
    assert sum(p.tickets for p in second.alerts.partners) == 3
    assert _tickets(sb, PARTNER_DEMO) == contoso and _tickets(sb, PARTNER_SMALL) == fabrikam

    # The vendor fixes the bad row and a new event arrives: those two only.
    conn = sqlite3.connect(db)
    conn.execute("UPDATE events SET prio = '4' WHERE event_id = 'ev-4'")
    conn.execute("DELETE FROM events WHERE event_id = 'ev-3' OR title = 'Same key again'")
    conn.commit()
    conn.close()
    _alerts_db(db, [("ev-5", "f-0", "Disk failing", "", "very high", "")])
    third = sync_once(ctx, run_async, trigger="cli")
    assert (third.alerts.new, third.alerts.sent) == (2, 2) and third.exit_code() == 0
    assert all(n == 1 for n in (_tickets(sb, PARTNER_DEMO) + _tickets(sb, PARTNER_SMALL)).values())
    assert len(AlertLedger(ctx.db).history()) == 5

    # The run record keeps the alert part for the Sync page.
    (last, *_) = SyncService(ctx).runs.recent(1)
    lines = detail_lines(json.loads(last.details)["alerts"])
    assert lines[0] == "Alerts from 1 source, by partner:"
    assert any(line.startswith("  Fabrikam: 1 new, 1 sent") for line in lines), lines


def test_a_folder_of_events_is_one_set_of_alerts_for_the_sync_and_alert_source(
    ctx: AppContext, sb: Any, run_async: Any, tmp_path: Path
) -> None:
    """Only alert sources set up: the sync runs them (no "no usage source" failure); the same
    folder run by ``alert source`` first is not sent again by the sync."""
    run_async(two_partners(ctx, sb))
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps({"alerts": [
        {"accountId": "c-0", "title": "Backup failed", "eventId": "e-1"},
        {"accountId": "f-1", "title": "Sync stalled", "priority": "medium"},
    ]}))  # fmt: skip

    async def by_hand() -> Any:
        try:
            return await run_alert_source(ctx, folder)
        finally:
            await ctx.aclose()

    assert run_async(by_hand()).recorded == 2
    SourceStore(ctx).save(SourceConfig(name="drop", kind="file", path=str(folder), emits="alerts"))
    (folder / "b.json").write_text(
        json.dumps([{"accountId": "c-4", "title": "Licence expired", "partner": "Contoso"}])
    )
    result = sync_once(ctx, run_async, trigger="schedule")
    assert result.status == "ok", result.message
    assert (result.alerts.read, result.alerts.new, result.alerts.seen) == (3, 1, 2)
    assert result.alerts.sent == 1 and result.exit_code() == 0
    every = _tickets(sb, PARTNER_DEMO) + _tickets(sb, PARTNER_SMALL)
    assert sorted(every.values()) == [1, 1, 1]
    assert alert_id_for("event:e-1") in every


def test_a_dry_run_records_and_sends_nothing_and_the_preview_shows_alerts(
    ctx: AppContext, sb: Any, run_async: Any, tmp_path: Path
) -> None:
    run_async(two_partners(ctx, sb))
    db = _alerts_db(tmp_path / "a.sqlite3", [("k1", "c-1", "Backup failed", "", "1", "")])
    config = SourceStore(ctx).save(_sql_alerts(db))
    dry = sync_once(ctx, run_async, dry_run=True)
    assert dry.alerts.new == 1 and "nothing was recorded or sent" in dry.message
    assert AlertLedger(ctx.db).history() == [] and sb.state.alert_log(PARTNER_DEMO) == []
    shown = run_async(preview(ctx, config))
    assert shown.total == 1 and shown.routed == 1
    assert shown.rows[0][1]["partner"] == "Contoso" and shown.rows[0][1]["key"].endswith("k1")


def test_an_unreadable_alert_source_does_not_hold_back_the_usage(
    ctx: AppContext, sb: Any, run_async: Any, tmp_path: Path
) -> None:
    run_async(two_partners(ctx, sb))
    usage = usage_db(tmp_path / "usage.sqlite3", [("c-0", sku_names(sb)[0], 5.0)])
    SourceStore(ctx).save(usage_source(f"sqlite:///{usage}", name="usage"))
    gone = _alerts_db(tmp_path / "gone.sqlite3", [])
    SourceStore(ctx).save(_sql_alerts(gone))
    gone.unlink()
    result = sync_once(ctx, run_async)
    assert result.landed == 1
    assert result.alerts.unreadable == 1 and "does not exist" in result.alerts.errors[0]
    assert result.exit_code() == 2  # a source needs the user


def test_the_cli_knows_every_alert_field() -> None:
    from gradient_desktop.cli_sync_alerts import ALERT_FIELDS as CLI_FIELDS

    assert CLI_FIELDS == ALERT_FIELDS


def test_an_http_alert_source_is_paged_with_its_keyring_token_and_sent_once(
    ctx: AppContext, sb: Any, run_async: Any, http_source: tuple[str, Any]
) -> None:
    """The vendor's monitoring API as an alert source: two pages (a next link), the bearer token
    kept in the keyring; a second run (the next scheduled hour) sends nothing again."""
    run_async(two_partners(ctx, sb))
    base, handler = http_source
    handler.pages = {
        "/events": {
            "data": [{"id": "m-1", "customer": "c-1", "what": "Backup failed", "sev": "high"}],
            "next": "/events?after=m-1",
        },
        "/events?after=m-1": {
            "data": [{"id": "m-2", "customer": "f-0", "what": "Disk failing", "sev": "1"}],
            "next": None,
        },
    }
    config = SourceConfig(
        name="monitor-api",
        kind="http",
        url=f"{base}/events",
        records_path="data",
        next_path="next",
        emits="alerts",
        alert_fields={"account": "customer", "key": "id", "title": "what", "priority": "sev"},
    )
    store = SourceStore(ctx)
    store.save(config, secret=handler.token)
    assert handler.token not in store.get("monitor-api").to_json()

    first = sync_once(ctx, run_async, trigger="schedule")
    assert first.status == "ok", first.message
    assert (first.alerts.read, first.alerts.new, first.alerts.sent) == (2, 2, 2)
    contoso, fabrikam = _tickets(sb, PARTNER_DEMO), _tickets(sb, PARTNER_SMALL)
    assert contoso == {alert_id_for("source:monitor-api:key:m-1"): 1}
    assert fabrikam == {alert_id_for("source:monitor-api:key:m-2"): 1}
    (sent,) = sb.state.alert_log(PARTNER_DEMO)
    assert sent["title"] == "Backup failed" and sent["priority"] == 3

    second = sync_once(ctx, run_async, trigger="schedule")
    assert (second.alerts.new, second.alerts.sent, second.alerts.seen) == (0, 0, 2)
    assert _tickets(sb, PARTNER_DEMO) == contoso and _tickets(sb, PARTNER_SMALL) == fabrikam

    # A wrong token: the source is named, nothing is sent, the usage would not be held back.
    store.save(store.get("monitor-api"), secret="not-the-token")
    third = sync_once(ctx, run_async, trigger="schedule")
    assert third.exit_code() != 0
    assert any("monitor-api" in e and "401" in e for e in third.alerts.errors), third.alerts.errors
    assert _tickets(sb, PARTNER_DEMO) == contoso
