"""The ``source``, ``sync`` and ``schedule`` commands (issue #13) run in-process against a live
sandbox: a source is refused until it reads, a dry run sends nothing, a sync prints one row per
partner and exits like ``push``, and a source needing a secret says how to store it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.cli import main
from gradient_desktop.sandbox.seed import PARTNER_DEMO, PARTNER_SMALL
from gradient_desktop.services.context import AppContext
from tests.sync_helpers import sku_names, throwaway_user, two_partners, usage_db


@pytest.fixture
def partners(sandbox: Any, run_async: Any) -> None:
    ctx = AppContext.open()
    try:
        run_async(two_partners(ctx, sandbox))
    finally:
        ctx.close()


def _add(db: Path, name: str = "db") -> int:
    return main(
        [
            "source", "add", name, "--kind", "sql", "--url", f"sqlite:///{db}",
            "--query", "SELECT customer, product, qty FROM usage",
            "--account-field", "customer", "--service-field", "product", "--count-field", "qty",
        ]
    )  # fmt: skip


def test_source_add_preview_then_sync_dry_run_and_for_real(
    partners: None, sandbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = sku_names(sandbox)[0]
    db = usage_db(tmp_path / "v.sqlite3", [("c-0", name, 2.0), ("f-1", name, 3.0)])
    assert _add(tmp_path / "missing.sqlite3", "broken") == 2
    assert "Source 'broken': the database file" in capsys.readouterr().err
    assert _add(db) == 0
    out = capsys.readouterr().out
    assert "2 rows; 2 routed to a partner." in out and "Saved source db." in out
    assert main(["source", "list"]) == 0
    assert capsys.readouterr().out.startswith("db\tsql\tsqlite:///")

    assert main(["sync", "--all", "--dry-run"]) == 0
    assert "Dry run: 2 counts would be sent; nothing was sent." in capsys.readouterr().err
    assert sandbox.state.counts(PARTNER_DEMO) == {}

    assert main(["sync", "--all"]) == 0
    captured = capsys.readouterr()
    assert "partner   changed  same  landed  unmapped  failed  rebuilt" in captured.out
    assert "Contoso   1        0     1       0         0       yes" in captured.out
    assert "2 rows read, 2 changed, 2 landed." in captured.err
    assert "Fabrikam: 1/1" in captured.err  # per-partner progress on stderr
    assert len(sandbox.state.counts(PARTNER_SMALL)) == 1

    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO usage VALUES ('ghost', ?, 1)", (name,))
    conn.commit()
    conn.close()
    assert main(["sync", "--partner", "Contoso"]) == 1  # the unmatched row is reported
    assert "unmatched: db, row 3: no partner has account 'ghost'" in capsys.readouterr().err


def test_a_source_secret_is_asked_for_by_name(
    partners: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    db = usage_db(tmp_path / "v.sqlite3", [("c-0", "x", 2.0)])
    monkeypatch.setenv("DB_PW", "hunter2-secret")
    assert _add(db) == 0 and main(["source", "secret", "db", "--secret-env", "DB_PW"]) == 0
    assert "Stored the secret of db in the keyring." in capsys.readouterr().out
    import keyring

    keyring.delete_password("gradient-desktop", "source:db")
    assert main(["sync"]) == 2
    err = capsys.readouterr().err
    assert "Source 'db': its password or token is not in the keyring." in err
    assert "gradient-desktop source secret db" in err and "hunter2" not in err


def test_schedule_show_when_none_is_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: Any, tmp_path: Path
) -> None:
    monkeypatch.setenv("GRADIENT_DESKTOP_SCHEDULER", "systemd")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert main(["schedule", "show"]) == 0
    assert "No scheduled sync is set." in capsys.readouterr().out
    assert main(["schedule", "set", "--every", "7m"]) == 2
    assert "Choose 5, 10, 15, 20 or 30 minutes" in capsys.readouterr().err


def test_a_scheduled_run_while_the_app_is_open_is_recorded_as_skipped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gradient_desktop.services.sources import RunStore
    from gradient_desktop.store import InstanceLock

    with InstanceLock():  # the app holds the data folder
        assert main(["sync", "--all", "--scheduled"]) == 2
    assert "nothing was sent" in capsys.readouterr().err
    ctx = AppContext.open()
    try:
        runs = RunStore(ctx).unseen_scheduled()
        assert [(r.status, r.message) for r in runs] == [
            ("skipped", "The app or another sync was running, so this scheduled sync did not run.")
        ]
    finally:
        ctx.close()


@pytest.mark.slow
def test_schedule_set_says_when_the_job_cannot_reach_the_keyring(
    partners: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two partners whose keys are in the keyring; the job goes into a throw-away user's
    crontab; cron's bare environment reaches no keyring here, and `schedule set` says so."""
    import os

    from gradient_desktop.services import schedule

    if Path(f"/run/user/{os.getuid()}/bus").exists():
        pytest.skip("a desktop session bus exists: cron jobs may reach its keyring here")
    user = throwaway_user()
    monkeypatch.setattr(schedule, "detect", lambda: schedule.Cron(user=user))
    try:
        assert main(["schedule", "set", "--every", "1h"]) == 0
        out = capsys.readouterr().out
        assert out.startswith(
            "Scheduled `gradient-desktop sync --all` every hour (your crontab).\n"
        )
        assert (
            "Warning: cron starts scheduled runs outside your desktop session, where the system "
            "keyring does not answer, so they cannot read the keys of Contoso, Fabrikam."
        ) in out
        assert main(["schedule", "show"]) == 0
        first, listed = capsys.readouterr().out.splitlines()
        assert first == "Syncing every hour (your crontab). What the system keeps:"
        assert listed.startswith("your crontab: @hourly ") and schedule.JOB_NAME in listed
        assert main(["schedule", "remove"]) == 0
        assert capsys.readouterr().out == "Removed the scheduled sync.\n"
    finally:
        import subprocess

        subprocess.run(["crontab", "-u", user, "-r"], capture_output=True)
        subprocess.run(["userdel", user], check=False)
