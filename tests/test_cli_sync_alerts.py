"""``source add --alerts`` and the alert part of ``sync`` (issue #15 over #13), in-process
against a live sandbox: a wrong --alert-field is refused with what to write, the source is listed
as an alert source, and a sync prints a row per partner for its alerts and exits 0 only when
every event went."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.cli import main
from gradient_desktop.sandbox.seed import PARTNER_DEMO, PARTNER_SMALL
from gradient_desktop.services.context import AppContext
from tests.sync_helpers import two_partners


@pytest.fixture
def partners(sandbox_factory: Any, run_async: Any) -> Any:
    sb = sandbox_factory(seed="demo", alert_delay_ms=0)
    ctx = AppContext.open()
    try:
        run_async(two_partners(ctx, sb))
    finally:
        ctx.close()
    return sb


def test_a_folder_alert_source_from_the_cli_is_sent_by_sync_once(
    partners: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sb = partners
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "one.json").write_text(json.dumps([
        {"accountId": "c-1", "title": "Backup failed", "eventId": "x1", "priority": "high"},
        {"accountId": "f-0", "title": "Agent offline", "eventId": "x2"},
        {"accountId": "zzz", "title": "Nobody's", "eventId": "x3"},
    ]))  # fmt: skip
    add = ["source", "add", "drop", "--kind", "file", "--path", str(folder), "--alerts"]
    assert main([*add, "--alert-field", "severity=level"]) == 2
    assert "--alert-field 'severity=level': write FIELD=COLUMN" in capsys.readouterr().err
    assert main([*add]) == 0
    out = capsys.readouterr().out
    assert "3 rows; 0 routed to a partner." in out  # a file goes whole or not at all
    assert (
        "unmatched: one.json, event 3: no partner has account 'zzz' (none of one.json's events "
        "is sent until this is fixed)"
    ) in out
    assert main(["source", "list"]) == 0
    assert capsys.readouterr().out == f"drop\tfile\talerts from {folder}\n"

    assert main(["sync", "--all"]) == 1  # the unmatched file holds its events back
    captured = capsys.readouterr()
    assert "0 new, 0 sent" in captured.err and "alert unmatched: one.json, event 3" in captured.err

    (folder / "one.json").write_text(json.dumps([
        {"accountId": "c-1", "title": "Backup failed", "eventId": "x1", "priority": "high"},
        {"accountId": "f-0", "title": "Agent offline", "eventId": "x2"},
    ]))  # fmt: skip
    assert main(["sync", "--all"]) == 0
    captured = capsys.readouterr()
    assert "alerts:\n  partner   new  sent  unknown  refused  waiting  tickets  failed" in (
        captured.out
    )
    assert "  Contoso   1    1     0        0        0        0        0" in captured.out
    assert "Alerts: 2 events read, 2 new, 2 sent." in captured.err
    assert main(["sync", "--all"]) == 0  # again: nothing new, the tickets are confirmed
    assert "2 tickets confirmed" in capsys.readouterr().err
    tickets = [t["alertId"] for k in (PARTNER_DEMO, PARTNER_SMALL) for t in sb.state.tickets(k)]
    assert len(tickets) == len(set(tickets)) == 2
