"""Helpers shared by Qt-free and GUI tests: an AppContext per "app start" on the test's home
folder, and the demo setup run to any step (the path a new user takes in the wizard)."""

from __future__ import annotations

from gradient_desktop.config import database_path
from gradient_desktop.services.context import (
    DEMO_PROFILE,
    SANDBOX_URL,
    AppContext,
    DemoEnvironment,
)
from gradient_desktop.services.setup import SetupFlow, Step
from gradient_desktop.store import open_database


def open_ctx() -> AppContext:
    """A fresh AppContext on this test's home folder (a new one = the app restarted)."""
    return AppContext(open_database(database_path()), demo=DemoEnvironment(latency_ms=0))


async def run_demo_setup(ctx: AppContext, *, until: Step = Step.DONE) -> SetupFlow:
    flow = SetupFlow.new(ctx, demo=True)
    flow.save_vendor(DEMO_PROFILE, SANDBOX_URL)
    if until == Step.PRODUCT:
        return flow
    vendor = await flow.load_vendor()
    flow.choose_services(vendor.skus[:2])
    if until == Step.PARTNER_KEY:
        return flow
    defaults = flow.partner_defaults()
    flow.set_partner(defaults["name"], defaults["key"])
    if until == Step.AUTHENTICATE:
        return flow
    await flow.authenticate()
    flow.finish_authenticate()
    if until == Step.MAP_CLIENTS:
        return flow
    await flow.publish()
    flow.auto_match_exact()
    await flow.sync_mappings()
    flow.finish_mapping()
    if until == Step.ACTIVATE:
        return flow
    await flow.activate()
    await flow.first_usage_sync()
    return flow
