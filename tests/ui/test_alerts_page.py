"""The Alerts page: send from the form to a ticket on the demo sandbox, settle an alert in doubt,
filter and export the history, and the "Send alert…" action of the Mapping page."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.services.alert_input import build_alert
from gradient_desktop.services.alerts import AlertService
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.integration import IntegrationService
from gradient_desktop.store.models import AlertState
from gradient_desktop.ui.alerts.page import AlertsPage
from gradient_desktop.ui.qt import QtCore, QtWidgets
from tests.gui_helpers import run, screenshot, settle, shown, wait_until
from tests.setup_helpers import run_demo_setup

pytestmark = pytest.mark.gui


@pytest.fixture
def setup(qloop: Any, ctx: AppContext) -> Any:
    flow = run(qloop, run_demo_setup(ctx))
    accounts = IntegrationService(ctx).accounts(flow.partner)
    mapped = [a.account_id for a in accounts if a.is_mapped_remote]
    unmapped = [a.account_id for a in accounts if not a.is_mapped_remote]
    assert mapped and unmapped
    return flow.partner, mapped, unmapped


@pytest.fixture
def page(qtbot: Any, qloop: Any, ctx: AppContext, setup: Any) -> AlertsPage:
    p = shown(qtbot, qloop, AlertsPage(ctx), 1280, 640)
    p.set_partner(setup[0])
    settle(qloop)
    return p


def send_from_form(
    qloop: Any, page: AlertsPage, account: str, title: str, priority: int = 1
) -> None:
    page.form.set_account(account)
    page.form.title_field.setText(title)
    page.form.description.setPlainText("Nightly job ended with 3 errors")
    page.form.priority.setCurrentIndex(page.form.priority.findData(priority))
    page.form.send_button.click()
    settle(qloop)
    wait_until(qloop, lambda: not page.tasks.busy)


def cells(page: AlertsPage, row: int) -> list[str]:
    return [page.model.index(row, c).data() for c in range(page.model.columnCount())]


def test_an_alert_sent_from_the_form_shows_its_ticket(
    qloop: Any, page: AlertsPage, setup: Any
) -> None:
    partner, mapped, _ = setup
    send_from_form(qloop, page, mapped[0], "Backup job failed", priority=3)
    assert page.model.rowCount() == 1
    row = cells(page, 0)
    assert row[:4] == [partner.name, mapped[0], "Backup job failed", "high"]
    assert row[5] == "ticket created" and row[6].isdigit()
    assert f"Ticket {row[6]} created" in page.message.text()
    assert page.form.title_field.text() == ""  # ready for the next one
    sandbox = page.ctx.demo.state
    key = page.ctx.demo.partner_key(partner.name)
    assert [t["ticketId"] for t in sandbox.tickets(key)] == [row[6]]


def test_bad_input_is_explained_and_nothing_is_sent(
    qloop: Any, page: AlertsPage, setup: Any
) -> None:
    _, mapped, _ = setup
    send_from_form(qloop, page, mapped[0], "   ")
    assert "title is empty" in page.form.problem.text()
    send_from_form(qloop, page, "no-such-account", "Disk full")
    assert "no-such-account is not one of" in page.message.text()
    assert page.service.ledger.history() == [] and page.model.rowCount() == 0


def test_an_alert_in_doubt_is_settled_by_the_user(
    qtbot: Any, qloop: Any, page: AlertsPage, setup: Any
) -> None:
    partner, mapped, unmapped = setup
    ledger = page.service.ledger
    doubt = build_alert({"account_id": mapped[1], "title": "RAID degraded", "priority": 4})
    seen = build_alert({"account_id": mapped[2], "title": "Licence expiring"})
    (row_a, row_b), _ = page.service.record(partner, [doubt, seen], origin="app")
    for row in (row_a, row_b):  # a run that stopped mid-send left both in doubt
        assert ledger.claim(row.id)
    ledger.interrupted(partner.id)
    page.reload()
    assert {cells(page, r)[5] for r in range(2)} == {"outcome unknown — confirm"}

    page.select_alert(seen.alert_id)
    assert page.mark_button.isEnabled()
    page.mark_button.click()
    assert ledger.get(seen.alert_id).state == AlertState.MARKED_SENT
    assert "mark sent by app" in ledger.get(seen.alert_id).note

    page.select_alert(doubt.alert_id)
    page.resend_button.click()
    box = page.confirm_box
    assert box.isVisible() and "second ticket" in box.text()
    box.button(QtWidgets.QMessageBox.StandardButton.Yes).click()
    settle(qloop)
    wait_until(qloop, lambda: not page.tasks.busy)
    assert ledger.get(doubt.alert_id).state == AlertState.SUCCESS
    # Add a failed one (an account the MSP has not mapped) so the history shows every kind.
    send_from_form(qloop, page, unmapped[0], "Agent offline")
    failed = next(e for e in page.model.entries() if e.title == "Agent offline")
    assert failed.state == AlertState.FAILED and "not mapped this account" in failed.reason
    send_from_form(qloop, page, mapped[3], "Backup job failed", priority=3)
    page.select_alert(failed.alert_id)
    settle(qloop)
    screenshot(page.window(), "alerts_page.png")
    if os.environ.get("GRADIENT_DESKTOP_SCREENSHOTS"):  # the same page in the dark theme
        from gradient_desktop.ui import theme

        app = QtWidgets.QApplication.instance()
        previous = app.palette()
        app.setPalette(theme.dark_palette())
        settle(qloop)
        screenshot(page.window(), "alerts_page_dark.png")
        app.setPalette(previous)


def test_history_filters_and_exports_csv(
    qloop: Any, page: AlertsPage, setup: Any, tmp_path: Path
) -> None:
    _, mapped, unmapped = setup
    send_from_form(qloop, page, mapped[0], "Backup job failed")
    send_from_form(qloop, page, unmapped[0], "Agent offline")
    assert page.model.rowCount() == 2
    page.search.setText("agent")
    assert page.model.rowCount() == 1 and cells(page, 0)[2] == "Agent offline"
    page.search.clear()
    page.state_filter.setCurrentText("Needs you (outcome unknown, failed, refused)")
    assert [cells(page, r)[2] for r in range(page.model.rowCount())] == ["Agent offline"]
    page.state_filter.setCurrentText("All alerts")
    target = tmp_path / "alerts.csv"
    page.write_csv(target)
    rows = list(csv.DictReader(target.read_text(encoding="utf-8").splitlines()))
    assert [r["title"] for r in rows] == ["Agent offline", "Backup job failed"]
    assert rows[1]["status"] == "ticket created" and rows[1]["ticketId"]
    assert "PSA company" in rows[0]["reason"]


def test_send_alert_from_the_mapping_grid_opens_the_form(
    qtbot: Any, qloop: Any, ctx: AppContext, setup: Any
) -> None:
    from gradient_desktop.ui.main_window import MainWindow

    partner, mapped, _ = setup
    service = AlertService(ctx)
    (row,), _ = service.record(
        partner, [build_alert({"account_id": mapped[0], "title": "t"})], origin="app"
    )
    service.ledger.claim(row.id)
    service.ledger.interrupted(partner.id)  # one alert in doubt
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    window.select_partner_id(partner.id)
    settle(qloop)
    assert "1 alert needs you (Alerts page)" in window.status_label.text()
    mapping = next(p for p in window.pages if p.title == "Mapping")
    alerts = next(p for p in window.pages if isinstance(p, AlertsPage))
    view = mapping.accounts.accounts_view
    wait_until(qloop, lambda: mapping.accounts.accounts_model.rowCount() > 0)
    view.select_row(0)
    account = mapping.accounts.selected_accounts()[0]
    action = next(a for a in view.actions() if a.text() == "Send &alert…")
    assert view.contextMenuPolicy() == QtCore.Qt.ContextMenuPolicy.ActionsContextMenu
    action.trigger()
    assert window.tabs.currentWidget() is alerts and alerts.form.account_id() == account
    usage = next(p for p in window.pages if p.title == "Usage")
    assert any(a.text() == "Send &alert…" for a in usage.grid.actions())
    window.close()


def test_a_slow_ticket_is_still_pending_then_found_in_the_background(
    qloop: Any, page: AlertsPage, setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gradient_desktop.ui.alerts.page as page_module

    _, mapped, _ = setup
    monkeypatch.setattr(page_module, "TRACE_TIMEOUT_S", 0.5)
    options = page.ctx.demo._server.options  # type: ignore[attr-defined]
    options.update({"alert_delay_ms": 60_000})  # Gradient is slow today
    send_from_form(qloop, page, mapped[0], "Backup job failed")
    assert cells(page, 0)[5] == "still pending" and "still pending" in page.message.text()
    options.update({"alert_delay_ms": 0})
    entry = page.model.entry(0)
    page.service.ledger.checked(  # make its next check due now rather than in a few seconds
        entry.id, remote_status="pending", ticket_id=None, errors=None, reason=None, next_check_in=0
    )
    page.background_check()
    wait_until(qloop, lambda: cells(page, 0)[5] == "ticket created")
    assert page.form.send_button.isEnabled() and cells(page, 0)[6]


def test_the_form_follows_a_mapping_made_elsewhere(
    qloop: Any, page: AlertsPage, ctx: AppContext, setup: Any
) -> None:
    """An account mapped on the Mapping page (or in the wizard) loses its "(not mapped yet)"
    mark in the form without reopening the partner: the form renders from the partner state."""
    from gradient_desktop.services.mapping import MappingChange, MappingService

    partner, _mapped, unmapped = setup
    account = unmapped[0]

    def label() -> str:
        index = page.form.account.findData(account)
        return page.form.account.itemText(index)

    assert "(not mapped yet)" in label()
    client = IntegrationService(ctx).clients(partner)[-1].client_id
    service = MappingService(ctx)
    service.apply(partner, [MappingChange(account, client)])
    assert run(qloop, service.sync(partner, [account])) == {}
    wait_until(qloop, lambda: "(not mapped yet)" not in label())


def test_the_status_bar_and_the_alerts_page_agree_and_decisions_undo(
    qtbot: Any, qloop: Any, ctx: AppContext, setup: Any
) -> None:
    """Both render the partner's state (services/state.py): after an alert changes status —
    a send that fails, a decision, its undo — the status bar, the page's banner and its
    "Needs you" filter show the same number."""
    from gradient_desktop.ui.main_window import MainWindow
    from gradient_desktop.ui.state_binding import binding

    partner, mapped, unmapped = setup
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    window.select_partner_id(partner.id)
    page = next(p for p in window.pages if isinstance(p, AlertsPage))
    window.tabs.setCurrentWidget(page)
    settle(qloop)

    def agree() -> int:
        binding(ctx).flush_now()
        settle(qloop)
        n = ctx.state.get(partner.id).alerts_need_you
        bar, banner = window.status_label.text(), page.needs_you.text()
        if n:
            words = f"{n} alert{'s' if n > 1 else ''} need{'' if n > 1 else 's'} you"
            assert f"{words} (Alerts page)" in bar and banner.startswith(f"⚠ {words} — "), (
                bar,
                banner,
            )
            assert page.needs_you.isVisible() and page.show_needs_you.isVisible()
        else:
            assert "need" not in bar and not page.needs_you.isVisible(), (bar, banner)
        page.filter_needs_you()
        shown_rows = page.model.rowCount()
        page.state_filter.setCurrentText("All alerts")
        assert shown_rows == n
        return n

    assert agree() == 0
    send_from_form(qloop, page, unmapped[0], "Agent offline")  # fails: not mapped by the MSP
    assert agree() == 1 and "failed or refused" in page.needs_you.text()
    service = page.service
    (row,), _ = service.record(
        partner, [build_alert({"account_id": mapped[0], "title": "Fan"})], origin="app"
    )
    service.ledger.claim(row.id)
    service.ledger.interrupted(partner.id)  # a run cut off mid-send: in doubt
    ctx.state.touch(partner.id)
    assert agree() == 2 and "unknown outcome" in page.needs_you.text()

    page.reload()
    page.select_alert(row.alert_id)
    page.mark_button.click()
    assert service.ledger.get(row.alert_id).state == AlertState.MARKED_SENT
    assert agree() == 1
    window.undo_group.undo()  # Edit → Undo (Ctrl+Z) on the Alerts page
    assert service.ledger.get(row.alert_id).state == AlertState.UNKNOWN
    assert agree() == 2 and "Undone: Mark as sent 'Fan'" in page.message.text()
    screenshot(window, "alerts_need_you.png")  # the banner and the status bar, side by side

    failed = next(e for e in page.model.entries() if e.title == "Agent offline")
    page.select_alert(failed.alert_id)
    assert page.cancel_button.text() == "&Dismiss" and page.cancel_button.isEnabled()
    page.cancel_button.click()
    assert service.ledger.get(failed.alert_id).state == AlertState.CANCELLED
    assert agree() == 1
    window.undo_group.undo()
    assert service.ledger.get(failed.alert_id).state == AlertState.FAILED and agree() == 2
    window.undo_group.redo()
    assert agree() == 1

    from gradient_desktop.ui.dialogs.shortcuts import collect_shortcuts

    listed = {(r.command, r.keys) for r in collect_shortcuts(window) if r.group == "Alerts"}
    assert {("Check now for tickets", "F5"), ("Filter the alert history", "Ctrl+F"),
            ("Don't send or dismiss the selected alert", "Del")} <= listed, listed  # fmt: skip
    window.close()
