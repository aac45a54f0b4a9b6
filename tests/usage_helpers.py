"""Test helper: "a connected partner with N mapped accounts" on a live sandbox, built the way the
app builds it (profile + partner with keys, customers saved, mappings applied, accounts published
with their clientOId so the sandbox maps them, services selected)."""

from __future__ import annotations

from typing import Any

from gradient_desktop.sandbox.seed import PARTNER_DEMO, VENDOR_KEY
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.integration import Customer, IntegrationService
from gradient_desktop.services.mapping import MappingChange, MappingService
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.store.models import Partner

PARTNER_KEY = PARTNER_DEMO


async def connected_partner(ctx: AppContext, sandbox: Any, accounts: int) -> Partner:
    """Partner "Contoso" on ``sandbox`` with ``accounts`` mapped accounts ``acct-0000``… named
    "Customer 0000"… and the vendor's 3 SKUs as its services. Leaves no open HTTP client."""
    directory = PartnerDirectory(ctx)
    profile = directory.save_profile("p", sandbox.base_url, VENDOR_KEY)
    partner = directory.add("Contoso", profile, PARTNER_KEY)
    have = list(sandbox.state.client_names(PARTNER_KEY))
    if len(have) < accounts:  # the MSP gets more clients (the demo seed has 200)
        extra = [(sandbox.state.new_guid(), f"Extra Client {i:04d}") for i in range(accounts)]
        sandbox.state.add_clients(PARTNER_KEY, extra[: accounts - len(have)])
    customers = [Customer(f"acct-{i:04d}", f"Customer {i:04d}") for i in range(accounts)]
    return await map_and_publish(ctx, sandbox, partner, PARTNER_KEY, customers)


async def map_and_publish(
    ctx: AppContext, sandbox: Any, partner: Partner, key: str, customers: list[Customer]
) -> Partner:
    """Save ``customers`` for ``partner``, map each to one of the MSP's clients in order, select
    the vendor's services and publish the accounts. Leaves no open HTTP client."""
    integration = IntegrationService(ctx)
    await integration.sync_clients(partner)
    client_ids = list(sandbox.state.client_names(key))
    integration.save_customers(partner, customers)
    MappingService(ctx).apply(
        partner, [MappingChange(c.id, client_ids[i]) for i, c in enumerate(customers)]
    )
    vendor = await integration.fetch_vendor(partner)
    integration.select_services(partner, vendor.skus)
    await integration.publish_accounts(partner)
    await ctx.drop_clients(partner.id or 0)  # the next event loop opens its own client
    return partner


def service_ids(ctx: AppContext, partner: Partner) -> list[str]:
    return [s.service_id for s in IntegrationService(ctx).services(partner)]
