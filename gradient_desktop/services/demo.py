"""Demo mode: a vendor profile and partners wired to the embedded sandbox, with the vendor's
customer list the sandbox seed provides, so a new user sees the whole flow in minutes.
"""

from __future__ import annotations

from gradient_desktop.services.context import SANDBOX_URL, AppContext
from gradient_desktop.services.integration import Customer, IntegrationService
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.store.models import Partner

DEMO_PARTNERS = {
    # partner name shown in the app -> sandbox seed key
    "Contoso Managed Services (demo)": "sandbox-partner-demo",
    "Fabrikam IT Partners (demo)": "sandbox-partner-small",
}
DEFAULT_DEMO_PARTNER = "Contoso Managed Services (demo)"


def demo_customers(ctx: AppContext, partner_name: str) -> list[Customer]:
    from gradient_desktop.sandbox.seed import demo_vendor_customers

    key = ctx.demo.partner_key(partner_name)
    return [
        Customer(c["id"], c["name"], c.get("description", ""))
        for c in demo_vendor_customers(key, ctx.demo.state)
    ]


def ensure_demo_partner(ctx: AppContext, name: str = DEFAULT_DEMO_PARTNER) -> Partner:
    """The demo partner (created on first use) with the vendor's demo customers saved locally."""
    directory = PartnerDirectory(ctx)
    profile = directory.demo_profile()
    ctx.demo.ensure_started()  # reads the snapshot, which may know this partner's current key
    try:
        partner = directory.get(name)
    except LookupError:
        partner = directory.add(name, profile, base_url=SANDBOX_URL)
    if name not in ctx.demo.partner_keys:  # the seed's public key, unless a reconnect made one
        ctx.keys.set_partner_key(partner, DEMO_PARTNERS.get(name, "sandbox-partner-demo"))
    IntegrationService(ctx).save_customers(partner, demo_customers(ctx, name))
    return partner
