"""Every route of the client round-trips against the Gradient sandbox over a real socket, and
what the client logs and says about a rejected key. No pytest-asyncio: ``asyncio.run``."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest

from gradient_desktop.api import (
    AccountUpdate,
    AlertRequest,
    AuthenticationError,
    ClientOptions,
    ConflictError,
    Credentials,
    NewAccount,
    NewOrgService,
    NotFoundError,
    OrgServiceUpdate,
    UnmappedError,
    ValidationError,
)
from gradient_desktop.counts import Op
from gradient_desktop.sandbox.seed import VENDOR_KEY
from gradient_desktop.sandbox.server import SandboxServer
from tests.api.helpers import PARTNER, VENDOR, client_for, new_partner


def test_every_route_round_trips_against_the_sandbox(sb: SandboxServer) -> None:
    partner = new_partner(sb, 30)

    async def main() -> None:
        async with client_for(sb.base_url, partner) as c:
            vendor = await c.get_vendor()
            assert len(vendor.skus) >= 3 and vendor.sku_by_name("Email Archiving")
            assert (await c.update_vendor(description="Backups.")).description == "Backups."
            name = f"Test SKU {uuid.uuid4().hex[:6]}"
            created = await c.create_service(name, "d", "backup", "cloud backup")
            sku = created.sku_by_name(name)
            assert sku is not None
            assert [s.id for s in (await c.get_service(sku.id)).skus] == [sku.id]
            updated = await c.update_service(sku.id, description="new")
            assert updated is not None
            with pytest.raises(ValidationError, match="invalid Id"):
                await c.get_service("not-an-object-id")

            assert (await c.check_credentials()).status == "inactive"
            assert (await c.set_status("pending")).status == "pending"
            assert (await c.update_integration(name="Renamed MSP")).name == "Renamed MSP"

            clients = await c.list_clients()
            assert len(clients) == 30
            accounts = await c.create_accounts(
                [
                    NewAccount(id="acc-1", name="One", client_oid=clients[0].id),
                    {"id": "acc-2", "name": "Two", "description": "plan"},
                ]
            )
            assert {a.id: a.is_mapped for a in accounts} == {"acc-1": True, "acc-2": False}
            with pytest.raises(ConflictError):
                await c.create_accounts([NewAccount(id="acc-1", name="Again")])
            assert [a.id for a in await c.list_accounts(return_unmapped=False)] == ["acc-1"]
            assert [a.id for a in await c.list_accounts(["acc-2"])] == ["acc-2"]
            assert (await c.update_account("acc-2", name="Two Ltd")).name == "Two Ltd"
            bulk = await c.update_accounts(
                [AccountUpdate(id="acc-1", description="d1"), {"id": "acc-2", "isActive": False}]
            )
            assert {a.id for a in bulk} == {"acc-1", "acc-2"}

            made = await c.create_org_services(
                [NewOrgService(id="os-1", name="Backup", description="per server")]
            )
            assert made[0].is_mapped is False
            assert (await c.update_org_service("os-1", name="Backup+")).name == "Backup+"
            assert (
                len(await c.update_org_services([OrgServiceUpdate(id="os-1", description="x")]))
                == 1
            )
            assert [s.id for s in await c.list_org_services(["os-1"])] == ["os-1"]

            sid = vendor.skus[0].id
            assert (await c.set_count(sid, "acc-1", 10, no_build=True)).status == 201
            assert (await c.add_count(sid, "acc-1", 5, no_build=True)).status == 200
            assert (await c.subtract_count(sid, "acc-1", 3)).status == 200
            assert (await c.change_count(Op.ADD, sid, "acc-1", 1, no_build=True)).status == 200
            with pytest.raises(ValueError, match="use set_count"):
                await c.change_count(Op.SET, sid, "acc-1", 1)
            with pytest.raises(UnmappedError) as info:
                await c.set_count(sid, "acc-2", 1)
            assert (info.value.account_id, info.value.service_id) == ("acc-2", sid)
            assert (await c.set_count_all_clients(vendor.skus[1].id, 4)).status in (200, 201)

            sent = await c.dispatch_alert(
                "acc-1",
                AlertRequest(
                    title="Backup failed", description="Job 7", alert_id="al-1", priority=3
                ),
            )
            status = await c.get_alert_status(sent.message_id)
            assert status.message_id == sent.message_id and status.status in ("pending", "success")
            with pytest.raises(NotFoundError):
                await c.get_alert_status("missing")

    asyncio.run(main())
    counts = sb.state.counts(partner)
    first_sku = sb.state.vendor(VENDOR_KEY)["skus"][0]["id"]
    assert counts[(first_sku, "acc-1")]["unitCount"] == 13  # 10 + 5 − 3 + 1
    assert sb.state.rebuilds(partner) == 2  # the subtract and the all-clients count


def test_vendor_side_mapping_can_be_switched_off(sb: SandboxServer) -> None:
    partner = new_partner(sb, 5)

    async def main() -> None:
        opts = ClientOptions(vendor_side_mapping=False)
        async with client_for(sb.base_url, partner, options=opts) as c:
            client = (await c.list_clients())[0]
            made = await c.create_accounts([NewAccount(id="a", name="A", client_oid=client.id)])
            assert made[0].is_mapped is False

    asyncio.run(main())


def test_auth_failure_names_the_fix_never_the_key(
    sb: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="gradient_desktop.api")

    async def main() -> None:
        async with client_for(sb.base_url, PARTNER, VENDOR) as c:
            with pytest.raises(AuthenticationError) as info:
                await c.get_integration()
        assert str(info.value) == (
            "Gradient rejected the API key (401). Check the partner "
            "key in Synthesize → Integrations, or regenerate it."
        )
        assert info.value.status == 401 and not info.value.retryable

    asyncio.run(main())
    token = Credentials(VENDOR, PARTNER).token()
    assert "GET /api/vendor-api/organization -> 401" in caplog.text
    assert "SECRET" not in caplog.text and token not in caplog.text


def test_debug_log_has_method_path_status_ms_but_no_query_or_token(
    sb: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="gradient_desktop.api")
    partner = new_partner(sb, 3)

    async def main() -> None:
        async with client_for(sb.base_url, partner) as c:
            sku = (await c.get_vendor()).skus[0].id
            with pytest.raises(UnmappedError):
                await c.set_count(sku, "nobody", 1, no_build=True)

    asyncio.run(main())
    # Only our logger: httpx's own DEBUG lines show up too when another test left the root
    # logger at DEBUG, and they are not ours to police here.
    ours = [r for r in caplog.records if r.name.startswith("gradient_desktop.api")]
    lines = [r.getMessage() for r in ours]
    assert any(line.startswith("GET /api/vendor-api -> 200 in ") for line in lines)
    assert any("/count -> 404" in line for line in lines)
    assert not any("no_build" in line or partner in line for line in lines)
    assert all(r.levelno == logging.DEBUG for r in ours)
