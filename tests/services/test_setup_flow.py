"""The Qt-free setup state machine (services/setup.py), the integration check (services/qa.py)
and the demo sandbox snapshot, driven with plain asyncio against sandboxes on real sockets."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from gradient_desktop.api import AuthenticationError
from gradient_desktop.config import data_dir, database_path
from gradient_desktop.sandbox.seed import PARTNER_DEMO, PARTNER_SMALL, VENDOR_KEY, make_state
from gradient_desktop.sandbox.state import SandboxState
from gradient_desktop.secrets import KeyringUnavailable
from gradient_desktop.services.context import (
    DEMO_PROFILE,
    DEMO_SNAPSHOT,
    SANDBOX_URL,
    AppContext,
    DemoEnvironment,
)
from gradient_desktop.services.integration import (
    CustomerFileError,
    IntegrationService,
    parse_customers_csv,
)
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.services.qa import IntegrationCheck
from gradient_desktop.services.setup import NEXT_STEP, SetupError, SetupFlow, Step
from tests.setup_helpers import open_ctx, run_demo_setup


def test_navigation_map_is_a_straight_line_from_vendor_to_done() -> None:
    step, seen = Step.VENDOR, [Step.VENDOR]
    while step in NEXT_STEP:
        step = NEXT_STEP[step]
        seen.append(step)
    assert seen == list(Step)


def test_demo_setup_reaches_active_with_accounts_mappings_and_usage_in_the_sandbox(
    ctx: AppContext,
) -> None:
    async def go() -> SetupFlow:
        try:
            return await run_demo_setup(ctx)
        finally:
            await ctx.aclose()

    flow = asyncio.run(go())
    partner = flow.partner
    assert partner is not None and partner.name == "Contoso Managed Services (demo)"
    assert partner.status == "active" and partner.setup_step == Step.DONE
    summary = ctx.demo.state.summary()
    org = next(o for o in summary["organizations"] if o["partnerKey"] == PARTNER_DEMO)
    assert org["status"] == "active"
    assert org["accounts"] == len(IntegrationService(ctx).accounts(partner)) > 150
    mapped = flow.mapping_summary().mapped
    assert mapped >= 10 and org["mappedAccounts"] == mapped
    assert org["counts"] == mapped * 2 and org["rebuilds"] == 1
    assert flow.data["pending_seen_at"] and "vendor" in flow.data
    # Nothing secret in what is persisted for the resume.
    assert (
        "sandbox-partner" not in partner.setup_data and "sandbox-vendor" not in partner.setup_data
    )


def test_wrong_partner_key_fails_with_a_reason_and_the_step_stays(sandbox: Any) -> None:
    ctx = open_ctx()

    async def go() -> None:
        flow = SetupFlow.new(ctx)
        flow.save_vendor("Northwind", sandbox.base_url, VENDOR_KEY, record_key=PARTNER_SMALL)
        vendor = await flow.load_vendor()
        assert vendor.name == "Northwind Cloud Backup"
        flow.choose_services(vendor.skus[:1])
        flow.set_partner("Contoso", "not-a-real-key")
        with pytest.raises(AuthenticationError) as err:
            await flow.authenticate()
        assert "key" in str(err.value).lower() and "not-a-real-key" not in str(err.value)
        assert flow.step == Step.AUTHENTICATE and not flow.authenticated()
        with pytest.raises(SetupError):
            flow.finish_authenticate()
        flow.set_partner("Contoso", PARTNER_DEMO)
        integration = await flow.authenticate()
        assert integration.status == "pending" and flow.authenticated()
        await ctx.aclose()

    try:
        asyncio.run(go())
        assert ctx.partner_key(PartnerDirectory(ctx).get("Contoso")) == PARTNER_DEMO
        assert ctx.secrets.get_vendor_key("Northwind") == VENDOR_KEY
    finally:
        ctx.close()


def test_half_finished_setup_resumes_after_a_restart_on_the_same_sandbox_state() -> None:
    ctx = open_ctx()

    async def first_run() -> int:
        flow = await run_demo_setup(ctx, until=Step.MAP_CLIENTS)
        await flow.publish()
        flow.auto_match_exact()
        await flow.sync_mappings()
        await ctx.aclose()
        assert flow.partner is not None
        return flow.partner.id or 0

    partner_id = asyncio.run(first_run())
    mapped_before = ctx.demo.state.summary()["organizations"][0]["mappedAccounts"]
    ctx.close()  # the app quits: the demo sandbox is saved to its snapshot
    assert (data_dir() / DEMO_SNAPSHOT).exists()

    again = open_ctx()
    try:
        flow = SetupFlow.resume(again, partner_id)
        assert flow.step == Step.MAP_CLIENTS
        org = again.demo.state.summary()["organizations"][0]
        assert org["mappedAccounts"] == mapped_before > 0  # the sandbox remembers too

        async def finish() -> None:
            flow.finish_mapping()
            await flow.activate()
            await again.aclose()

        asyncio.run(finish())
        assert flow.partner is not None and flow.partner.status == "active"
    finally:
        again.close()


def test_resume_at_product_without_the_memory_only_record_key_goes_back_to_vendor(
    sandbox: Any,
) -> None:
    ctx = open_ctx()
    try:
        flow = SetupFlow.new(ctx)
        flow.save_vendor("Northwind", sandbox.base_url, VENDOR_KEY, record_key=PARTNER_SMALL)
        assert flow.step == Step.PRODUCT and flow.record_credentials() is not None
        assert flow.partner is not None
        resumed = SetupFlow.resume(ctx, flow.partner.id or 0)
        assert resumed.step == Step.VENDOR
    finally:
        ctx.close()


def test_keyring_missing_is_reported_and_nothing_is_stored_in_plaintext(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keyring
    import keyring.backends.fail

    keyring.set_keyring(keyring.backends.fail.Keyring())
    ctx = open_ctx()
    try:
        flow = SetupFlow.new(ctx)
        with pytest.raises(KeyringUnavailable) as err:
            flow.save_vendor("Northwind", sandbox.base_url, VENDOR_KEY)
        assert "gnome-keyring" in str(err.value)
        assert flow.partner is None
        db_bytes = database_path().read_bytes()
        assert VENDOR_KEY.encode() not in db_bytes
        # The demo needs no keyring at all.
        demo = SetupFlow.new(ctx, demo=True)
        demo.save_vendor(DEMO_PROFILE, SANDBOX_URL)
        assert demo.step == Step.PRODUCT
    finally:
        ctx.close()


def test_disconnect_then_reconnect_with_a_new_key_after_the_msp_disconnected(
    ctx: AppContext,
) -> None:
    async def go() -> None:
        flow = await run_demo_setup(ctx)
        partner = flow.partner
        assert partner is not None
        # The MSP disconnects in Synthesize: data gone, key dead.
        ctx.demo.state.disconnect(ctx.demo.partner_key(partner.name))
        with pytest.raises(AuthenticationError):
            await IntegrationService(ctx).refresh(partner)
        await IntegrationService(ctx).disconnect(partner, remove_keys=True)
        assert PartnerDirectory(ctx).by_id(partner.id or 0).status == "disconnected"

        again = SetupFlow.reconnect(ctx, partner.id or 0)
        assert again.data["service_ids"] == flow.data["service_ids"]
        again.save_vendor(DEMO_PROFILE, SANDBOX_URL)
        await again.load_vendor()
        skus = [s for s in again.vendor.skus if s.id in again.data["service_ids"]]  # type: ignore[union-attr]
        again.choose_services(skus)
        new_key = again.demo_new_key()
        assert new_key != PARTNER_DEMO
        again.set_partner(partner.name, new_key)
        assert (await again.authenticate()).status == "pending"
        again.finish_authenticate()
        await again.publish()
        await again.sync_mappings()
        again.finish_mapping()
        await again.activate()
        await ctx.aclose()

    asyncio.run(go())
    org = next(
        o
        for o in ctx.demo.state.summary()["organizations"]
        if o["connected"] and o["name"].startswith("Contoso")
    )
    assert org["status"] == "active" and org["mappedAccounts"] > 0 and org["accounts"] > 150


def test_two_partners_at_once_keep_separate_keys_and_data(sandbox: Any) -> None:
    ctx = open_ctx()

    async def setup(name: str, key: str) -> SetupFlow:
        flow = SetupFlow.new(ctx)
        flow.save_vendor("Northwind", sandbox.base_url, VENDOR_KEY, record_key=PARTNER_SMALL)
        vendor = await flow.load_vendor()
        flow.choose_services(vendor.skus)
        flow.set_partner(name, key)
        await flow.authenticate()
        flow.finish_authenticate()
        customers = "id,name,description\n" + "\n".join(
            f"c{i},{n},x" for i, n in enumerate(list(sandbox.state.client_names(key).values())[:5])
        )
        flow.import_customers(customers)
        await flow.publish()
        assert len(flow.auto_match_exact()) == 5
        await flow.sync_mappings()
        flow.finish_mapping()
        await flow.activate()
        return flow

    async def go() -> None:
        await asyncio.gather(setup("Contoso", PARTNER_DEMO), setup("Fabrikam", PARTNER_SMALL))
        await ctx.aclose()

    try:
        asyncio.run(go())
        assert ctx.partner_key(PartnerDirectory(ctx).get("Contoso")) == PARTNER_DEMO
        assert ctx.partner_key(PartnerDirectory(ctx).get("Fabrikam")) == PARTNER_SMALL
        for key in (PARTNER_DEMO, PARTNER_SMALL):
            assert sandbox.state.integration(key)["status"] == "active"
            assert len(sandbox.state.accounts(key, only_mapped=True)) == 5
        names = {s.name: s for s in PartnerDirectory(ctx).summaries()}
        assert names["Contoso"].mapped_accounts == names["Fabrikam"].mapped_accounts == 5
    finally:
        ctx.close()


def test_create_service_uses_the_official_lists_and_reuses_a_name(sandbox: Any) -> None:
    ctx = open_ctx()

    async def go() -> None:
        flow = SetupFlow.new(ctx)
        flow.save_vendor("Northwind", sandbox.base_url, VENDOR_KEY, record_key=PARTNER_SMALL)
        with pytest.raises(SetupError, match="category"):
            await flow.create_service("Vault", "Secrets vault", "vaults", "password management")
        sku = await flow.create_service("Vault", "Secrets vault", "security", "password management")
        again = await flow.create_service(
            "vault", "Secrets vault", "security", "password management"
        )
        assert sku.id == again.id and sku.subcategory == "password management"
        await ctx.aclose()

    try:
        asyncio.run(go())
    finally:
        ctx.close()
    assert sum(1 for s in sandbox.state.vendor(VENDOR_KEY)["skus"] if s["name"] == "Vault") == 1


def test_customers_csv_is_checked_whole() -> None:
    customers = parse_customers_csv("\ufeffID,Name,Description\nc1,Acme,gold\nc2,Beta,\n")
    assert [c.name for c in customers] == ["Acme", "Beta"] and customers[0].description == "gold"
    with pytest.raises(CustomerFileError, match="line 3"):
        parse_customers_csv("id,name\nc1,Acme\nc1,Again\n")
    with pytest.raises(CustomerFileError, match="header"):
        parse_customers_csv("a,b\n1,2\n")


def test_integration_check_ticks_each_qa_step_from_live_answers(ctx: AppContext) -> None:
    async def go() -> tuple[Any, Any, Any]:
        flow = await run_demo_setup(ctx, until=Step.AUTHENTICATE)
        assert flow.partner is not None
        check = IntegrationCheck(ctx)
        before = await check.run(flow.partner)
        await flow.authenticate()
        flow.finish_authenticate()
        middle = await check.run(flow.partner)
        await flow.publish()
        flow.auto_match_exact()
        await flow.sync_mappings()
        flow.finish_mapping()
        await flow.activate()
        await flow.first_usage_sync()
        after = await check.run(flow.partner)
        await ctx.aclose()
        return before, middle, after

    before, middle, after = asyncio.run(go())
    assert not before.step("pending").ok and not before.step("active").ok
    assert middle.step("pending").ok and not middle.step("accounts").ok
    assert middle.step("services").ok and not middle.step("usage").ok
    assert after.all_passed, [(s.key, s.detail) for s in after.steps]


def test_integration_check_says_why_when_the_key_is_dead(ctx: AppContext) -> None:
    async def go() -> Any:
        flow = await run_demo_setup(ctx, until=Step.MAP_CLIENTS)
        assert flow.partner is not None
        ctx.demo.state.disconnect(ctx.demo.partner_key(flow.partner.name))
        report = await IntegrationCheck(ctx).run(flow.partner)
        await ctx.aclose()
        return report

    report = asyncio.run(go())
    assert report.error and "key" in report.error.lower()
    assert all(s.ok is None for s in report.steps)


# -- sandbox snapshot -------------------------------------------------------------------------


def test_sandbox_snapshot_round_trips_through_json_including_reconnects() -> None:
    state = make_state()
    state.create_accounts(PARTNER_DEMO, [{"id": "a1", "name": "Acme"}])
    client = next(iter(state.client_names(PARTNER_DEMO)))
    state.map_account(PARTNER_DEMO, "a1", client)
    state.set_status(PARTNER_DEMO, "pending")
    sku = state.vendor(VENDOR_KEY)["skus"][0]["id"]
    state.set_count(PARTNER_DEMO, sku, 7, account_id="a1")
    new_key = state.connect(partner_key=PARTNER_SMALL)["partnerKey"]

    restored = SandboxState()
    restored.restore(json.loads(json.dumps(state.snapshot())))
    assert restored.snapshot() == state.snapshot()
    assert restored.counts(PARTNER_DEMO)[(sku, "a1")]["unitCount"] == 7
    assert restored.client_of(PARTNER_DEMO, "a1") == client
    assert restored.authenticate(VENDOR_KEY, new_key)
    assert not restored.authenticate(VENDOR_KEY, PARTNER_SMALL)
    # One organisation under its old and new key stays one object.
    assert restored._org(PARTNER_SMALL) is restored._org(new_key)
    # The same random stream continues: the next key issued is the same on both.
    assert restored.connect(partner_key=PARTNER_DEMO) == state.connect(partner_key=PARTNER_DEMO)


def test_sandbox_restore_refuses_something_else() -> None:
    with pytest.raises(ValueError):
        SandboxState().restore({"version": 99})
    with pytest.raises(ValueError, match="damaged"):
        SandboxState().restore({"version": 1, "vendors": [{"nope": 1}]})


def test_demo_environment_ignores_a_damaged_snapshot(tmp_path: Any) -> None:
    path = tmp_path / "demo.json"
    path.write_text("{not json", encoding="utf-8")
    demo = DemoEnvironment(latency_ms=0, snapshot_path=path)
    try:
        assert demo.state.integration(PARTNER_DEMO)["name"] == "Contoso Managed Services"
    finally:
        demo.stop()
    assert json.loads(path.read_text(encoding="utf-8"))["sandbox"]["version"] == 1
