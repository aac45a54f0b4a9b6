"""Demo mode: a vendor profile and partners wired to the embedded sandbox, with the vendor's
customer list the sandbox seed provides, so a new user sees the whole flow in minutes.

Everything the setup flow does differently for the demo is here too, behind one call:
``setup_extras(ctx, base_url)`` gives a ``DemoSetup`` for the built-in demo and a ``RealSetup``
(which provides nothing) otherwise, so ``services/setup/`` has no demo branches of its own.
"""

from __future__ import annotations

import random

from gradient_desktop.counts import CountRow
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


# -- what a setup needs that differs between the demo and a real Gradient ----------------------


class RealSetup:
    """A setup against a real Gradient (or any sandbox but the built-in demo): the vendor
    imports its customers, keys come from the user, nothing is generated."""

    #: The demo's keys are public and built in; a real setup asks for them.
    keys_built_in = False
    #: The demo's customers come with its sandbox; a real vendor imports its own.
    provides_customers = False

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def saved(self) -> None:
        """A step's progress was written to the store (the demo also keeps its sandbox)."""

    def customers(self, partner: Partner) -> list[Customer] | None:
        """The vendor's customers, when the environment provides them (None: imported)."""
        return None

    def partner_prefill(self, name: str, taken: set[str]) -> tuple[str, str] | None:
        """(name, key) to prefill on the partner step, or None."""
        return None

    def new_partner_key(self, name: str) -> str | None:
        """Play the MSP generating a new key (None: only the MSP can)."""
        return None

    def record_partner_key(self, partner: Partner | None) -> str | None:
        """A partner key that reads the vendor record when ``keys_built_in``."""
        return None

    def first_usage_rows(self, partner: Partner) -> list[CountRow] | None:
        """Counts to send as the first usage sync (None: send what the user queued)."""
        return None


class DemoSetup(RealSetup):
    """The built-in demo: the sandbox's seed provides the customers, the partner keys and a
    first usage sync; every step's progress also saves the sandbox's snapshot."""

    keys_built_in = True
    provides_customers = True

    def saved(self) -> None:
        self.ctx.demo.save()

    def customers(self, partner: Partner) -> list[Customer] | None:
        return demo_customers(self.ctx, partner.name)

    def partner_prefill(self, name: str, taken: set[str]) -> tuple[str, str] | None:
        if not name:
            name = next((n for n in DEMO_PARTNERS if n not in taken), "")
        key = self.ctx.demo.partner_keys.get(name) or DEMO_PARTNERS.get(
            name, DEMO_PARTNERS[DEFAULT_DEMO_PARTNER]
        )
        return name, key

    def new_partner_key(self, name: str) -> str | None:
        state = self.ctx.demo.state
        current = self.ctx.demo.partner_keys.get(name) or DEMO_PARTNERS.get(name)
        if current:
            issued = state.connect(partner_key=current)
        else:
            issued = state.connect(organization_name=name or None)
        self.ctx.demo.save()
        return str(issued["partnerKey"])

    def record_partner_key(self, partner: Partner | None) -> str | None:
        """A live partner key of the demo vendor (the partner's own once it has one)."""
        state = self.ctx.demo.state
        if partner is not None:
            own = self.ctx.demo.partner_keys.get(partner.name)
            if own and own in state.partner_keys():
                return own
        vendor = self.ctx.demo.vendor_key
        return next((k for k in state.partner_keys() if state.vendor_key_of(k) == vendor), None)

    def first_usage_rows(self, partner: Partner) -> list[CountRow] | None:
        """Plausible unit counts for every mapped account × selected service: the same
        numbers on every run for the same pair."""
        from gradient_desktop.services.mapping import MappingService

        services = [s.service_id for s in IntegrationService(self.ctx).services(partner)]
        rows = []
        for account_id in sorted(MappingService(self.ctx).mappings(partner)):
            for service_id in services:
                rng = random.Random(f"usage:{account_id}:{service_id}")
                rows.append(CountRow(service_id, account_id, float(rng.randint(1, 60))))
        return rows


def setup_extras(ctx: AppContext, base_url: str) -> RealSetup:
    """The one call the setup flow makes for what differs in the demo (services/setup/)."""
    return DemoSetup(ctx) if base_url and ctx.is_demo_url(base_url) else RealSetup(ctx)
