"""The ``alert`` CLI and the folder alert source, in process, against the sandbox on a socket."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.cli import main
from gradient_desktop.config import database_path
from gradient_desktop.services.alert_source import run_alert_source
from gradient_desktop.services.context import AppContext
from gradient_desktop.store import open_database
from gradient_desktop.store.alerts import AlertLedger
from gradient_desktop.store.models import VendorAccount
from tests.reliability.helpers import add_partner, new_partner


@pytest.fixture
def env(sandbox_factory: Any) -> Any:
    sb = sandbox_factory(seed="demo", rate_limit=None, alert_delay_ms=50)
    key, _ = new_partner(sb.state, 6, prefix="cli")
    sb.state.unmap_account(key, "acc-5")
    ctx = AppContext(open_database(database_path()))
    add_partner(ctx, sb.base_url, key)
    ctx.close()
    return sb, key


def tickets(sb: Any, key: str) -> Counter[str]:
    return Counter(t["alertId"] for t in sb.state.tickets(key))


def ledger() -> AlertLedger:
    return AlertLedger(open_database(database_path()))


def test_send_one_alert_and_see_its_ticket(env: Any, capsys: Any) -> None:
    sb, key = env
    code = main(
        ["alert", "send", "--partner", "Contoso", "--account", "acc-1", "--title", "Disk full",
         "--priority", "very-high", "--due", "2026-12-31", "--wait", "10"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    (row,) = ledger().history()
    assert row.priority == 4 and row.state == "success"
    assert f"ticket {row.ticket_id} created: 'Disk full' for account acc-1" in out
    assert tickets(sb, key) == {row.alert_id: 1}
    assert main(["alert", "list", "--partner", "Contoso"]) == 0
    listed = capsys.readouterr().out
    assert "Disk full\tvery high" in listed and "ticket created" in listed


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--account", "acc-1", "--title", ""], "the title is empty"),
        (["--account", "acc-1", "--title", "t", "--priority", "7"], "priority '7' is not allowed"),
        (["--account", "nobody", "--title", "t"], "account nobody is not one of Contoso's"),
    ],
    ids=["empty title", "priority 7", "unknown account"],
)
def test_bad_input_sends_nothing(env: Any, capsys: Any, args: list[str], words: str) -> None:
    sb, key = env
    assert main(["alert", "send", "--partner", "Contoso", *args]) == 2
    assert words in capsys.readouterr().err
    assert ledger().history() == [] and not sb.state.alert_log(key)


def test_a_file_with_bad_rows_is_refused_whole_with_row_numbers(
    env: Any, tmp_path: Path, capsys: Any
) -> None:
    sb, key = env
    batch = tmp_path / "alerts.csv"
    batch.write_text("accountId,title,priority,status\nacc-1,A,low,1\nacc-2,,high,1\nacc-3,C,2,9\n")
    assert main(["alert", "send", str(batch), "--partner", "Contoso"]) == 2
    err = capsys.readouterr().err
    assert "row 3: the title is empty" in err and "row 4: PSA status '9'" in err
    assert not sb.state.alert_log(key)
    batch.write_text("accountId,title\nacc-1,A\nnobody,B\n")
    assert main(["alert", "send", str(batch), "--partner", "Contoso"]) == 2
    assert "row 3: account nobody is not one of Contoso's accounts" in capsys.readouterr().err
    batch.write_text("accountId,title,priority\nacc-1,A,low\nacc-5,B,high\n")
    assert main(["alert", "send", str(batch), "--partner", "Contoso", "--wait", "10"]) == 1
    out = capsys.readouterr().out
    assert "failed: 'B' for account acc-5 (" in out and "The MSP has not mapped this account" in out
    assert main(["alert", "send", str(batch), "--partner", "Contoso", "--wait", "0"]) == 0
    assert "2 alerts of this input were recorded before" in capsys.readouterr().out
    assert sum(tickets(sb, key).values()) == 1 and len(sb.state.alert_log(key)) == 2


def test_an_unknown_outcome_is_listed_by_trace_and_settled_with_confirm(
    env: Any, capsys: Any, tmp_path: Path
) -> None:
    sb, key = env
    sb.options.update({"fail_after_apply_rate": 1.0})  # applied, then answered 500
    assert (
        main(["alert", "send", "--partner", "Contoso", "--account", "acc-2", "--title", "Fan"]) == 1
    )
    out = capsys.readouterr().out
    (row,) = ledger().history()
    assert row.state == "unknown" and f"alert confirm {row.alert_id} --mark-sent" in out
    sb.options.update({"fail_after_apply_rate": 0.0})
    assert main(["alert", "trace", "--stuck", "--wait", "1"]) == 1
    assert f"outcome unknown: 'Fan' for account acc-2 ({row.alert_id})" in capsys.readouterr().out
    assert main(["alert", "confirm", row.alert_id, "--mark-sent"]) == 0
    assert main(["alert", "confirm", row.alert_id, "--resend"]) == 2  # decided already
    assert ledger().get(row.alert_id).state == "marked_sent"
    assert tickets(sb, key) == {row.alert_id: 1}, sb.state.alert_log(key)
    exported = tmp_path / "alerts.csv"
    assert main(["alert", "list", "--status", "marked_sent", "--csv", str(exported)]) == 0
    assert row.alert_id in exported.read_text(encoding="utf-8")


def test_the_folder_source_routes_records_once_and_sends(env: Any, tmp_path: Path) -> None:
    sb, key = env
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(
        [{"accountId": "acc-1", "title": "Backup failed", "priority": 2.0, "dueDateTime": None, "serviceId": ""},
         {"accountId": "acc-3", "title": "Quota", "eventId": "ev-9", "partner": "Contoso"}]
    ))  # fmt: skip
    (folder / "b.json").write_text(
        json.dumps({"accountId": "acc-2", "title": "", "partner": "Contoso"})
    )
    ctx = AppContext(open_database(database_path()))
    with ctx.db.session() as s:  # the local account list routes acc-1 to Contoso
        s.add(
            VendorAccount(partner_id=1, account_id="acc-1", name="Account 1", is_mapped_remote=True)
        )
        s.commit()

    async def run(**kw: Any) -> Any:
        try:
            return await run_alert_source(ctx, folder, **kw)
        finally:
            await ctx.aclose()

    first = asyncio.run(run(trace_timeout=10))
    assert first.recorded == 2 and first.files == 1 and not first.ok
    assert first.problems == ["b.json, event 1: the title is empty"]
    assert len(first.sent["Contoso"].accepted) == 2
    again = asyncio.run(run(archive=True))
    assert again.recorded == 0 and again.already == 2 and (folder / "sent" / "a.json").exists()
    assert (folder / "b.json").exists()  # a bad file stays for the user to fix
    assert sorted(tickets(sb, key).values()) == [1, 1]
    ctx.close()
