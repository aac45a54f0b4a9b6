"""The Partner's view in the demo, over real sockets: the seed's second lane walked end to end —
push a changed count on the Usage page, see the partner's card with the right difference, edit
its price, approve it, and see the PSA agreement's quantity, price and history change."""

from __future__ import annotations

from typing import Any

import pytest

from gradient_desktop.services.billing import BillingService
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.qa import IntegrationCheck
from gradient_desktop.services.wording import plural
from gradient_desktop.store.models import Partner
from gradient_desktop.ui.billing.cards_model import CARD_ROLE, COL_PRICE
from gradient_desktop.ui.billing.page import PartnerViewPage
from gradient_desktop.ui.usage.page import UsagePage
from tests.contrast import low_contrast
from tests.gui_helpers import run, screenshot, settle, wait_until
from tests.setup_helpers import run_demo_setup

pytestmark = pytest.mark.gui


def _find_row(page: PartnerViewPage, card_id: str) -> Any:
    model = page.model
    for g in range(model.rowCount()):
        group = model.index(g, 0)
        for r in range(model.rowCount(group)):
            index = model.index(r, 0, group)
            if index.data(CARD_ROLE) == card_id:
                return index
    return None


def _loaded(qloop: Any, page: PartnerViewPage, action: Any) -> None:
    """Run `action` and wait for the page's next reload to land."""
    seen: list[int] = []
    page.loaded.connect(lambda: seen.append(1))
    action()
    wait_until(qloop, lambda: seen and not page.tasks.busy)


def _shots(qapp: Any, page: PartnerViewPage, qloop: Any) -> None:
    """Light and dark, switched live as Settings → Theme does (the page must follow)."""
    from gradient_desktop.ui import theme

    manager = theme.install(qapp, "light")
    try:
        for scheme, suffix in (("light", ""), ("dark", "_dark")):
            manager.apply(scheme)
            settle(qloop, 0.2)
            screenshot(page, f"partner_view{suffix}.png")
        # The chart follows the switch: it draws on the dark base colour, not on white.
        background = page.chart.view.backgroundBrush().color()
        assert background.lightness() < 60
        assert not low_contrast(page), low_contrast(page)
    finally:
        manager.apply("light")


def test_demo_walk_push_edit_price_approve_updates_the_psa_agreement(
    qtbot: Any, qloop: Any, qapp: Any, qtmodeltester: Any, ctx: AppContext
) -> None:
    from gradient_desktop.ui import theme

    theme.install(qapp, "light")  # as the app does at start, before any page exists
    flow = run(qloop, run_demo_setup(ctx))
    partner: Partner = flow.partner
    assert BillingService(ctx).available(partner)
    page = PartnerViewPage(ctx)
    qtbot.addWidget(page)
    page.resize(1500, 900)
    _loaded(qloop, page, lambda: (page.set_partner(partner), page.show()))
    # The first usage sync met the seeded agreements: some cards match, some need review.
    all_states = {c.state for c in run(qloop, BillingService(ctx).cards(partner))}
    assert all_states == {"matched", "needs_review"}
    assert page.model.cards and all(c.state == "needs_review" for c in page.model.cards.values())
    assert "need review" in page.totals.text()
    qtmodeltester.check(page.model)

    # A matched card; the vendor's count for it changes and is pushed from the Usage page.
    matched = next(
        c for c in run(qloop, BillingService(ctx).cards(partner)) if c.state == "matched"
    )
    new_count = matched.vendor_quantity + 4
    usage = UsagePage(ctx)
    qtbot.addWidget(usage)
    usage.set_partner(partner)
    usage.stage_amount([(matched.service_id, matched.account_id)], "set", f"{new_count:g}")
    usage.push_action.trigger()
    wait_until(qloop, lambda: usage.push_task is not None and usage.push_task.done())
    assert usage.push_task.result().all_landed

    _loaded(qloop, page, page.reload)
    card = page.model.cards[matched.id]
    assert card.state == "needs_review"
    assert (card.vendor_quantity, card.psa_quantity, card.difference) == (
        new_count,
        matched.psa_quantity,
        4,
    )
    assert card.monthly_difference == round(4 * matched.unit_price, 2)

    # Edit the price in the tree, as a double-click and typing would.
    row = _find_row(page, matched.id)
    assert row is not None
    price_cell = page.model.index(row.row(), COL_PRICE, row.parent())
    _loaded(qloop, page, lambda: page.model.setData(price_cell, "$9.99"))
    card = page.model.cards[matched.id]
    assert card.proposed_price == 9.99 and card.edited
    row = _find_row(page, matched.id)  # the reload rebuilt the tree: old indexes are gone
    assert "(edited)" in page.model.index(row.row(), 7, row.parent()).data()

    # Select it (its client's agreement loads), then approve.
    page.tree.setCurrentIndex(row)
    wait_until(qloop, lambda: page.agreement.agreement is not None and not page.tasks.busy)
    assert page.agreement.history_model.rowCount() == 0
    assert page.selected_card_ids() == [matched.id]
    _loaded(qloop, page, page.approve_selected)
    assert matched.id not in page.model.cards  # it no longer needs review
    assert "Approved 1 card" in page.notice.text()

    # The PSA agreement changed: quantity, price, and one history entry.
    key = ctx.demo.partner_key(partner.name)
    (agreement,) = ctx.demo.state.billing_agreements(key, matched.client_id)
    line = next(ln for ln in agreement["lines"] if ln["serviceId"] == matched.service_id)
    assert (line["quantity"], line["unitPrice"]) == (new_count, 9.99)
    (entry,) = agreement["history"]
    assert (entry["quantityFrom"], entry["quantityTo"]) == (matched.psa_quantity, new_count)
    assert (entry["priceFrom"], entry["priceTo"]) == (matched.unit_price, 9.99)
    assert entry["effectiveDate"] == page.effective.date().toPython().isoformat()
    wait_until(qloop, lambda: page.agreement.history_model.rowCount() == 1)
    assert "→" in page.agreement.history_model.index(0, 3).data()

    # Grouped by service and showing all cards, the approved one is there, approved.
    page.filter_choice.setCurrentIndex(1)
    wait_until(qloop, lambda: matched.id in page.model.cards and not page.tasks.busy)
    assert page.model.cards[matched.id].state == "approved"
    page.group_choice.setCurrentIndex(1)
    assert page.model.rowCount() == len({c.service_id for c in page.model.cards.values()})
    # The chart has our pushes and the approval for the services.
    assert any(len(s.vendor) >= 2 for s in page.chart.series)

    # The integration check's "usage received" now reads the partner's cards.
    report = run(qloop, IntegrationCheck(ctx).run(partner))
    assert report.step("usage").ok and "service cards" in report.step("usage").detail

    # For the screenshots: by client, every card, the approved one selected with its history.
    page.group_choice.setCurrentIndex(0)
    wait_until(qloop, lambda: not page.tasks.busy)
    page.tree.setCurrentIndex(_find_row(page, matched.id))
    page.tree.scrollTo(_find_row(page, matched.id))
    wait_until(qloop, lambda: page.agreement.history_model.rowCount() == 1)
    _shots(qapp, page, qloop)

    # Bulk: "Approve all shown" asks first (a non-modal box), then approves every card.
    from gradient_desktop.ui.qt import QtWidgets

    waiting = sum(1 for c in page.model.cards.values() if c.state == "needs_review")
    assert waiting > 1 and str(waiting) in page.approve_all_button.text()
    page.approve_all_shown()
    box = page.confirm_box
    assert f"Approve {waiting}" in box.text()
    _loaded(qloop, page, lambda: box.button(QtWidgets.QMessageBox.StandardButton.Yes).click())
    assert f"Approved {plural(waiting, 'card')}" in page.notice.text()
    assert not any(c.state == "needs_review" for c in page.model.cards.values())
    assert not page.approve_all_button.isEnabled()
    key = ctx.demo.partner_key(partner.name)
    assert ctx.demo.state.billing_cards(key, "needs_review") == []
    usage.close()
    page.close()


def test_page_is_hidden_for_real_gradient_partners(qtbot: Any, qloop: Any, ctx: AppContext) -> None:
    from gradient_desktop.services.partners import PartnerDirectory
    from gradient_desktop.ui.qt import QtWidgets

    directory = PartnerDirectory(ctx)
    profile = directory.save_profile("real", "https://app.usegradient.com", "vk")
    real = directory.add("Real MSP", profile, "pk")
    local_profile = directory.save_profile("local", "http://127.0.0.1:8765", "vk")
    local = directory.add("Local MSP", local_profile, "pk2")
    tabs = QtWidgets.QTabWidget()
    qtbot.addWidget(tabs)
    page = PartnerViewPage(ctx)
    tabs.addTab(QtWidgets.QWidget(), "Usage")
    tabs.addTab(page, page.title)
    page.set_partner(real)
    assert not tabs.isTabVisible(1) and not page.isEnabled()
    assert not BillingService(ctx).available(real)
    assert BillingService(ctx).available(local)
    page.set_partner(None)
    assert not tabs.isTabVisible(1)


def test_a_stopped_local_sandbox_is_reported_on_the_page(
    qtbot: Any, qloop: Any, ctx: AppContext, sandbox: Any
) -> None:
    from gradient_desktop.services.partners import PartnerDirectory

    directory = PartnerDirectory(ctx)
    profile = directory.save_profile("local", sandbox.base_url, "sandbox-vendor-demo")
    partner = directory.add("Local MSP", profile, "sandbox-partner-demo")
    page = PartnerViewPage(ctx)
    qtbot.addWidget(page)
    page.set_partner(partner)
    assert not page.tasks.busy  # hidden: nothing is read until the page is shown
    _loaded(qloop, page, page.show)
    assert page.model.rowCount() == 0 and "No service cards need review" in page.notice.text()
    sandbox.stop()
    page.reload()
    wait_until(qloop, lambda: "could not be read" in page.notice.text())
    assert "sandbox did not answer" in page.notice.text()


def test_approve_and_dismiss_are_undone_with_ctrl_z_and_the_undo_button(
    qtbot: Any, qloop: Any, ctx: AppContext
) -> None:
    """Issue 14's leftover: in the main window, Ctrl+Z takes an approval back (the card waits
    for review again, the PSA line is back), redo approves again, and the page's Undo button
    takes back a dismissal; all against the demo sandbox over its socket."""
    from gradient_desktop.ui.main_window import MainWindow
    from gradient_desktop.ui.qt import QtCore

    flow = run(qloop, run_demo_setup(ctx))
    partner: Partner = flow.partner
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitActive(window)
    window.select_partner_id(partner.id)
    page = next(p for p in window.pages if isinstance(p, PartnerViewPage))
    _loaded(qloop, page, lambda: window.tabs.setCurrentWidget(page))
    key = ctx.demo.partner_key(partner.name)
    first, second = sorted(page.model.cards)[:2]
    card = page.model.cards[first]

    def psa_line() -> tuple[float, float] | None:
        found = ctx.demo.state.billing_agreements(key, card.client_id)
        lines = [ln for a in found for ln in a["lines"] if ln["serviceId"] == card.service_id]
        return (lines[0]["quantity"], lines[0]["unitPrice"]) if lines else None

    before = psa_line()
    page.tree.setCurrentIndex(_find_row(page, first))
    _loaded(qloop, page, page.approve_selected)
    assert first not in page.model.cards and psa_line() == (
        card.vendor_quantity,
        card.unit_price,
    )
    assert page.notice.text().endswith("Ctrl+Z undoes it.")
    assert page.undo_button.isEnabled() and "Approve 1 card" in page.undo_button.text()

    # Ctrl+Z on the window (Edit → Undo): the card needs review again, the PSA is back.
    _loaded(
        qloop,
        page,
        lambda: qtbot.keyClick(
            window, QtCore.Qt.Key.Key_Z, QtCore.Qt.KeyboardModifier.ControlModifier
        ),
    )
    assert page.model.cards[first].state == "needs_review" and psa_line() == before
    assert page.notice.text().startswith("Undone: 1 card waits for review again")
    (agreement,) = ctx.demo.state.billing_agreements(key, card.client_id)
    assert [h["action"] for h in agreement["history"]] == ["undone", "approved"]

    # Redo approves it again.
    _loaded(qloop, page, page.undo_stack.redo)
    assert first not in page.model.cards and psa_line() == (
        card.vendor_quantity,
        card.unit_price,
    )
    assert page.undo_stack.count() == 1

    # Dismiss another card; the page's Undo button takes it back.
    page.tree.setCurrentIndex(_find_row(page, second))
    _loaded(qloop, page, page.dismiss_selected)
    assert second not in page.model.cards
    assert "Dismiss 1 card" in page.undo_button.text()
    _loaded(
        qloop,
        page,
        lambda: qtbot.mouseClick(page.undo_button, QtCore.Qt.MouseButton.LeftButton),
    )
    assert page.model.cards[second].state == "needs_review"
    assert ctx.demo.state.billing_cards(key, "dismissed") == []
    screenshot(page, "partner_view_undo.png")
    page.close()  # as the walk does: the chart's menus go with the page
    window.close()
