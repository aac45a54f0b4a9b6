"""The database and the single-instance rule, seen from the user's side (the real CLI).

* A damaged file, a non-database and a database from a newer version are backed up and
  reported in a sentence, and the file itself is left exactly as it was (never silently
  overwritten or "repaired").
* While another Gradient Desktop holds the data folder, a push is refused (two pushers on one
  outbox send each other's rows out of order: measured, wrong totals).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gradient_desktop.sandbox.seed import VENDOR_KEY
from gradient_desktop.sandbox.server import SandboxServer
from gradient_desktop.store import InstanceLock
from tests.reliability.helpers import REPO, child_env, new_partner


def _cli(
    env: dict[str, str], *args: str, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradient_desktop", *args],
        env={**env, **(extra or {})},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=env["GRADIENT_DESKTOP_HOME"],
    )


@pytest.fixture
def home_with_db(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A data folder whose database holds one partner (added through the CLI)."""
    home = tmp_path / "gd-home"
    home.mkdir()
    env = child_env(home, tmp_path / "keyring.json")
    added = _cli(
        env,
        "partner",
        "add",
        "Contoso",
        "--base-url",
        "http://127.0.0.1:9",
        "--profile",
        "N",
        extra={
            "GRADIENT_VENDOR_KEY": "vendor-key-db-test",
            "GRADIENT_PARTNER_KEY": "partner-key-db-test",
        },
    )
    assert added.returncode == 0, added.stderr
    return home, env


def _db(home: Path) -> Path:
    return home / "data" / "gradient-desktop.sqlite3"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _backups(db: Path) -> list[Path]:
    return sorted(
        p for p in db.parent.glob(db.name + ".bak-*") if not p.name.endswith(("-wal", "-shm"))
    )


def _damage(db: Path) -> None:
    data = bytearray(db.read_bytes())
    assert len(data) >= 3 * 4096, "the test database should span several pages"
    data[4096 : 4096 * 2] = bytes((i * 37 + 11) % 256 for i in range(4096))  # page 2: garbage
    db.write_bytes(bytes(data))


def _make_newer(db: Path) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        (_damage, "damaged"),
        (_make_newer, "newer version"),
        (
            lambda db: db.write_bytes(b"accountId,serviceId,unitCount\n"),
            "not a Gradient Desktop database",
        ),
    ],
    ids=["corrupt", "newer-schema", "not-sqlite"],
)
def test_a_bad_database_is_backed_up_reported_and_never_overwritten_by_the_cli(
    home_with_db: tuple[Path, dict[str, str]], spoil: Callable[[Path], object], words: str
) -> None:
    home, env = home_with_db
    db = _db(home)
    counts = home / "counts.csv"
    counts.write_text("accountId,serviceId,unitCount\nacc-0,sku-1,5\n", encoding="utf-8")
    command = ["push", str(counts), "--partner", "Contoso"]  # a scheduled run meets the file
    spoil(db)
    before = _digest(db)

    result = _cli(env, *command)

    assert result.returncode == 2, result.stdout + result.stderr
    # The CLI's own sentence (stderr may also carry the store's warning log line first).
    lines = [line for line in result.stderr.splitlines() if line.startswith("gradient-desktop: ")]
    assert len(lines) == 1, result.stderr
    message = lines[0]
    assert words in message
    assert "Traceback" not in result.stderr and "Error:" not in message
    backups = _backups(db)
    assert len(backups) == 1 and str(backups[0]) in message
    assert _digest(backups[0]) == before  # the copy is the file as the user had it
    assert db.exists() and _digest(db) == before  # and the file itself was not touched
    # Asking again neither piles up copies of the same file nor changes it.
    again = _cli(env, *command)
    assert again.returncode == 2 and _digest(db) == before


def test_push_is_refused_while_another_instance_holds_the_data_folder(
    home_with_db: tuple[Path, dict[str, str]], sandbox: SandboxServer, tmp_path: Path
) -> None:
    home, env = home_with_db
    key, skus = new_partner(sandbox.state, 3)
    added = _cli(
        env,
        "partner",
        "add",
        "Fabrikam",
        "--base-url",
        sandbox.base_url,
        "--profile",
        "S",
        extra={"GRADIENT_VENDOR_KEY": VENDOR_KEY, "GRADIENT_PARTNER_KEY": key},
    )
    assert added.returncode == 0, added.stderr
    counts = tmp_path / "counts.csv"
    counts.write_text(f"accountId,serviceId,unitCount\nacc-0,{skus[0]},5\n", encoding="utf-8")
    sandbox.state.clear_requests()

    with InstanceLock(home / "data" / "gradient-desktop.lock"):  # the app is open
        result = _cli(env, "push", str(counts), "--partner", "Fabrikam")

    assert result.returncode == 2, result.stderr
    assert "already running" in result.stderr and str(os.getpid()) in result.stderr
    assert sandbox.state.requests() == []  # nothing was sent


def test_the_lock_is_free_again_once_its_holder_is_killed(tmp_path: Path) -> None:
    """A crash never leaves a stale lock: the OS drops it with the process."""
    lock_file = tmp_path / "data" / "gradient-desktop.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from gradient_desktop.store import InstanceLock; "
            f"lock = InstanceLock({str(lock_file)!r}).acquire(); print('held', flush=True); "
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        from gradient_desktop.store import AlreadyRunning

        with pytest.raises(AlreadyRunning, match=str(holder.pid)):
            InstanceLock(lock_file).acquire()
    finally:
        holder.kill()
        holder.communicate(timeout=30)
    with InstanceLock(lock_file) as lock:
        assert lock.held
