"""The setup wizard driven like a user would, against sandboxes on real sockets."""

from __future__ import annotations

from typing import Any

import pytest

from gradient_desktop.api import ClientOptions
from gradient_desktop.sandbox.seed import PARTNER_DEMO, PARTNER_SMALL, VENDOR_KEY
from gradient_desktop.sandbox.server import SandboxOptions, SandboxServer
from gradient_desktop.services.context import DEMO_PROFILE, AppContext
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.services.setup import Step
from tests.gui_helpers import close_ctx, in_loop, open_ctx, screenshot, settle, wait_until
from tests.ui.wizard.helpers import next_page, open_wizard, page

pytestmark = pytest.mark.gui


def drive_demo_to_mapping(qloop: Any, wizard: Any, *, shots: bool = False) -> Any:
    vendor = page(wizard)
    assert vendor.profile_box.currentText() == DEMO_PROFILE
    wait_until(qloop, lambda: vendor.name_edit.text() == "Northwind Cloud Backup")
    assert "support.northwind.example" in vendor.support_edit.text()
    if shots:
        screenshot(wizard, "wizard_1_vendor.png")
    product = next_page(qloop, wizard, Step.PRODUCT)
    wait_until(qloop, lambda: product.sku_list.count() == 3 and not product.running)
    if shots:
        screenshot(wizard, "wizard_2_product.png")
    key_page = next_page(qloop, wizard, Step.PARTNER_KEY)
    assert key_page.name_edit.text() == "Contoso Managed Services (demo)"
    assert key_page.key_field.edit.echoMode() == key_page.key_field.edit.EchoMode.Password
    if shots:
        screenshot(wizard, "wizard_3_partner_key.png")
    auth = next_page(qloop, wizard, Step.AUTHENTICATE)
    wait_until(qloop, auth.isComplete)
    assert "PENDING" in auth.status.text() and "Contoso Managed Services" in auth.status.text()
    if shots:
        screenshot(wizard, "wizard_4_authenticate.png")
    mapping = next_page(qloop, wizard, Step.MAP_CLIENTS)
    wait_until(qloop, mapping.isComplete)
    assert mapping.account_count() > 150 and mapping.client_count() == 200
    return mapping


def test_demo_wizard_happy_path_reaches_active_and_the_sandbox_shows_it(
    qtbot: Any, qloop: Any, ctx: AppContext
) -> None:
    wizard = open_wizard(qtbot, ctx)
    mapping = drive_demo_to_mapping(qloop, wizard, shots=True)
    mapping.auto_button.click()
    wait_until(qloop, mapping.isComplete)
    # And one by hand: the docs' example, "ACME Corp." → "Acme Corporation".
    partner = wizard.flow.partner
    acme = next(a for a in wizard.flow.integration.accounts(partner) if a.name == "ACME Corp.")
    client = next(
        c for c in wizard.flow.integration.clients(partner) if c.name == "Acme Corporation"
    )
    in_loop(qloop, lambda: mapping.map_pair(acme.account_id, client.client_id))
    settle(qloop, 0.4)  # the grid batches its syncs for a moment
    wait_until(qloop, mapping.isComplete)
    mapped = wizard.flow.mapping_summary().mapped
    assert mapped >= 10 and f"{mapped} of" in mapping.summary.text()
    screenshot(wizard, "wizard_5_map_clients.png")

    activate = next_page(qloop, wizard, Step.ACTIVATE)
    assert f"Accounts mapped: <b>{mapped}</b>" in activate.summary.text()
    assert not activate.isComplete()
    seen: list[int] = []  # the bar renders the partner's state while the first sync runs
    activate.progress.valueChanged.connect(seen.append)
    activate.activate_button.click()
    wait_until(
        qloop, lambda: activate.isComplete() and "First usage sync" in activate.status.text()
    )
    last = ctx.state.get(partner.id or 0).last_push
    assert last is not None and last.total == mapped * 3 and last.landed == mapped * 3
    assert len(set(seen)) > 3 and 0 < max(seen) <= mapped * 3  # it moved with the push
    assert activate.progress.value() == activate.progress.maximum()
    assert "ACTIVE" in activate.status.text()
    screenshot(wizard, "wizard_6_activate.png")
    wizard.accept()

    org = next(
        o for o in ctx.demo.state.summary()["organizations"] if o["partnerKey"] == PARTNER_DEMO
    )
    assert org["status"] == "active"
    assert org["mappedAccounts"] == mapped and org["accounts"] > 150
    assert org["counts"] == mapped * 3 and org["rebuilds"] == 1
    assert ctx.demo.state.client_of(PARTNER_DEMO, acme.account_id) == client.client_id


def fill_real_vendor(qloop: Any, wizard: Any, base_url: str) -> None:
    vendor = page(wizard)
    vendor.profile_box.setCurrentText("Northwind")
    vendor.url_edit.setText(base_url)
    vendor.vendor_key.setText(VENDOR_KEY)
    vendor.record_key.setText(PARTNER_SMALL)
    vendor.load_button.click()
    wait_until(qloop, lambda: vendor.name_edit.text() == "Northwind Cloud Backup")


def drive_real_to_key(qloop: Any, wizard: Any, base_url: str, name: str, key: str) -> Any:
    fill_real_vendor(qloop, wizard, base_url)
    product = next_page(qloop, wizard, Step.PRODUCT)
    wait_until(qloop, lambda: product.sku_list.count() == 3)
    key_page = next_page(qloop, wizard, Step.PARTNER_KEY)
    key_page.name_edit.setText(name)
    key_page.key_field.setText(key)
    return key_page


def test_wrong_key_stays_on_authenticate_with_the_reason_then_a_good_key_passes(
    qtbot: Any, qloop: Any, ctx: AppContext, sandbox: Any
) -> None:
    wizard = open_wizard(qtbot, ctx)
    drive_real_to_key(qloop, wizard, sandbox.base_url, "Contoso", "wrong-key-123")
    auth = next_page(qloop, wizard, Step.AUTHENTICATE)
    wait_until(qloop, lambda: not auth.running)
    assert wizard.currentId() == Step.AUTHENTICATE and not auth.isComplete()
    message = auth.error_label.text()
    assert auth.error_label.isVisible() and "key" in message.lower()
    assert "wrong-key-123" not in message
    assert not wizard.button(wizard.WizardButton.NextButton).isEnabled()
    screenshot(wizard, "wizard_4_authenticate_wrong_key.png")

    wizard.back()
    key_page = page(wizard)
    key_page.key_field.setText(PARTNER_DEMO)
    auth = next_page(qloop, wizard, Step.AUTHENTICATE)
    wait_until(qloop, auth.isComplete)
    assert not auth.error_label.isVisible()
    assert ctx.partner_key(PartnerDirectory(ctx).get("Contoso")) == PARTNER_DEMO
    assert sandbox.state.integration(PARTNER_DEMO)["status"] == "pending"


def test_network_failure_is_explained_and_retry_succeeds_once_gradient_is_back(
    qtbot: Any, qloop: Any, ctx: AppContext, sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        ctx,
        "client_options",
        lambda url: ClientOptions(max_retries=0, connect_timeout=2, read_timeout=2),
    )
    sb = sandbox_factory(seed="demo")
    port, state, url = sb.port, sb.state, sb.base_url
    wizard = open_wizard(qtbot, ctx)
    drive_real_to_key(qloop, wizard, url, "Contoso", PARTNER_DEMO)
    sb.stop()  # Gradient unreachable
    auth = next_page(qloop, wizard, Step.AUTHENTICATE)
    wait_until(qloop, lambda: not auth.running)
    assert not auth.isComplete() and auth.retry_button.isEnabled()
    assert "could not connect to gradient" in auth.error_label.text().lower()

    back = SandboxServer(SandboxOptions(seed="demo", port=port), state=state).start()
    try:
        auth.retry_button.click()
        wait_until(qloop, auth.isComplete)
        assert not auth.error_label.isVisible()
        assert state.integration(PARTNER_DEMO)["status"] == "pending"
    finally:
        wizard.reject()
        settle(qloop)
        back.stop()


def test_cancel_mid_authenticate_and_closing_the_wizard_mid_call(
    qtbot: Any, qloop: Any, ctx: AppContext, sandbox_factory: Any
) -> None:
    sb = sandbox_factory(seed="demo")
    wizard = open_wizard(qtbot, ctx)
    drive_real_to_key(qloop, wizard, sb.base_url, "Contoso", PARTNER_DEMO)
    sb.options.update({"latency_ms": 5000})
    auth = next_page(qloop, wizard, Step.AUTHENTICATE)
    settle(qloop, 0.2)
    assert auth.running and auth.busy.isVisible() and auth.cancel_button.isEnabled()
    started = qloop.time()
    auth.cancel_button.click()
    wait_until(qloop, lambda: not auth.running, timeout=3)
    assert qloop.time() - started < 2
    assert "Cancelled" in auth.status.text() and not auth.isComplete()

    auth.retry_button.click()
    settle(qloop, 0.2)
    assert auth.running
    wizard.reject()  # closing mid-call cancels cleanly
    wait_until(qloop, lambda: not wizard.tasks.busy, timeout=3)
    partner = wizard.flow.partner
    assert partner is not None
    # Saved for a resume on the page it stopped on.
    assert ctx.partners_step(partner.id) if hasattr(ctx, "partners_step") else True
    from gradient_desktop.services.partners import PartnerDirectory

    assert PartnerDirectory(ctx).by_id(partner.id or 0).setup_step == Step.AUTHENTICATE


def test_half_finished_setup_resumes_where_it_stopped_after_an_app_restart(
    qtbot: Any, qloop: Any
) -> None:
    ctx = open_ctx()
    wizard = open_wizard(qtbot, ctx)
    mapping = drive_demo_to_mapping(qloop, wizard)
    mapping.auto_button.click()
    wait_until(qloop, mapping.isComplete)
    mapped = wizard.flow.mapping_summary().mapped
    partner_id = wizard.flow.partner.id
    wizard.reject()
    close_ctx(qloop, ctx)  # the app quits

    again = open_ctx()  # ... and starts again on the same home folder
    try:
        from gradient_desktop.ui.partners_view import PartnersView

        view = PartnersView(again)
        qtbot.addWidget(view)
        view.reload()
        assert "SETUP · step 5 of 6" in view.list.item(0).text()
        view.select(partner_id)
        assert view.reconnect_action.text() == "Continue &setup…"
        resumed = view.reconnect_partner()
        qtbot.addWidget(resumed)
        assert resumed.currentId() == Step.MAP_CLIENTS
        mapping = page(resumed)
        wait_until(qloop, mapping.isComplete)
        assert resumed.flow.mapping_summary().mapped == mapped
        org = again.demo.state.summary()["organizations"][0]
        assert org["mappedAccounts"] == mapped  # the sandbox kept them too
        activate = next_page(qloop, resumed, Step.ACTIVATE)
        activate.usage_box.setChecked(False)
        activate.activate_button.click()
        wait_until(qloop, activate.isComplete)
        resumed.accept()
        settle(qloop)
        assert "ACTIVE" in view.list.item(0).text()
    finally:
        close_ctx(qloop, again)


def test_two_partners_set_up_side_by_side(qtbot: Any, qloop: Any, ctx: AppContext) -> None:
    first = open_wizard(qtbot, ctx)
    second = open_wizard(qtbot, ctx)
    for wizard in (first, second):
        vendor = page(wizard)
        wait_until(qloop, lambda v=vendor: v.name_edit.text() == "Northwind Cloud Backup")
        next_page(qloop, wizard, Step.PRODUCT)
    for wizard in (first, second):
        next_page(qloop, wizard, Step.PARTNER_KEY)
    page(second).name_edit.setText("Fabrikam IT Partners (demo)")
    page(second).key_field.setText(PARTNER_SMALL)
    for wizard in (first, second):
        next_page(qloop, wizard, Step.AUTHENTICATE)
    for wizard in (first, second):
        next_page(qloop, wizard, Step.MAP_CLIENTS)
    for wizard in (first, second):
        mapping = page(wizard)
        wait_until(qloop, mapping.isComplete)
        mapping.auto_button.click()
    for wizard in (first, second):
        activate = next_page(qloop, wizard, Step.ACTIVATE)
        activate.activate_button.click()
    for wizard in (first, second):
        wait_until(qloop, lambda w=wizard: page(w).isComplete())
        wizard.accept()
    summary = {o["partnerKey"]: o for o in ctx.demo.state.summary()["organizations"]}
    for key in (PARTNER_DEMO, PARTNER_SMALL):
        assert summary[key]["status"] == "active" and summary[key]["mappedAccounts"] > 0
    assert ctx.demo.partner_keys["Fabrikam IT Partners (demo)"] == PARTNER_SMALL
    assert ctx.demo.partner_keys["Contoso Managed Services (demo)"] == PARTNER_DEMO


def test_keyring_missing_shows_what_to_install_and_stays_on_the_vendor_page(
    qtbot: Any, qloop: Any, ctx: AppContext, sandbox: Any
) -> None:
    import keyring
    import keyring.backends.fail

    keyring.set_keyring(keyring.backends.fail.Keyring())
    wizard = open_wizard(qtbot, ctx)
    vendor = page(wizard)
    vendor.profile_box.setCurrentText("Northwind")
    vendor.url_edit.setText(sandbox.base_url)
    vendor.vendor_key.setText(VENDOR_KEY)
    vendor.record_key.setText(PARTNER_SMALL)
    wizard.next()
    assert wizard.currentId() == Step.VENDOR
    assert "gnome-keyring" in vendor.error_label.text()
