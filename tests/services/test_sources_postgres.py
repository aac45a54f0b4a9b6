"""SQL usage sources against a real PostgreSQL server started here (issue #13): the password
from the keyring, a read-only transaction, a wrong password, an unreachable server and a failing
query each named in one clear sentence, and a whole sync from PostgreSQL to two partners.

The server comes from Debian's ``postgresql`` package (scripts/test.sh installs it when root);
PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` user via runuser.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.sandbox.seed import PARTNER_DEMO, PARTNER_SMALL
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.sources import SourceConfig, SourceError, SourceStore
from gradient_desktop.services.sources.readers import read_records
from gradient_desktop.services.sync import SyncService
from tests.sync_helpers import free_port, sku_ids, sku_names, two_partners, usage_source

PASSWORD = "pg-Secret-41"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A PostgreSQL server on a free loopback port; yields its URL without the password."""
    pytest.importorskip("psycopg", reason="psycopg (the PostgreSQL driver) is not installed")
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not bins:
        pytest.skip("PostgreSQL is not installed (scripts/test.sh installs it when root)")
    bindir = Path(bins[-1]).parent
    root = os.geteuid() == 0
    if root and shutil.which("runuser") is None:
        pytest.skip("running PostgreSQL as root needs runuser to switch to the postgres user")
    base = Path(tempfile.mkdtemp(prefix="gd-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    pwfile = base / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if root:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
        shutil.chown(pwfile, "postgres")

    def as_owner(*cmd: str) -> subprocess.CompletedProcess[str]:
        full = ["runuser", "-u", "postgres", "--", *cmd] if root else list(cmd)
        return subprocess.run(full, capture_output=True, text=True, timeout=120, check=False)

    port = free_port()
    init = as_owner(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-U",
        "vendor",
        "--auth=scram-sha-256",
        f"--pwfile={pwfile}",
        "-E",
        "UTF8",
    )
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr.strip()[:300]}")
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1"
    start = as_owner(
        str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-l", str(base / "log"), "start"
    )
    if start.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {start.stderr.strip()[:300]}")
    try:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=port, user="vendor", password=PASSWORD, dbname="postgres"
        ) as conn:
            conn.execute("CREATE TABLE usage (customer text, product text, qty numeric)")
        yield f"postgresql+psycopg://vendor@127.0.0.1:{port}/postgres"
    finally:
        as_owner(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def _fill(url: str, rows: list[tuple[str, str, float]]) -> None:
    import psycopg

    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with psycopg.connect(
        host="127.0.0.1", port=port, user="vendor", password=PASSWORD, dbname="postgres"
    ) as conn:
        conn.execute("DELETE FROM usage")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO usage VALUES (%s, %s, %s)", rows)


def _source(url: str, query: str = "SELECT customer, product, qty FROM usage") -> SourceConfig:
    return usage_source(url, "billing db", query, timeout_s=5)


def test_password_comes_from_the_keyring_and_the_query_runs_read_only(
    postgres: str, ctx: AppContext, run_async: Any
) -> None:
    _fill(postgres, [("A", "s", 2.5)])
    store = SourceStore(ctx)
    store.save(_source(postgres), secret=PASSWORD)
    saved = store.get("billing db")
    assert PASSWORD not in saved.to_json() and PASSWORD not in saved.describe()
    rows = run_async(read_records(saved, store.secret(saved)))
    assert [(n, r["customer"], float(r["qty"])) for n, r in rows] == [(1, "A", 2.5)]
    saved.query = "INSERT INTO usage VALUES ('x', 'y', 1) RETURNING customer"
    with pytest.raises(SourceError, match=r"read-only transaction"):
        run_async(read_records(saved, PASSWORD))


def test_wrong_password_unreachable_server_and_failing_query_are_named(
    postgres: str, run_async: Any
) -> None:
    with pytest.raises(
        SourceError,
        match=r"Source 'billing db': the database at .* refused the user name or password",
    ) as err:
        run_async(read_records(_source(postgres), "not-the-password"))
    assert "not-the-password" not in str(err.value)
    closed = postgres.rsplit(":", 1)[0] + f":{free_port()}/postgres"
    with pytest.raises(
        SourceError, match=r"cannot reach the database at .*Check that it is running"
    ):
        run_async(read_records(_source(closed), PASSWORD))
    with pytest.raises(SourceError, match=r'the query failed \(relation "nope" does not exist'):
        run_async(read_records(_source(postgres, "SELECT * FROM nope"), PASSWORD))


def test_sync_from_postgres_reaches_both_partners(
    postgres: str, ctx: AppContext, sandbox: Any, run_async: Any
) -> None:
    run_async(two_partners(ctx, sandbox))
    names, ids = sku_names(sandbox), sku_ids(sandbox)
    _fill(postgres, [("c-0", names[0], 4), ("c-1", names[2], 1.5), ("f-3", names[1], 9)])
    SourceStore(ctx).save(_source(postgres), secret=PASSWORD)

    async def go() -> Any:
        try:
            return await SyncService(ctx).run()
        finally:
            await ctx.aclose()

    result = run_async(go())
    assert result.exit_code() == 0 and result.landed == 3
    assert sandbox.state.counts(PARTNER_DEMO)[(ids[2], "c-1")]["unitCount"] == 1.5
    assert sandbox.state.counts(PARTNER_SMALL)[(ids[1], "f-3")]["unitCount"] == 9
