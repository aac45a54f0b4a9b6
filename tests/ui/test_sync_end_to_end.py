"""Issue #13's "Done when", walked through the app's own widgets on a fresh data folder: with
the two demo partners connected by the setup wizard's demo path, a SQL source (a real SQLite file) is added through the Sync
page's form, "Sync all now" sends every mapped count (read back from the sandbox, not from our
ledger), an hourly schedule set on the page appears in the OS's own crontab listing, its exact
command line runs headless in cron's bare environment with exit 0 while the app is closed, the
reopened app shows what that run did and which schedule is set, and the page removes it again.

The crontab belongs to a throw-away user (tests/sync_helpers.py): nothing of the
machine's own crontabs is touched, and concurrent test runs cannot remove each other's entry.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from gradient_desktop.config import log_dir
from gradient_desktop.services import schedule
from gradient_desktop.services.context import AppContext
from gradient_desktop.store.models import Mapping, Partner, PartnerService
from gradient_desktop.ui.main_window import MainWindow
from gradient_desktop.ui.qt import QtWidgets
from gradient_desktop.ui.sync.page import SyncPage
from tests.gui_helpers import (
    close_ctx,
    open_ctx,
    run,
    settle,
    shown,
    type_partner_usage_columns,
    wait_until,
)
from tests.setup_helpers import run_demo_setup
from tests.sync_helpers import partner_usage_db, throwaway_user

pytestmark = [pytest.mark.gui, pytest.mark.slow]

#: What cron gives a job (cron(8)): no virtualenv on PATH, no display, no session bus.
CRON_ENV = {"HOME": "/root", "LOGNAME": "root", "PATH": "/usr/bin:/bin", "SHELL": "/bin/sh"}


async def _two_demo_partners(ctx: AppContext) -> list[tuple[str, str, str, int]]:
    """The setup wizard's demo path, run twice (a fresh machine's first partner, then the
    second: the wizard offers the next demo partner), as a user would click through it. Returns
    the vendor's usage: a new count for every mapped account × chosen service of each."""
    try:
        await run_demo_setup(ctx)
        await run_demo_setup(ctx)
    finally:
        await ctx.aclose()
    rows = []
    with ctx.db.session() as s:
        for p in s.exec(select(Partner).order_by(Partner.name)):
            services = s.exec(select(PartnerService).where(PartnerService.partner_id == p.id))
            mapped = s.exec(select(Mapping).where(Mapping.partner_id == p.id)).all()
            for svc in services:
                rows += [(p.name, m.source_id, svc.name, 1000 + i) for i, m in enumerate(mapped)]
    return rows


def _crontab(user: str) -> str:
    done = subprocess.run(["crontab", "-u", user, "-l"], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


def _landed(ctx: AppContext) -> dict[tuple[str, str, str], float]:
    """Every count the sandbox holds: ``{(partner, account, service name): unitCount}``."""
    out = {}
    with ctx.db.session() as s:
        for p in s.exec(select(Partner)):
            names = {
                svc.service_id: svc.name
                for svc in s.exec(select(PartnerService).where(PartnerService.partner_id == p.id))
            }
            for (sid, account), body in ctx.demo.state.counts(ctx.demo.partner_key(p.name)).items():
                out[(p.name, account, names.get(sid, sid))] = body["unitCount"]
    return out


def _window(qtbot: Any, qloop: Any, ctx: AppContext) -> tuple[MainWindow, SyncPage]:
    window = shown(qtbot, qloop, MainWindow(ctx), 1200, 860)
    page = next(p for p in window.pages if isinstance(p, SyncPage))
    window.tabs.setCurrentWidget(page)  # the user opens the Sync tab
    settle(qloop)
    return window, page


def test_configure_sync_all_now_schedule_hourly_run_headless_and_remove(
    qtbot: Any, qloop: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = throwaway_user()
    # The page asks schedule.detect() where to register; here: that user's crontab.
    monkeypatch.setattr(schedule, "detect", lambda: schedule.Cron(user=user))
    try:
        _walk(qtbot, qloop, tmp_path, user, monkeypatch)
    finally:
        subprocess.run(["crontab", "-u", user, "-r"], capture_output=True)
        subprocess.run(["userdel", user], check=False)


def _walk(
    qtbot: Any, qloop: Any, tmp_path: Path, user: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = open_ctx()
    try:
        rows = run(qloop, _two_demo_partners(ctx))
        db = partner_usage_db(tmp_path / "vendor.sqlite3", rows)
        before = _landed(ctx)  # the wizard's first usage sync: other numbers, same cells
        assert set(before) == {(p, a, sv) for p, a, sv, _ in rows}
        assert all(before[(p, a, sv)] != n for p, a, sv, n in rows)

        window, page = _window(qtbot, qloop, ctx)
        assert page.schedule_label.text() == "No scheduled sync: syncs run only when you ask."
        ed = page.editor
        ed.name.setText("product db")
        ed.kind.setCurrentIndex(ed.kind.findData("sql"))
        assert ed.url.isVisible() and ed.query.isVisible() and not ed.path.isVisible()
        # The user picks the database file (the OS's file dialog answers with its path).
        monkeypatch.setattr(
            QtWidgets.QFileDialog, "getOpenFileName", staticmethod(lambda *_a: (str(db), ""))
        )
        assert ed.db_browse.isVisible()
        ed.db_browse.click()
        assert ed.url.text() == f"sqlite:///{db}"
        type_partner_usage_columns(ed)
        ed.preview_button.click()
        wait_until(qloop, lambda: not ed.tasks.busy)
        assert ed.status.text().startswith(f"{len(rows)} rows read; {len(rows)} go to a partner")
        ed.save_button.click()
        assert page.sources.count() == 1 and page.sources.item(0).text() == "product db"

        # Sync all now: a progress bar per demo partner, each run to its end.
        page.sync_button.click()
        wait_until(qloop, lambda: not page.tasks.busy, timeout=120)
        assert page.message.text() == (
            f"{len(rows)} rows read, {len(rows)} changed, {len(rows)} landed."
        )
        assert sorted(page.bars) == [
            "Contoso Managed Services (demo)",
            "Fabrikam IT Partners (demo)",
        ]
        per_partner = {p: sum(1 for r in rows if r[0] == p) for p in page.bars}
        assert {p: (b.value(), b.maximum()) for p, b in page.bars.items()} == {
            p: (n, n) for p, n in per_partner.items()
        }
        # Every mapped count, as Gradient's side (the sandbox) holds it.
        assert _landed(ctx) == {(p, a, s): n for p, a, s, n in rows}

        # An hourly schedule, set on the page, registered with the OS.
        page.schedule_combo.setCurrentIndex(page.schedule_combo.findData("1h"))
        page.apply_button.click()
        assert page.message.text() == "Syncing every hour (your crontab)."
        assert page.schedule_label.text() == (
            "Scheduled by the system (your crontab): sync every hour."
        )
        window.close()  # the user quits: the scheduled run must not need the app
    finally:
        close_ctx(qloop, ctx)

    # The OS's own listing shows the job; its command line runs as registered.
    line = next(x for x in _crontab(user).splitlines() if schedule.JOB_NAME in x)
    assert line.startswith("@hourly ")  # "0 * * * *", as python-crontab writes it
    command = line.split(" ", 1)[1].split(" # ")[0]  # python-crontab appends "# comment"
    conn = sqlite3.connect(db)  # the vendor's product changes one count meanwhile
    conn.execute("UPDATE usage SET n = 41 WHERE rowid = 1")
    conn.commit()
    conn.close()
    done = subprocess.run(
        ["/bin/sh", "-c", command], env=CRON_ENV, timeout=240, capture_output=True, check=False
    )
    log = log_dir() / "scheduled-sync.txt"
    assert done.returncode == 0, log.read_text() if log.exists() else done.stderr

    # The app opens again: it says what the scheduled run did, and which schedule is set.
    ctx = open_ctx()
    try:
        window, page = _window(qtbot, qloop, ctx)
        assert page.banner.isVisible()
        assert page.banner.text() == (
            "1 scheduled sync ran since the app was last open; 1 count landed."
        )
        changed = rows[0]
        assert _landed(ctx)[changed[:3]] == 41  # the sandbox the scheduled run pushed to
        assert page.schedule_combo.currentData() == "1h"  # not "Off" while a schedule is set

        page.schedule_combo.setCurrentIndex(page.schedule_combo.findData(None))
        page.apply_button.click()
        assert page.message.text() == "The scheduled sync is removed."
        assert page.schedule_label.text() == "No scheduled sync: syncs run only when you ask."
        assert schedule.JOB_NAME not in _crontab(user)
        window.close()
    finally:
        close_ctx(qloop, ctx)
