"""The Sync page (issue #13), real widgets on the qasync loop: a SQL source is filled in,
previewed (saving waits for a clean preview), saved, "Sync all now" sends every mapped count of
the two demo partners with a progress bar each, the run is listed with its details, and a failed
scheduled run found on opening shows a banner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.sources import RunStore
from gradient_desktop.ui.sync.page import SyncPage
from tests.gui_helpers import (
    run,
    screenshot,
    settle,
    sync_page,
    type_partner_usage_columns,
    type_sql_source,
    wait_until,
)
from tests.sync_helpers import demo_usage_rows, partner_usage_db

pytestmark = pytest.mark.gui


def test_configure_preview_save_and_sync_all_now(
    qtbot: Any, qloop: Any, ctx: AppContext, tmp_path: Path
) -> None:
    rows = run(qloop, demo_usage_rows(ctx))
    db = partner_usage_db(tmp_path / "vendor.sqlite3", [*rows, ("Nobody", "x", "y", "many")])

    page = sync_page(qtbot, qloop, ctx)
    ed = page.editor
    type_sql_source(ed, "product db", f"sqlite:///{db}")
    type_partner_usage_columns(ed)
    assert not ed.save_button.isEnabled()
    ed.preview_button.click()
    wait_until(qloop, lambda: not ed.tasks.busy)
    assert (
        ed.problems.item(0).text()
        == "Error — row 7: n 'many' is not a number (write counts as plain digits with an optional decimal point, e.g. 1234 or 12.5)"
    )
    assert not ed.save_button.isEnabled()  # a source with errors cannot be saved

    ed.query.setPlainText("SELECT partner, account, sku, n FROM usage WHERE n <> 'many'")
    assert not ed.save_button.isEnabled()  # changed since the preview
    ed.preview_button.click()
    wait_until(qloop, lambda: not ed.tasks.busy)
    assert ed.status.text().startswith(f"{len(rows)} rows read; {len(rows)} go to a partner")
    assert ed.table.rowCount() == len(rows)
    assert ed.save_button.isEnabled()
    ed.save_button.click()
    assert [page.sources.item(i).text() for i in range(page.sources.count())] == ["product db"]

    page.sync_button.click()
    wait_until(qloop, lambda: not page.tasks.busy)
    assert page.message.text() == f"{len(rows)} rows read, {len(rows)} changed, {len(rows)} landed."
    assert sorted(page.bars) == ["Contoso Managed Services (demo)", "Fabrikam IT Partners (demo)"]
    assert all(b.value() == b.maximum() == len(rows) // 2 for b in page.bars.values())
    header = [page.table.horizontalHeaderItem(c).text() for c in range(page.table.columnCount())]
    cells = [page.table.item(0, c).text() for c in range(page.table.columnCount())]
    assert dict(zip(header[1:], cells[1:], strict=True)) == {
        "How": "app", "Result": "ok", "Changed": str(len(rows)), "Landed": str(len(rows)),
        "Unmatched": "0", "Unmapped": "0", "Failed": "0", "Alerts sent": "",
    }  # fmt: skip
    assert "Contoso Managed Services (demo): 3 changed, 3 landed" in page.details.toPlainText()
    screenshot(page, "sync_page.png")


@pytest.fixture
def tray_messages(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, bool]]:
    """A desktop with a system tray (offscreen Qt has none): the real QSystemTrayIcon is made
    and shown; what it is asked to pop up is recorded with whether the icon was visible."""
    from gradient_desktop.ui.qt import QtWidgets

    shown: list[tuple[str, str, bool]] = []
    tray = QtWidgets.QSystemTrayIcon
    monkeypatch.setattr(tray, "isSystemTrayAvailable", staticmethod(lambda: True))
    monkeypatch.setattr(
        tray,
        "showMessage",
        lambda self, title, text, *_: shown.append((title, text, self.isVisible())),
    )
    return shown


# Offscreen Qt has no tray window to follow; it says so when a tray icon is shown.
TRAY_WARNING = "No such signal QPlatformNativeInterface::systemTrayWindowChanged"


@pytest.mark.qt_log_ignore(TRAY_WARNING)
def test_a_failed_scheduled_run_shows_a_banner_and_a_tray_message_once(
    qtbot: Any, qloop: Any, ctx: AppContext, tray_messages: list[tuple[str, str, bool]]
) -> None:
    runs = RunStore(ctx)
    runs.finish(runs.start("schedule"), status="ok", landed=4, message="4 landed.")
    runs.finish(
        runs.start("schedule"),
        status="failed",
        message="Source 'product db': cannot reach the database. Nothing was sent.",
    )
    page = SyncPage(ctx)
    qtbot.addWidget(page)
    page.show()
    settle(qloop)
    assert page.banner.isVisible()
    assert "A scheduled sync failed" in page.banner.text()
    assert "Source 'product db': cannot reach the database." in page.banner.text()
    assert (
        "2 scheduled syncs ran since the app was last open; 4 counts landed." in page.banner.text()
    )
    assert tray_messages == [("Gradient Desktop: scheduled sync failed", page.banner.text(), True)]
    page.scheduled.banner.dismiss.click()  # read: the user puts it away
    assert not page.banner.isVisible()
    again = SyncPage(ctx)
    qtbot.addWidget(again)
    again.show()
    settle(qloop)
    assert not again.banner.isVisible()  # shown once
    assert len(tray_messages) == 1


def test_sync_page_shortcuts_are_listed_and_unique_in_the_window(
    qtbot: Any, qloop: Any, ctx: AppContext
) -> None:
    from gradient_desktop.ui.dialogs.shortcuts import collect_shortcuts
    from gradient_desktop.ui.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    rows = collect_shortcuts(window)
    mine = {r.command: r.keys for r in rows if r.group == "Sync"}
    assert mine == {
        "Sync all partners now": "Ctrl+Alt+S",
        "Preview the usage source": "Ctrl+Shift+P",
    }
    others = {r.keys for r in rows if r.group != "Sync"}
    assert not others & set(mine.values())


@pytest.mark.qt_log_ignore(TRAY_WARNING)
def test_a_scheduled_run_kept_off_by_the_open_app_is_run_by_the_app(
    qtbot: Any,
    qloop: Any,
    ctx: AppContext,
    tmp_path: Path,
    tray_messages: list[tuple[str, str, bool]],
) -> None:
    """The app holds the data folder, so the OS's job records a skipped run (the real CLI
    path); the open app finds that record and syncs itself, and says so when it fails."""
    import asyncio

    from gradient_desktop.cli import main
    from gradient_desktop.services.sources import FieldMap, SourceConfig, SourceStore
    from gradient_desktop.store import InstanceLock
    from gradient_desktop.ui.sync.scheduled import IN_APP_TRIGGER

    rows = run(qloop, demo_usage_rows(ctx))
    db = partner_usage_db(tmp_path / "vendor.sqlite3", rows)
    SourceStore(ctx).save(
        SourceConfig(
            name="product db", kind="sql", url=f"sqlite:///{db}",
            query="SELECT partner, account, sku, n FROM usage",
            mapping=FieldMap(account="account", service="sku", count="n", partner="partner"),
        )
    )  # fmt: skip
    page = SyncPage(ctx)
    qtbot.addWidget(page)
    page.show()
    settle(qloop)
    assert page.scheduled.timer.isActive() and page.scheduled.timer.interval() == 30_000

    def os_job_fires() -> None:
        with InstanceLock():  # the running app holds the data folder
            assert main(["sync", "--all", "--scheduled"]) == 2
        asyncio.set_event_loop(qloop)  # main's asyncio.run cleared it

    os_job_fires()
    page.scheduled.take_over_skipped()  # what the timer calls
    wait_until(qloop, lambda: not page.tasks.busy)
    assert page.message.text() == f"{len(rows)} rows read, {len(rows)} changed, {len(rows)} landed."
    landed = {
        (name, account): body["unitCount"]
        for name in ("Contoso Managed Services (demo)", "Fabrikam IT Partners (demo)")
        for (_, account), body in ctx.demo.state.counts(ctx.demo.partner_key(name)).items()
    }
    assert landed == {(p, a): n for p, a, _, n in rows}
    runs = RunStore(ctx).recent()
    assert [(r.trigger, r.status) for r in runs[:2]] == [
        (IN_APP_TRIGGER, "ok"),
        ("schedule", "skipped"),
    ]
    assert RunStore(ctx).unseen_scheduled() == []  # taken over: not reported again
    page.scheduled.take_over_skipped()
    assert not page.tasks.busy  # nothing left to take over

    db.unlink()  # the vendor's database is gone when the next one fires
    os_job_fires()
    page.scheduled.take_over_skipped()
    wait_until(qloop, lambda: not page.tasks.busy)
    assert page.banner.isVisible()
    assert page.banner.text().startswith(
        "The scheduled sync failed: Source 'product db': the database file "
    )
    assert page.banner.text().endswith("does not exist. Nothing was sent.")
    assert tray_messages == [("Gradient Desktop: scheduled sync failed", page.banner.text(), True)]

    os_job_fires()
    page.close()  # the app quits: its store closes next, so the timer must not reach for it
    page.scheduled.take_over_skipped()
    assert not page.tasks.busy and len(RunStore(ctx).unseen_scheduled()) == 1


def test_editing_a_source_keeps_every_setting_it_was_made_with(
    qtbot: Any, qloop: Any, ctx: AppContext
) -> None:
    """A source made on the command line (its own token header, a longer time-out) opens in
    the editor with those settings, so saving it from the app does not quietly reset them."""
    from gradient_desktop.services.sources import FieldMap, SourceConfig, SourceStore

    made = SourceConfig(
        name="product api", kind="http", url="https://usage.example.com/v1/usage",
        records_path="data.items", next_path="links.next", auth_header="X-Api-Key",
        timeout_s=90.0, has_secret=True,
        mapping=FieldMap(account="tenant", service="sku", count="bytes", op="op", count_unit="bytes"),
    )  # fmt: skip
    SourceStore(ctx).save(made, secret="k-1")
    page = SyncPage(ctx)
    qtbot.addWidget(page)
    page.resize(1100, 800)
    page.show()
    settle(qloop)
    page.sources.setCurrentRow(0)
    ed = page.editor
    assert ed.config() == made
    assert ed.auth_header.isVisible() and ed.timeout.isVisible() and not ed.path.isVisible()
    ed.kind.setCurrentIndex(ed.kind.findData("file"))
    assert not ed.auth_header.isVisible() and not ed.timeout.isVisible()
    # The time of day is there to set only for a daily schedule.
    assert not page.daily.isEnabled()
    page.schedule_combo.setCurrentIndex(page.schedule_combo.findData("daily"))
    assert page.daily.isEnabled()


def test_a_partners_bar_renders_its_push_from_the_partners_state(
    qtbot: Any, qloop: Any, ctx: AppContext
) -> None:
    """While a partner's push runs, its bar shows the partner's state (services/state.py), the
    one record every push view renders; the run's own callbacks only open and close the bar."""
    from gradient_desktop.services.demo import ensure_demo_partner
    from gradient_desktop.ui.state_binding import binding

    partner = ensure_demo_partner(ctx)
    page = SyncPage(ctx)
    qtbot.addWidget(page)
    page._progress(partner.name, 0, 10)  # the run starts this partner's push
    bar = page.bars[partner.name]
    assert (bar.value(), bar.maximum()) == (0, 10)
    ctx.state.note_push_progress(partner.id or 0, 4, 10)
    binding(ctx).flush_now()
    assert (bar.value(), bar.maximum()) == (4, 10)
    page._progress(partner.name, 5, 10)  # a mid-push callback does not write over the state
    assert bar.value() == 4
    ctx.state.note_push(partner.id or 0, "10 of 10 counts landed.", 10, 10, True)
    page._progress(partner.name, 10, 10)  # the run ends: full
    binding(ctx).flush_now()
    assert (bar.value(), bar.maximum()) == (10, 10)
