"""The Partners view: status colours and counts, Sync now, Disconnect (keep or remove the key)
and Reconnect through the wizard, against the demo sandbox on a real socket."""

from __future__ import annotations

from typing import Any

import pytest

from gradient_desktop.sandbox.seed import PARTNER_DEMO
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.services.setup import Step
from gradient_desktop.ui import theme
from gradient_desktop.ui.partners_view import STATUS_COLORS, PartnersView
from tests.gui_helpers import run, screenshot, settle, shown, wait_until
from tests.setup_helpers import run_demo_setup

pytestmark = pytest.mark.gui


@pytest.fixture
def view(qtbot: Any, qloop: Any, ctx: AppContext) -> PartnersView:
    return shown(qtbot, qloop, PartnersView(ctx), 360, 520)


def active_demo_partner(qloop: Any, ctx: AppContext) -> Any:
    flow = run(qloop, run_demo_setup(ctx))
    return flow.partner


def item_text(view: PartnersView, partner_id: int) -> str:
    for i in range(view.list.count()):
        if view.list.item(i).data(256) == partner_id:
            return view.list.item(i).text()
    raise AssertionError("partner not listed")


def wait_action(qloop: Any, view: PartnersView) -> None:
    settle(qloop)
    wait_until(qloop, lambda: not view.tasks.busy)


def test_partners_show_status_colour_counts_and_last_sync(
    qloop: Any, ctx: AppContext, view: PartnersView
) -> None:
    partner = active_demo_partner(qloop, ctx)
    flow_draft = run(qloop, _draft(ctx))
    view.reload()
    text = item_text(view, partner.id)
    mapped = PartnerDirectory(ctx).summaries()
    contoso = next(s for s in mapped if s.id == partner.id)
    assert (
        "ACTIVE" in text and f"{contoso.mapped_accounts}/{contoso.accounts} accounts mapped" in text
    )
    assert "synced never" not in text
    row = next(i for i in range(view.list.count()) if view.list.item(i).data(256) == partner.id)
    expected = theme.color(STATUS_COLORS["active"]).name()
    assert view.list.item(row).foreground().color().name() == expected
    assert "SETUP · step 3 of 6" in item_text(view, flow_draft.partner.id)
    view.select(partner.id)
    assert view.sync_action.isEnabled() and view.reconnect_action.text() == "&Reconnect…"
    # ACTIVE: nothing to reconnect (#11 defect 13).
    assert not view.reconnect_action.isEnabled()
    assert view.sync_action.shortcut().toString() == "Ctrl+Shift+S"
    view.select(flow_draft.partner.id)
    assert not view.sync_action.isEnabled()
    assert view.reconnect_action.text() == "Continue &setup…"
    view.select(partner.id)
    screenshot(view, "partners_view.png")


async def _draft(ctx: AppContext) -> Any:
    from gradient_desktop.services.context import DEMO_PROFILE, SANDBOX_URL
    from gradient_desktop.services.setup import SetupFlow

    flow = SetupFlow.new(ctx, demo=True)
    flow.save_vendor(DEMO_PROFILE, SANDBOX_URL)
    vendor = await flow.load_vendor()
    flow.choose_services(vendor.skus)
    return flow


def test_sync_now_pushes_queued_counts_and_reports(
    qloop: Any, ctx: AppContext, view: PartnersView
) -> None:
    from gradient_desktop.counts import CountRow
    from gradient_desktop.services.mapping import MappingService
    from gradient_desktop.services.push import PushService

    partner = active_demo_partner(qloop, ctx)
    account = next(iter(MappingService(ctx).mappings(partner)))
    service = ctx.demo.state.vendor(ctx.demo.vendor_key)["skus"][0]["id"]
    PushService(ctx).enqueue(partner, [CountRow(service, account, 42)])
    view.reload()
    view.select(partner.id)
    view.sync_action.trigger()
    wait_action(qloop, view)
    assert "1 of 1 counts landed" in view.message.text()
    # What a user can check (#11 defect 11), not "0 account(s) published".
    st = ctx.state.get(partner.id)
    assert f"{st.accounts_published} of {st.accounts_total} on Gradient" in view.message.text()
    assert f"{st.accounts_mapped} mapped" in view.message.text()
    assert "is ACTIVE on Gradient" in view.message.text()
    assert ctx.demo.state.counts(PARTNER_DEMO)[(service, account)]["unitCount"] == 42


def test_disconnect_keeping_the_key_then_reconnect_through_the_wizard(
    qtbot: Any, qloop: Any, ctx: AppContext, view: PartnersView
) -> None:
    partner = active_demo_partner(qloop, ctx)
    view.reload()
    view.select(partner.id)
    box = view.disconnect_partner()
    keep = next(b for b in box.buttons() if "keep" in b.text())
    keep.click()
    wait_action(qloop, view)
    assert "kept" in view.message.text()
    assert ctx.demo.state.integration(PARTNER_DEMO)["status"] == "inactive"
    assert "DISCONNECTED" in item_text(view, partner.id)
    assert view.reconnect_action.text() == "&Reconnect…"

    wizard = view.reconnect_partner()
    qtbot.addWidget(wizard)
    assert wizard.currentId() == Step.VENDOR
    _drive_reconnect(qloop, wizard, new_key=False)
    wizard.accept()
    settle(qloop)
    assert ctx.demo.state.integration(PARTNER_DEMO)["status"] == "active"
    assert "ACTIVE" in item_text(view, partner.id)


def test_msp_disconnect_makes_sync_fail_then_reconnect_with_a_new_key(
    qtbot: Any, qloop: Any, ctx: AppContext, view: PartnersView
) -> None:
    partner = active_demo_partner(qloop, ctx)
    state = ctx.demo.state
    mapped_before = len(state.accounts(PARTNER_DEMO, only_mapped=True))
    state.disconnect(PARTNER_DEMO)  # the MSP disconnects in Synthesize: key dead, data gone
    view.reload()
    view.select(partner.id)
    view.sync_now()
    wait_action(qloop, view)
    assert "401" in view.message.text() or "key" in view.message.text().lower()
    view.disconnect_partner(remove_keys=True)
    wait_action(qloop, view)

    wizard = view.reconnect_partner()
    qtbot.addWidget(wizard)
    _drive_reconnect(qloop, wizard, new_key=True)
    wizard.accept()
    settle(qloop)
    org = next(
        o
        for o in state.summary()["organizations"]
        if o["connected"] and o["name"] == "Contoso Managed Services"
    )
    assert org["partnerKey"] != PARTNER_DEMO
    assert org["status"] == "active" and org["mappedAccounts"] == mapped_before > 0


def _drive_reconnect(qloop: Any, wizard: Any, *, new_key: bool) -> None:
    def go(step: Step) -> Any:
        wait_until(qloop, lambda: wizard.currentPage().isComplete())
        wizard.next()
        assert wizard.currentId() == step, wizard.currentPage().error_label.text()
        return wizard.currentPage()

    product = go(Step.PRODUCT)
    wait_until(qloop, lambda: product.sku_list.count() == 3)
    key_page = go(Step.PARTNER_KEY)
    assert key_page.name_edit.text() == "Contoso Managed Services (demo)"
    if new_key:
        key_page.new_key_button.click()
        assert key_page.key_field.text().startswith("sandbox-partner-")
    auth = go(Step.AUTHENTICATE)
    wait_until(qloop, auth.isComplete)
    mapping = go(Step.MAP_CLIENTS)
    wait_until(qloop, mapping.isComplete)
    activate = go(Step.ACTIVATE)
    activate.usage_box.setChecked(False)
    activate.activate_button.click()
    wait_until(qloop, activate.isComplete)


def test_context_menu_offers_every_action(qloop: Any, ctx: AppContext, view: PartnersView) -> None:
    active_demo_partner(qloop, ctx)
    view.reload()
    view._context_menu(view.list.visualItemRect(view.list.item(0)).center())
    settle(qloop)
    from gradient_desktop.ui.qt import QtWidgets

    menus = [
        w
        for w in QtWidgets.QApplication.topLevelWidgets()
        if isinstance(w, QtWidgets.QMenu) and w.isVisible()
    ]
    assert menus
    texts = [a.text() for a in menus[-1].actions() if not a.isSeparator()]
    assert texts == [
        "&Connect a partner…",
        "&Sync now",
        "&Disconnect…",
        "&Reconnect…",
        "Count se&ttings…",
    ]
    menus[-1].close()
