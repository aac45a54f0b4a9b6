"""The setup flow's demo concerns live in services/demo.py behind one call (``setup_extras``):
the setup package has no demo branch of its own, a real Gradient gets nothing generated, and
the demo gets its customers, keys and first usage from its sandbox."""

from __future__ import annotations

import re
from pathlib import Path

from gradient_desktop.services.context import SANDBOX_URL, AppContext
from gradient_desktop.services.demo import (
    DEMO_PARTNERS,
    DemoSetup,
    RealSetup,
    ensure_demo_partner,
    setup_extras,
)
from gradient_desktop.services.partners import PartnerDirectory

SETUP = Path(__file__).parents[2] / "gradient_desktop" / "services" / "setup"


def test_the_setup_package_has_no_demo_branches() -> None:
    """No step reaches into the demo sandbox or asks whether it runs against it."""
    for path in SETUP.glob("*.py"):
        code = path.read_text()
        for pattern in (r"ctx\.demo\b", r"is_demo_url", r"if self\.is_demo", r"DEMO_PARTNERS"):
            assert not re.search(pattern, code), f"{path.name}: {pattern}"


def test_a_real_gradient_gets_nothing_generated(ctx: AppContext) -> None:
    directory = PartnerDirectory(ctx)
    profile = directory.save_profile("real", "https://app.usegradient.com", "vk")
    partner = directory.add("Real MSP", profile, "pk")
    extras = setup_extras(ctx, partner.base_url)
    assert type(extras) is RealSetup and not extras.keys_built_in
    assert extras.customers(partner) is None and extras.first_usage_rows(partner) is None
    assert extras.partner_prefill("", set()) is None and extras.new_partner_key("x") is None
    assert extras.record_partner_key(partner) is None
    assert type(setup_extras(ctx, "")) is RealSetup  # no address chosen yet


def test_the_demo_provides_customers_keys_and_first_usage(ctx: AppContext) -> None:
    partner = ensure_demo_partner(ctx)
    extras = setup_extras(ctx, SANDBOX_URL)
    assert isinstance(extras, DemoSetup) and extras.keys_built_in and extras.provides_customers
    customers = extras.customers(partner)
    assert customers is not None and len(customers) == 184
    name, key = extras.partner_prefill("", {partner.name})
    assert name == "Fabrikam IT Partners (demo)" and key == DEMO_PARTNERS[name]
    assert extras.record_partner_key(partner) in ctx.demo.state.partner_keys()
    assert extras.first_usage_rows(partner) == []  # nothing mapped yet: no counts
