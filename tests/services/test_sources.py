"""Usage sources (issue #13) read for real: CSV/JSON/XLSX files (fixed or newest in a folder,
one that changes while read), SQLite queries (read-only, failing, wrong types), a local HTTP
JSON server with paging, a bearer token from the keyring and a time-out; and the preview's
problems with their row numbers."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.sources import (
    FieldMap,
    SourceConfig,
    SourceError,
    SourceStore,
    preview,
)
from gradient_desktop.services.sources.readers import read_records
from tests.sync_helpers import sku_ids, sku_names, two_partners, usage_db


def _file(path: Path, **kw: Any) -> SourceConfig:
    return SourceConfig(name="export", kind="file", path=str(path), **kw)


def test_csv_json_and_xlsx_files_read_the_same_records(tmp_path: Path) -> None:
    (tmp_path / "u.csv").write_text("accountId;serviceId;unitCount\nA;s1;3\nB;s2;4.5\n")
    (tmp_path / "u.json").write_text(
        json.dumps({"data": {"rows": [{"accountId": "A", "serviceId": "s1", "unitCount": 3}]}})
    )
    book = Workbook()
    sheet = book.active
    sheet.title = "Usage"
    sheet.append(["accountId", "serviceId", "unitCount"])
    sheet.append([1042, "s1", 3])
    sheet.append([None, None, None])  # Excel's formatted empty rows
    book.save(tmp_path / "u.xlsx")

    csv_rows = asyncio.run(read_records(_file(tmp_path / "u.csv")))
    assert csv_rows == [
        (2, {"accountId": "A", "serviceId": "s1", "unitCount": "3"}),
        (3, {"accountId": "B", "serviceId": "s2", "unitCount": "4.5"}),
    ]
    json_rows = asyncio.run(read_records(_file(tmp_path / "u.json", records_path="data.rows")))
    assert json_rows == [(1, {"accountId": "A", "serviceId": "s1", "unitCount": 3})]
    xlsx_rows = asyncio.run(read_records(_file(tmp_path / "u.xlsx", sheet="Usage")))
    assert xlsx_rows == [(2, {"accountId": 1042, "serviceId": "s1", "unitCount": 3})]
    with pytest.raises(SourceError, match=r"Source 'export': u.xlsx: no sheet named 'Nope'"):
        asyncio.run(read_records(_file(tmp_path / "u.xlsx", sheet="Nope")))


def test_a_folder_source_reads_its_newest_matching_file(tmp_path: Path) -> None:
    old, new = tmp_path / "usage-1.csv", tmp_path / "usage-2.csv"
    old.write_text("accountId,serviceId,unitCount\nOLD,s,1\n")
    new.write_text("accountId,serviceId,unitCount\nNEW,s,1\n")
    (tmp_path / "notes.csv").write_text("x\n")
    os.utime(old, (time.time() - 100, time.time() - 100))
    rows = asyncio.run(read_records(_file(tmp_path, pattern="usage-*.csv")))
    assert rows[0][1]["accountId"] == "NEW"
    with pytest.raises(SourceError, match=r"no file matching 'billing-\*.csv'"):
        asyncio.run(read_records(_file(tmp_path, pattern="billing-*.csv")))


def test_a_file_that_keeps_changing_while_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "usage.csv"
    path.write_text("accountId,serviceId,unitCount\n")
    stop = threading.Event()

    def writer() -> None:  # an export still being written
        with open(path, "a") as fh:
            while not stop.is_set():
                fh.write("A,s,1\n")
                fh.flush()
                time.sleep(0.002)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with pytest.raises(SourceError, match=r"kept changing while it was read"):
            asyncio.run(read_records(_file(path)))
    finally:
        stop.set()
        thread.join()


def test_sqlite_source_is_read_only_and_explains_failures(tmp_path: Path) -> None:
    db = usage_db(tmp_path / "v.sqlite3", [("A", "s", 1.0)])
    config = SourceConfig(name="db", kind="sql", url=f"sqlite:///{db}", query="SELECT * FROM usage")
    assert asyncio.run(read_records(config)) == [(1, {"customer": "A", "product": "s", "qty": 1.0})]
    config.query = "DELETE FROM usage"
    with pytest.raises(SourceError, match=r"Source 'db': the query failed .*readonly"):
        asyncio.run(read_records(config))
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM usage").fetchone() == (1,)
    config.query = "SELECT * FROM no_such_table"
    with pytest.raises(SourceError, match=r"the query failed \(no such table: no_such_table\)"):
        asyncio.run(read_records(config))
    config.url = f"sqlite:///{tmp_path / 'missing.sqlite3'}"
    with pytest.raises(SourceError, match=r"does not exist"):
        asyncio.run(read_records(config))


def test_preview_lists_every_problem_with_its_row(
    ctx: AppContext, sandbox: Any, run_async: Any, tmp_path: Path
) -> None:
    run_async(two_partners(ctx, sandbox))
    name = sku_names(sandbox)[0]
    path = tmp_path / "u.csv"
    path.write_text(
        "acct,svc,n,op\n"
        f"c-0,{name},5,\n"
        f"c-1,{name},lots,\n"
        f"c-2,{name},3,multiply\n"
        f"zz,{name},1,\n"
        "c-3,Unknown product,1,\n"
        f"c-4,{name},2,add\n"
    )
    config = _file(path, mapping=FieldMap(account="acct", service="svc", count="n", op="op"))
    shown = run_async(preview(ctx, config))
    assert shown.columns == ["acct", "svc", "n", "op"] and shown.total == 6 and shown.routed == 2
    assert [str(p) for p in shown.errors] == [
        "export, row 3: n 'lots' is not a number (write counts as plain digits with an optional decimal point, e.g. 1234 or 12.5)",
        "export, row 4: operation 'multiply' is not set, add or subtract",
    ]
    assert [str(p) for p in shown.unmatched] == [
        "export, row 5: no partner has account 'zz'",
        "export, row 6: service 'Unknown product' is not part of Contoso's integration",
    ]


def test_bytes_become_the_storage_unit_of_the_service(
    ctx: AppContext, sandbox: Any, run_async: Any, tmp_path: Path
) -> None:
    from sqlmodel import select

    from gradient_desktop.services.sources.routing import Directory, Routed, route
    from gradient_desktop.store.models import Partner, PartnerService

    partners = run_async(two_partners(ctx, sandbox))
    with ctx.db.write_session() as s:
        svc = s.exec(
            select(PartnerService).where(PartnerService.partner_id == partners[0].id)
        ).first()
        svc.unit_type, svc.storage_unit = "bytes", "GB"
        s.add(svc)
        s.commit()
        everyone = list(s.exec(select(Partner)))
    other = sku_ids(sandbox)[1]
    config = SourceConfig(name="x", kind="file", path="-", mapping=FieldMap(count_unit="bytes"))
    out = Routed()
    records = [
        (1, {"accountId": "c-0", "serviceId": svc.service_id, "unitCount": 3 * 2**30}),
        (2, {"accountId": "c-0", "serviceId": other, "unitCount": 7}),
    ]
    route(config, records, Directory(ctx, everyone), out)
    assert [r.row.unit_count for r in out.rows[partners[0].id]] == [3.0, 7.0]


# -- HTTP -------------------------------------------------------------------------------------


def test_http_source_follows_next_links_with_the_keyring_token(
    ctx: AppContext, http_source: tuple[str, Any], run_async: Any
) -> None:
    base, handler = http_source
    handler.pages = {
        "/usage": {"items": [{"a": "A", "s": "x", "n": 1}], "links": {"next": "/usage?p=2"}},
        "/usage?p=2": {"items": [{"a": "B", "s": "x", "n": 2}], "links": {"next": None}},
    }
    config = SourceConfig(
        name="api",
        kind="http",
        url=f"{base}/usage",
        records_path="items",
        next_path="links.next",
        mapping=FieldMap(account="a", service="s", count="n"),
    )
    store = SourceStore(ctx)
    store.save(config, secret="tok-123")
    saved = store.get("api")
    assert saved.has_secret and "tok-123" not in saved.to_json()
    rows = run_async(read_records(saved, store.secret(saved)))
    assert [r["a"] for _, r in rows] == ["A", "B"]
    with pytest.raises(SourceError, match=r"refused the request \(401\)"):
        run_async(read_records(saved, "wrong"))


def test_http_source_that_times_out_names_the_source(
    http_source: tuple[str, Any], run_async: Any
) -> None:
    base, handler = http_source
    handler.delay = 1.5
    config = SourceConfig(name="slow api", kind="http", url=f"{base}/usage", timeout_s=0.3)
    with pytest.raises(SourceError, match=r"Source 'slow api': .* did not answer within 0.3 s"):
        run_async(read_records(config, "tok-123"))


def test_http_source_can_send_its_secret_in_a_header_of_its_own(
    http_source: tuple[str, Any], run_async: Any
) -> None:
    base, handler = http_source
    seen: list[str | None] = []

    def do_get(self: Any) -> None:
        seen.append(self.headers.get("X-Api-Key"))
        body = json.dumps([{"a": "A", "s": "x", "n": 1}]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    handler.do_GET = do_get
    config = SourceConfig(name="api", kind="http", url=f"{base}/u", auth_header="X-Api-Key")
    assert run_async(read_records(config, "k-1")) == [(1, {"a": "A", "s": "x", "n": 1})]
    assert seen == ["k-1"]


def test_a_json_file_of_the_wrong_shape_says_where_the_records_are_expected(tmp_path: Path) -> None:
    (tmp_path / "u.json").write_text(json.dumps({"rows": 3}))
    with pytest.raises(SourceError, match=r"u.json: the JSON has no 'data' list"):
        asyncio.run(read_records(_file(tmp_path / "u.json", records_path="data")))
    with pytest.raises(SourceError, match=r"expected a list of objects"):
        asyncio.run(read_records(_file(tmp_path / "u.json")))


def test_an_unreachable_mysql_server_is_named(run_async: Any) -> None:
    pytest.importorskip("pymysql", reason="the MySQL driver (extra 'mysql') is not installed")
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = SourceConfig(
        name="shop", kind="sql", url=f"mysql+pymysql://app@127.0.0.1:{port}/shop",
        query="SELECT 1", timeout_s=3,
    )  # fmt: skip
    with pytest.raises(SourceError, match=r"Source 'shop': cannot reach the database at mysql"):
        run_async(read_records(config, "pw"))


def test_an_account_both_partners_know_goes_to_the_one_that_published_it(
    ctx: AppContext, sandbox: Any, run_async: Any
) -> None:
    from sqlmodel import select

    from gradient_desktop.services.sources.routing import Directory, Routed, route
    from gradient_desktop.store.models import Partner, VendorAccount

    contoso, fabrikam = run_async(two_partners(ctx, sandbox))
    with ctx.db.write_session() as s:
        s.add(
            VendorAccount(
                partner_id=contoso.id or 0, account_id="dup", name="D", sync_state="synced"
            )
        )
        s.add(VendorAccount(partner_id=fabrikam.id or 0, account_id="dup", name="D"))  # local only
        s.add(VendorAccount(partner_id=contoso.id or 0, account_id="both", name="B"))
        s.add(VendorAccount(partner_id=fabrikam.id or 0, account_id="both", name="B"))
        s.commit()
        everyone = list(s.exec(select(Partner)))
    sid = sku_ids(sandbox)[0]
    out = Routed()
    records = [
        (1, {"accountId": "dup", "serviceId": sid, "unitCount": 1}),
        (2, {"accountId": "both", "serviceId": sid, "unitCount": 1}),
    ]
    route(SourceConfig(name="x", kind="file", path="-"), records, Directory(ctx, everyone), out)
    assert [(r.row.account_id, r.partner_id) for r in out.rows[contoso.id]] == [("dup", contoso.id)]
    assert [str(p) for p in out.unmatched] == [
        "x, row 2: account 'both' belongs to Contoso, Fabrikam; add a partner column"
    ]


def test_http_source_follows_a_link_header_when_no_next_field_is_set(
    http_source: tuple[str, Any], run_async: Any
) -> None:
    base, handler = http_source

    def do_get(self: Any) -> None:
        page = 2 if self.path.endswith("page=2") else 1
        body = json.dumps([{"a": f"A{page}", "s": "x", "n": page}]).encode()
        self.send_response(200)
        if page == 1:
            self.send_header("Link", '</u?page=2>; rel="next"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    handler.do_GET = do_get
    config = SourceConfig(name="api", kind="http", url=f"{base}/u")
    rows = run_async(read_records(config))
    assert [(n, r["a"]) for n, r in rows] == [(1, "A1"), (2, "A2")]
