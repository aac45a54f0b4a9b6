"""Workflow services against the sandbox over real sockets: the integration lifecycle of the seed
flow (authenticate → pending → accounts → mapped → active → usage → disconnect → reconnect) and
the outbox-backed push service.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from gradient_desktop.api import AuthenticationError
from gradient_desktop.counts import CountRow
from gradient_desktop.sandbox.seed import PARTNER_DEMO, VENDOR_KEY
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.integration import Customer, IntegrationService
from gradient_desktop.services.mapping import MappingChange, MappingService
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.services.push import PushService
from gradient_desktop.store.models import Partner


@pytest.fixture
def ctx() -> Iterator[AppContext]:
    context = AppContext.open()
    yield context
    context.close()


@pytest.fixture
def run(ctx: AppContext) -> Any:
    """Run a coroutine on a fresh loop, closing the context's HTTP pools before it ends."""
    import asyncio

    def runner(coro: Any) -> Any:
        async def wrapped() -> Any:
            try:
                return await coro
            finally:
                await ctx.aclose()

        return asyncio.run(wrapped())

    return runner


def _partner(ctx: AppContext, sandbox: Any, key: str = PARTNER_DEMO) -> Partner:
    directory = PartnerDirectory(ctx)
    profile = directory.save_profile("northwind", sandbox.base_url, VENDOR_KEY)
    return directory.add("Contoso", profile, key)


def test_seed_flow_end_to_end(ctx: AppContext, sandbox: Any, run: Any) -> None:
    partner = _partner(ctx, sandbox)
    service = IntegrationService(ctx)

    async def flow() -> dict[str, Any]:
        integration = await service.authenticate(partner)
        assert integration.status == "inactive" and integration.name == "Contoso Managed Services"
        assert (await service.mark_pending(partner)).status == "pending"

        clients = await service.sync_clients(partner)
        assert clients.total == 200
        client_rows = service.clients(partner)[:5]
        service.save_customers(
            partner, [Customer(f"cust-{i}", c.name) for i, c in enumerate(client_rows)]
        )
        # Map three of the five before publishing: the create carries clientOId.
        MappingService(ctx).apply(
            partner, [MappingChange(f"cust-{i}", client_rows[i].client_id) for i in range(3)]
        )
        published = await service.publish_accounts(partner)
        assert published.created == 5 and not published.failed
        # Map a fourth one after publishing: synced by PATCH.
        MappingService(ctx).apply(partner, [MappingChange("cust-3", client_rows[3].client_id)])
        assert await MappingService(ctx).sync(partner) == {}
        # Gradient's answer to the mapping PATCH is recorded at once: the Alerts form and the
        # usage service read it, and must not say "not mapped yet" for an account just mapped.
        assert {a.account_id: a.is_mapped_remote for a in service.accounts(partner)}["cust-3"]
        await service.refresh_account_states(partner)

        vendor = await service.fetch_vendor(partner)
        sku = vendor.skus[0].id
        push = PushService(ctx)
        push.enqueue(partner, [CountRow(sku, f"cust-{i}", 10.0 + i) for i in range(5)])
        summary = await push.run(partner)
        assert (await service.activate(partner)).status == "active"
        return {"summary": summary, "sku": sku}

    result = run(flow())
    summary = result["summary"]
    assert summary.report.ok == 4 and summary.report.unmapped == 1  # cust-4 is not mapped
    assert summary.report.rebuild_triggered
    counts = sandbox.state.counts(PARTNER_DEMO)
    assert {a: v["unitCount"] for (s, a), v in counts.items()} == {
        f"cust-{i}": 10.0 + i for i in range(4)
    }
    assert sandbox.state.rebuilds(PARTNER_DEMO) == 1
    mapped = {a["id"]: a["isMapped"] for a in sandbox.state.accounts(PARTNER_DEMO)}
    assert mapped == {
        "cust-0": True,
        "cust-1": True,
        "cust-2": True,
        "cust-3": True,
        "cust-4": False,
    }
    stored = PartnerDirectory(ctx).get("Contoso")
    assert stored.status == "active" and stored.organization_name == "Contoso Managed Services"
    states = ctx.outbox.counts_by_state(stored.id or 0)
    assert states.get("sent") == 4 and states.get("unmapped") == 1


def test_disconnect_on_gradient_then_reconnect_with_a_new_key(
    ctx: AppContext, sandbox: Any, run: Any
) -> None:
    partner = _partner(ctx, sandbox)
    service = IntegrationService(ctx)

    async def connect() -> None:
        await service.authenticate(partner)
        await service.mark_pending(partner)

    run(connect())
    sandbox.state.disconnect(PARTNER_DEMO)  # the MSP disconnects in Synthesize

    async def after_disconnect() -> str:
        with pytest.raises(AuthenticationError) as exc:
            await service.authenticate(partner)
        await service.disconnect(partner)
        return str(exc.value)

    message = run(after_disconnect())
    assert "401" in message and PARTNER_DEMO not in message
    assert PartnerDirectory(ctx).get("Contoso").status == "disconnected"

    new_key = sandbox.state.connect(partner_key=PARTNER_DEMO)["partnerKey"]

    async def reconnect() -> str:
        integration = await service.reconnect(PartnerDirectory(ctx).get("Contoso"), new_key)
        return integration.status

    assert run(reconnect()) == "pending"
    assert ctx.partner_key(PartnerDirectory(ctx).get("Contoso")) == new_key


def test_push_resumes_rows_left_sending_by_a_crash(ctx: AppContext, sandbox: Any, run: Any) -> None:
    partner = _partner(ctx, sandbox)
    service = IntegrationService(ctx)

    async def setup() -> str:
        await service.sync_clients(partner)
        first = service.clients(partner)[0]
        service.save_customers(partner, [Customer("cust-a", first.name)])
        MappingService(ctx).apply(partner, [MappingChange("cust-a", first.client_id)])
        await service.publish_accounts(partner)
        return (await service.fetch_vendor(partner)).skus[0].id

    sku = run(setup())
    push = PushService(ctx)
    push.enqueue(partner, [CountRow(sku, "cust-a", 10.0)])
    first = run(push.run(partner))
    assert first.report.ok == 1
    # An add whose request went out but whose answer never came back (the app died).
    push.enqueue(partner, [CountRow(sku, "cust-a", 5.0, "add")])
    items = ctx.outbox.list_resumable(partner.id or 0)
    ctx.outbox.mark_sending([i.id for i in items])
    assert push.pending(partner) == 1
    resumed = run(push.run(partner))
    assert resumed.report.ok == 1 and resumed.resumed == 1
    # Resolved as an absolute set of the expected total: 15, not 20, even if sent twice.
    resumed_again = ctx.outbox.list_resumable(partner.id or 0)
    assert resumed_again == []
    assert sandbox.state.counts(PARTNER_DEMO)[(sku, "cust-a")]["unitCount"] == 15.0


def test_republishing_accounts_gradient_has_marks_them_synced_in_one_write(
    ctx: AppContext, sandbox: Any, run: Any
) -> None:
    """A reconnect publishes accounts Gradient already has: they are marked synced in one
    transaction, not one per account (issue 16: 200 commits made the reconnect's reload slower
    than the first load)."""
    from sqlalchemy import event

    from gradient_desktop.store.models import VendorAccount

    partner = _partner(ctx, sandbox)
    service = IntegrationService(ctx)
    service.save_customers(partner, [Customer(f"cust-{i}", f"Customer {i}") for i in range(60)])
    first = run(service.publish_accounts(partner))
    assert first.created == 60
    with ctx.db.write_session() as s:  # as after a disconnect: not known to be on Gradient
        for row in s.exec(select(VendorAccount).where(VendorAccount.partner_id == partner.id)):
            row.sync_state = "local"
            s.add(row)
        s.commit()
    commits: list[int] = []

    def count(conn: Any) -> None:
        commits.append(1)

    event.listen(ctx.db.engine, "commit", count)
    try:
        again = run(service.publish_accounts(partner))
    finally:
        event.remove(ctx.db.engine, "commit", count)
    assert again.created == 0 and again.unchanged == 60
    assert len(commits) < 5  # one for the 60 accounts, one for the states read back
    assert {a.sync_state for a in service.accounts(partner)} == {"synced"}
