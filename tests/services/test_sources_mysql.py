"""SQL usage sources against a real MariaDB server started here (issue #13): the password from
the keyring, the query in a read-only transaction, a wrong password, an unreachable server and a
failing query each named in one clear sentence, and a whole sync from MariaDB to two partners,
where a source that cannot be read sends nothing to anyone.

The server is Debian's ``mariadb-server`` (scripts/test.sh installs it when root), run from a
throw-away data folder on a free loopback port; as root it runs as the ``mysql`` user.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import tempfile
import time
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

PASSWORD = "my-Secret-73"
pytestmark = pytest.mark.slow


class _Server:
    def __init__(self, base: Path, port: int, admin: list[str]) -> None:
        self.base, self.port, self.admin = base, port, admin

    def sql(self, statements: str) -> None:
        """Run SQL as the server's administrator (over its socket, with the mariadb client)."""
        done = subprocess.run(
            [*self.admin, "-e", statements], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr

    @property
    def url(self) -> str:
        return f"mysql+pymysql://vendor@127.0.0.1:{self.port}/shop"


def _tool(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or next(
            (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
        )
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def mariadb() -> Iterator[_Server]:
    pytest.importorskip("pymysql", reason="pymysql (the MySQL/MariaDB driver) is not installed")
    server = _tool("mariadbd", "mysqld")
    install = _tool("mariadb-install-db", "mysql_install_db")
    client = _tool("mariadb", "mysql")
    if not (server and install and client):
        pytest.skip("MariaDB is not installed (scripts/test.sh installs mariadb-server when root)")
    root = os.geteuid() == 0
    as_user: list[str] = []
    if root:
        import pwd

        try:
            pwd.getpwnam("mysql")
        except KeyError:
            pytest.skip("running MariaDB as root needs the mysql user (made by mariadb-server)")
        as_user = ["--user=mysql"]
    base = Path(tempfile.mkdtemp(prefix="gd-my-"))
    if root:
        shutil.chown(base, "mysql")
    data, sock, log = base / "data", base / "sock", base / "server.log"
    init = subprocess.run(
        [install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=socket",
         "--skip-test-db", *as_user],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"mariadb-install-db failed: {(init.stderr or init.stdout).strip()[-300:]}")
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [server, "--no-defaults", f"--datadir={data}", f"--socket={sock}", f"--port={port}",
             "--bind-address=127.0.0.1", "--skip-name-resolve", "--skip-log-bin",
             f"--pid-file={base / 'pid'}", "--innodb-buffer-pool-size=16M", *as_user],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "ready for connections" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"MariaDB did not start: {log.read_text(errors='replace')[-300:]}")
            time.sleep(0.1)
        # The administrator is the OS user that made the data folder (unix_socket login).
        admin = [
            client,
            "--no-defaults",
            f"--socket={sock}",
            "-u",
            "root" if root else getpass.getuser(),
        ]
        db = _Server(base, port, admin)
        db.sql(
            "CREATE DATABASE shop;"
            f"CREATE USER 'vendor'@'%' IDENTIFIED BY '{PASSWORD}';"
            "GRANT ALL ON shop.* TO 'vendor'@'%';"
            "CREATE TABLE shop.usage (customer VARCHAR(64), product VARCHAR(128), qty DECIMAL(14,3));"
        )
        yield db
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def _fill(db: _Server, rows: list[tuple[str, str, float]]) -> None:
    values = ", ".join(f"('{a}', '{s}', {n})" for a, s, n in rows)
    db.sql("DELETE FROM shop.usage;" + (f"INSERT INTO shop.usage VALUES {values};" if rows else ""))


def _source(url: str, query: str = "SELECT customer, product, qty FROM `usage`") -> SourceConfig:
    return usage_source(url, "shop db", query, timeout_s=5)


def test_password_comes_from_the_keyring_and_the_query_runs_read_only(
    mariadb: _Server, ctx: AppContext, run_async: Any
) -> None:
    _fill(mariadb, [("A", "s", 2.5)])
    store = SourceStore(ctx)
    store.save(_source(mariadb.url), secret=PASSWORD)
    saved = store.get("shop db")
    assert PASSWORD not in saved.to_json() and PASSWORD not in saved.describe()
    rows = run_async(read_records(saved, store.secret(saved)))
    assert [(n, r["customer"], float(r["qty"])) for n, r in rows] == [(1, "A", 2.5)]
    saved.query = "INSERT INTO `usage` VALUES ('x', 'y', 1)"
    with pytest.raises(
        SourceError,
        match=r"^Source 'shop db': the query failed \(Cannot execute statement in a READ ONLY "
        r"transaction\)\. Check it in your database tool first\.$",
    ):
        run_async(read_records(saved, PASSWORD))
    saved.query = "SELECT customer FROM `usage`"
    assert len(run_async(read_records(saved, PASSWORD))) == 1  # the insert did not land


def test_wrong_password_unreachable_server_and_failing_query_are_named(
    mariadb: _Server, run_async: Any
) -> None:
    with pytest.raises(
        SourceError,
        match=r"^Source 'shop db': the database at mysql\+pymysql://vendor@127\.0\.0\.1:\d+/shop "
        r"refused the user name or password \(Access denied for user 'vendor'@'127\.0\.0\.1' "
        r"\(using password: YES\)\)\. Type the right password in the source's Password/token "
        r'field on the Sync page, or run: gradient-desktop source secret "shop db"$',
    ) as err:
        run_async(read_records(_source(mariadb.url), "not-the-password"))
    assert "not-the-password" not in str(err.value)
    closed = f"mysql+pymysql://vendor@127.0.0.1:{free_port()}/shop"
    with pytest.raises(
        SourceError,
        match=r"^Source 'shop db': cannot reach the database at .*127\.0\.0\.1.*Check that it is running\.$",
    ):
        run_async(read_records(_source(closed), PASSWORD))
    with pytest.raises(SourceError, match=r"the query failed \(Table 'shop\.nope' doesn't exist\)"):
        run_async(read_records(_source(mariadb.url, "SELECT * FROM nope"), PASSWORD))


def test_sync_from_mariadb_reaches_both_partners_and_a_wrong_password_sends_nothing(
    mariadb: _Server, ctx: AppContext, sandbox: Any, run_async: Any, tmp_path: Path
) -> None:
    run_async(two_partners(ctx, sandbox))
    names, ids = sku_names(sandbox), sku_ids(sandbox)
    _fill(mariadb, [("c-0", names[0], 4), ("c-1", names[2], 1.5), ("f-3", names[1], 9)])
    store = SourceStore(ctx)

    async def go() -> Any:
        try:
            return await SyncService(ctx).run()
        finally:
            await ctx.aclose()

    store.save(_source(mariadb.url), secret="stale password")
    failed = run_async(go())
    assert failed.status == "failed" and failed.exit_code() == 2
    assert failed.message.startswith("Source 'shop db': the database at ")
    assert failed.message.endswith("Nothing was sent.")
    assert sandbox.state.counts(PARTNER_DEMO) == {} and sandbox.state.counts(PARTNER_SMALL) == {}

    store.save(store.get("shop db"), secret=PASSWORD)
    result = run_async(go())
    assert result.exit_code() == 0 and result.landed == 3
    assert sandbox.state.counts(PARTNER_DEMO)[(ids[2], "c-1")]["unitCount"] == 1.5
    assert sandbox.state.counts(PARTNER_SMALL)[(ids[1], "f-3")]["unitCount"] == 9
