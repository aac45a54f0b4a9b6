"""Sync every partner in one run (issue #13) against a live sandbox over a real socket, from a
real SQLite usage database: routing, diffing against the ledger, --full, dry runs, run records,
and the rule that a broken source sends nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.sandbox.seed import PARTNER_DEMO, PARTNER_SMALL
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.sources import FieldMap, SourceConfig, SourceStore
from gradient_desktop.services.sync import SyncService
from tests.sync_helpers import (
    free_port,
    sku_ids,
    sku_names,
    sync_once,
    two_partners,
    usage_db,
    usage_source,
)


def _csv_export(ctx: AppContext, tmp_path: Path, text: str) -> Path:
    """A CSV export with an ``op`` column (set, add or subtract), saved as the source "export";
    returns its path, to write the next export over it."""
    path = tmp_path / "usage.csv"
    path.write_text(text)
    SourceStore(ctx).save(
        SourceConfig(
            name="export",
            kind="file",
            path=str(path),
            mapping=FieldMap(account="acct", service="svc", count="n", op="op"),
        )
    )
    return path


def test_one_sql_source_reaches_both_partners_and_only_changes_are_sent_again(
    ctx: AppContext, sandbox: Any, run_async: Any, tmp_path: Path
) -> None:
    run_async(two_partners(ctx, sandbox))
    names = sku_names(sandbox)
    ids = sku_ids(sandbox)
    rows = [(f"c-{i}", names[0], float(i + 1)) for i in range(6)]  # by service name
    rows += [(f"f-{i}", ids[1], 10.0 * (i + 1)) for i in range(4)]  # by service id
    rows += [("nobody", names[0], 3.0)]
    db = usage_db(tmp_path / "vendor.sqlite3", rows)
    SourceStore(ctx).save(usage_source(f"sqlite:///{db}"))

    first = sync_once(ctx, run_async, trigger="cli")
    assert first.read == 11
    assert first.changed == 10 and first.landed == 10
    assert [str(p) for p in first.unmatched] == [
        "product db, row 11: no partner has account 'nobody'"
    ]
    assert first.exit_code() == 1  # an unmatched row is listed, and the exit says so
    contoso = sandbox.state.counts(PARTNER_DEMO)
    fabrikam = sandbox.state.counts(PARTNER_SMALL)
    assert contoso[(ids[0], "c-5")]["unitCount"] == 6
    assert fabrikam[(ids[1], "f-3")]["unitCount"] == 40
    assert sandbox.state.rebuilds(PARTNER_DEMO) == 1
    assert sandbox.state.rebuilds(PARTNER_SMALL) == 1

    # One value changes in the vendor's database: only that count goes out.
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("UPDATE usage SET qty = 99 WHERE customer = 'f-2'")
    conn.execute("DELETE FROM usage WHERE customer = 'nobody'")
    conn.commit()
    conn.close()
    second = sync_once(ctx, run_async)
    assert second.changed == 1 and second.landed == 1 and second.exit_code() == 0
    assert sandbox.state.counts(PARTNER_SMALL)[(ids[1], "f-2")]["unitCount"] == 99
    assert sandbox.state.rebuilds(PARTNER_DEMO) == 1  # nothing for Contoso: no rebuild

    full = sync_once(ctx, run_async, full=True, partners=["Contoso"])
    assert full.changed == 6 and full.landed == 6
    assert [p.name for p in full.partners] == ["Contoso"]

    runs = SyncService(ctx).runs.recent()
    assert [r.status for r in runs] == ["ok", "ok", "problems"]
    assert runs[-1].trigger == "cli" and runs[-1].unmatched == 1
    details = json.loads(runs[-1].details)
    assert {p["name"]: p["landed"] for p in details["partners"]} == {"Contoso": 6, "Fabrikam": 4}


def test_dry_run_sends_nothing(
    ctx: AppContext, sandbox: Any, run_async: Any, tmp_path: Path
) -> None:
    run_async(two_partners(ctx, sandbox))
    db = usage_db(tmp_path / "v.sqlite3", [("c-0", sku_names(sandbox)[0], 5.0)])
    SourceStore(ctx).save(usage_source(f"sqlite:///{db}"))
    result = sync_once(ctx, run_async, dry_run=True)
    assert result.status == "dry-run" and result.changed == 1
    assert sandbox.state.counts(PARTNER_DEMO) == {}


def test_errors_in_a_source_stop_the_whole_run_before_anything_is_queued(
    ctx: AppContext, sandbox: Any, run_async: Any, tmp_path: Path
) -> None:
    run_async(two_partners(ctx, sandbox))
    name = sku_names(sandbox)[0]
    db = usage_db(
        tmp_path / "v.sqlite3",
        [("c-0", name, 5.0), ("c-1", name, 1.0), ("c-1", name, 2.0), ("f-0", name, 1.0)],
    )
    SourceStore(ctx).save(usage_source(f"sqlite:///{db}"))
    result = sync_once(ctx, run_async)
    assert result.status == "failed" and result.exit_code() == 2
    assert "product db, row 3: account 'c-1' × " in result.message
    assert "appears twice (also row 2)" in result.message
    assert sandbox.state.counts(PARTNER_DEMO) == {} and sandbox.state.counts(PARTNER_SMALL) == {}
    assert ctx.outbox.pending_count(1) == 0 and ctx.outbox.pending_count(2) == 0


def test_add_rows_are_not_repeated_while_their_source_is_unchanged(
    ctx: AppContext, sandbox: Any, run_async: Any, tmp_path: Path
) -> None:
    run_async(two_partners(ctx, sandbox))
    sid, name = sku_ids(sandbox)[0], sku_names(sandbox)[0]
    csv_path = _csv_export(ctx, tmp_path, f"acct,svc,n,op\nc-0,{name},10,set\n")
    assert sync_once(ctx, run_async).landed == 1
    csv_path.write_text(f"acct,svc,n,op\nc-0,{name},3,add\n")
    assert sync_once(ctx, run_async).landed == 1
    assert sandbox.state.counts(PARTNER_DEMO)[(sid, "c-0")]["unitCount"] == 13
    again = sync_once(ctx, run_async)  # same file: the add must not count twice
    assert again.changed == 0
    assert sync_once(ctx, run_async, full=True).changed == 0  # not even when re-sending everything
    assert sandbox.state.counts(PARTNER_DEMO)[(sid, "c-0")]["unitCount"] == 13


def test_an_unreachable_source_stops_the_run_and_names_the_source(
    ctx: AppContext, sandbox: Any, run_async: Any, tmp_path: Path
) -> None:
    import socket

    run_async(two_partners(ctx, sandbox))
    db = usage_db(tmp_path / "v.sqlite3", [("c-0", sku_names(sandbox)[0], 5.0)])
    SourceStore(ctx).save(usage_source(f"sqlite:///{db}"))
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    SourceStore(ctx).save(SourceConfig(name="api", kind="http", url=f"http://127.0.0.1:{port}/u"))
    result = sync_once(ctx, run_async)
    assert result.status == "failed" and result.exit_code() == 2
    assert result.message.startswith("Source 'api': cannot reach http://127.0.0.1:")
    assert result.message.endswith("Nothing was sent.")
    assert sandbox.state.counts(PARTNER_DEMO) == {}
    assert SyncService(ctx).runs.recent()[0].status == "failed"


def test_wrong_types_from_a_query_are_errors_with_row_numbers(
    ctx: AppContext, sandbox: Any, run_async: Any, tmp_path: Path
) -> None:
    run_async(two_partners(ctx, sandbox))
    name = sku_names(sandbox)[0]
    db = usage_db(tmp_path / "v.sqlite3", [("c-0", name, 5.0)])
    import sqlite3

    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO usage VALUES ('c-1', ?, 'twelve')", (name,))
    conn.execute("INSERT INTO usage VALUES ('c-2', ?, NULL)", (name,))
    conn.commit()
    conn.close()
    SourceStore(ctx).save(usage_source(f"sqlite:///{db}"))
    result = sync_once(ctx, run_async)
    assert result.exit_code() == 2
    assert [str(e) for e in result.errors] == [
        "product db, row 2: qty 'twelve' is not a number (write counts as plain digits with an optional decimal point, e.g. 1234 or 12.5)",
        "product db, row 3: qty must be a number",
    ]
    assert sandbox.state.counts(PARTNER_DEMO) == {}


def test_a_partner_without_its_key_fails_alone_with_exit_2(
    ctx: AppContext, sandbox: Any, run_async: Any, tmp_path: Path
) -> None:
    _, fabrikam = run_async(two_partners(ctx, sandbox))
    name = sku_names(sandbox)[0]
    db = usage_db(tmp_path / "v.sqlite3", [("c-0", name, 5.0), ("f-0", name, 6.0)])
    SourceStore(ctx).save(usage_source(f"sqlite:///{db}"))
    ctx.keys.delete_partner_key(fabrikam)
    result = sync_once(ctx, run_async)
    assert result.exit_code() == 2
    by_name = {p.name: p for p in result.partners}
    assert by_name["Contoso"].push is not None and by_name["Contoso"].push.landed == 1
    assert "No partner API key is stored for 'Fabrikam'" in (by_name["Fabrikam"].error or "")
    assert sandbox.state.counts(PARTNER_SMALL) == {}
    assert ctx.outbox.pending_count(fabrikam.id or 0) == 1  # queued for when the key is back


def test_an_add_skipped_for_one_partner_still_reaches_the_others_later(
    ctx: AppContext, sandbox: Any, run_async: Any, tmp_path: Path
) -> None:
    run_async(two_partners(ctx, sandbox))
    sid, name = sku_ids(sandbox)[0], sku_names(sandbox)[0]
    csv_path = _csv_export(ctx, tmp_path, f"acct,svc,n,op\nc-0,{name},10,set\nf-0,{name},20,set\n")
    assert sync_once(ctx, run_async).landed == 2
    csv_path.write_text(f"acct,svc,n,op\nc-0,{name},1,add\nf-0,{name},2,add\n")
    assert sync_once(ctx, run_async, partners=["Contoso"]).landed == 1
    # Fabrikam's add was not sent by the Contoso-only run: the next full run sends it, once.
    later = sync_once(ctx, run_async)
    assert later.landed == 1 and [p.changed for p in later.partners] == [0, 1]
    assert sandbox.state.counts(PARTNER_DEMO)[(sid, "c-0")]["unitCount"] == 11
    assert sandbox.state.counts(PARTNER_SMALL)[(sid, "f-0")]["unitCount"] == 22
    assert sync_once(ctx, run_async).changed == 0


def test_a_count_the_msp_has_not_mapped_is_reported_as_unmapped(
    ctx: AppContext, sandbox: Any, run_async: Any, tmp_path: Path
) -> None:
    run_async(two_partners(ctx, sandbox))
    name = sku_names(sandbox)[0]
    sandbox.state.unmap_account(PARTNER_SMALL, "f-1")
    db = usage_db(tmp_path / "v.sqlite3", [("f-0", name, 1.0), ("f-1", name, 2.0)])
    SourceStore(ctx).save(usage_source(f"sqlite:///{db}"))
    result = sync_once(ctx, run_async)
    assert (result.landed, result.unmapped, result.failed, result.exit_code()) == (1, 1, 0, 1)
    assert result.message == "2 rows read, 2 changed, 1 landed, 1 not mapped by the MSP yet."
    run = SyncService(ctx).runs.recent()[0]
    assert (run.status, run.unmapped) == ("problems", 1)
    fabrikam = next(p for p in result.partners if p.name == "Fabrikam")
    assert fabrikam.push is not None
    assert [(a, o) for a, _, o, _ in fabrikam.push.problems] == [("f-1", "unmapped")]


def test_no_keyring_for_a_source_secret_fails_the_run_with_what_to_do(
    ctx: AppContext, sandbox: Any, run_async: Any, tmp_path: Path
) -> None:
    import keyring
    from keyring.backends.fail import Keyring as FailKeyring

    run_async(two_partners(ctx, sandbox))
    db = usage_db(tmp_path / "v.sqlite3", [("c-0", sku_names(sandbox)[0], 5.0)])
    SourceStore(ctx).save(usage_source(f"sqlite:///{db}"), secret="pw")
    keyring.set_keyring(FailKeyring())
    result = sync_once(ctx, run_async)
    assert result.status == "failed" and result.exit_code() == 2
    assert result.message.startswith("No secure key storage (system keyring) is available")
    assert result.message.endswith("Nothing was sent.")
    assert SyncService(ctx).runs.recent()[0].status == "failed"


def test_an_add_to_a_count_never_set_is_refused_for_that_partner_only(
    ctx: AppContext, sandbox: Any, run_async: Any, tmp_path: Path
) -> None:
    """Adds become absolute totals at enqueue (#12); with no known total the outbox refuses
    them, and the sync says so for that partner while the others land."""
    contoso, _ = run_async(two_partners(ctx, sandbox))
    name = sku_names(sandbox)[0]
    csv_path = _csv_export(ctx, tmp_path, f"acct,svc,n,op\nc-0,{name},3,add\nf-0,{name},4,set\n")
    result = sync_once(ctx, run_async)
    assert result.exit_code() == 2 and result.landed == 1
    refused = next(p for p in result.partners if p.name == "Contoso")
    assert (refused.error or "").startswith("Cannot add to or subtract from account c-0")
    assert ctx.outbox.pending_count(contoso.id or 0) == 0  # nothing of it was queued
    assert sandbox.state.counts(PARTNER_DEMO) == {}

    # The user sets a total first: the same add, refused before, now goes out once.
    csv_path.write_text(f"acct,svc,n,op\nc-0,{name},10,set\nf-0,{name},4,set\n")
    assert sync_once(ctx, run_async).landed == 1
    csv_path.write_text(f"acct,svc,n,op\nc-0,{name},3,add\nf-0,{name},4,set\n")
    assert sync_once(ctx, run_async).landed == 1
    assert sandbox.state.counts(PARTNER_DEMO)[(sku_ids(sandbox)[0], "c-0")]["unitCount"] == 13


def _changing_file(tmp_path: Path, name: str) -> tuple[SourceConfig, Any]:
    """An export still being written for as long as the sync runs."""
    import threading
    import time

    path = tmp_path / "export.csv"
    path.write_text(f"accountId,serviceId,unitCount\nf-0,{name},1\n")
    stop = threading.Event()

    def writer() -> None:
        with open(path, "a") as fh:
            while not stop.is_set():
                fh.write(f"f-1,{name},1\n")
                fh.flush()
                time.sleep(0.002)

    thread = threading.Thread(target=writer)
    thread.start()

    def done() -> None:
        stop.set()
        thread.join()

    return SourceConfig(name="nightly export", kind="file", path=str(path)), done


def _silent_http(tmp_path: Path, name: str) -> tuple[SourceConfig, Any]:
    """An endpoint that accepts the connection and never answers."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    url = f"http://127.0.0.1:{server.getsockname()[1]}/usage"
    return SourceConfig(name="product api", kind="http", url=url, timeout_s=0.5), server.close


def _failing_query(tmp_path: Path, name: str) -> tuple[SourceConfig, Any]:
    db = usage_db(tmp_path / "other.sqlite3", [("f-0", name, 1.0)])
    config = usage_source(f"sqlite:///{db}", "billing db")
    config.query = "SELECT customer, product, qty FROM usage_2026"  # renamed by an upgrade
    return config, lambda: None


def _unreachable_mysql(tmp_path: Path, name: str) -> tuple[SourceConfig, Any]:
    pytest.importorskip("pymysql", reason="the MySQL driver (extra 'mysql') is not installed")
    url = f"mysql+pymysql://app@127.0.0.1:{free_port()}/shop"
    return SourceConfig(name="shop db", kind="sql", url=url, query="SELECT 1", timeout_s=3), (
        lambda: None
    )


@pytest.mark.parametrize(
    ("bad_source", "expected"),
    [
        (_changing_file, r"Source 'nightly export': .*export\.csv kept changing while it was read"),
        (_silent_http, r"Source 'product api': http://127\.0\.0\.1:\d+/usage did not answer within 0\.5 s\."),
        (_failing_query, r"Source 'billing db': the query failed \(no such table: usage_2026\)"),
        (_unreachable_mysql, r"Source 'shop db': cannot reach the database at mysql\+pymysql://app@127"),
    ],
    ids=["file-changing-while-read", "http-timeout", "failing-query", "unreachable-database"],
)  # fmt: skip
def test_one_bad_source_names_itself_and_nothing_of_any_source_is_sent(
    ctx: AppContext,
    sandbox: Any,
    run_async: Any,
    tmp_path: Path,
    bad_source: Any,
    expected: str,
) -> None:
    """A good source for both partners plus one that cannot be read whole: the run stops
    before anything is queued, for every partner, and its message names the bad source once."""
    import re

    partners = run_async(two_partners(ctx, sandbox))
    name = sku_names(sandbox)[0]
    db = usage_db(tmp_path / "v.sqlite3", [("c-0", name, 5.0)])
    SourceStore(ctx).save(usage_source(f"sqlite:///{db}"))
    config, cleanup = bad_source(tmp_path, name)
    try:
        SourceStore(ctx).save(config)
        result = sync_once(ctx, run_async)
    finally:
        cleanup()
    assert result.status == "failed" and result.exit_code() == 2
    assert re.match(expected, result.message), result.message
    assert result.message.endswith(".") and result.message.count("Nothing was sent.") == 1
    assert result.message.lower().count("nothing was sent") == 1
    assert sandbox.state.counts(PARTNER_DEMO) == {} and sandbox.state.counts(PARTNER_SMALL) == {}
    assert all(ctx.outbox.pending_count(p.id or 0) == 0 for p in partners)
    run = SyncService(ctx).runs.recent()[0]
    assert (run.status, run.message) == ("failed", result.message)


def test_a_run_over_many_partners_copies_the_database_once_and_marks_every_row(
    ctx: AppContext, sandbox: Any, run_async: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    from gradient_desktop.store.backups import backup_dir
    from gradient_desktop.store.db import Database

    copies_made: list[Path] = []
    real_backup = Database.backup_to

    def counted(self: Database, target: Path) -> None:  # the real copy, counted
        copies_made.append(target)
        real_backup(self, target)

    monkeypatch.setattr(Database, "backup_to", counted)

    run_async(two_partners(ctx, sandbox))
    ids = sku_ids(sandbox)
    rows = [(f"c-{i}", sku, float(i + 1)) for i in range(6) for sku in ids]
    rows += [(f"f-{i}", sku, float(i + 2)) for i in range(4) for sku in ids]
    db = usage_db(tmp_path / "vendor.sqlite3", rows)
    SourceStore(ctx).save(usage_source(f"sqlite:///{db}"))
    folder = backup_dir(ctx.db)
    before = set(folder.glob("*.sqlite3")) if folder.exists() else set()

    result = sync_once(ctx, run_async)
    assert result.landed == 30 and all(p.push and p.push.rebuilt for p in result.partners)
    # Both partners' results went through the shared batch: none is left unresolved.
    for partner in SyncService(ctx).partners():
        states = ctx.outbox.counts_by_state(partner.id or 0)
        assert set(states) == {"sent"} and sum(states.values()) in (18, 12)
    copies = set(folder.glob("*.sqlite3")) - before
    # One copy of the ledger for the run, not one per partner.
    assert len(copies_made) == 1 and copies == set(copies_made)
    assert not list(folder.glob("*.partial"))
