"""A reconnect's step 5 re-sends saved mappings several at a time, and none the publish already
carried (#11 defect 14: ~9 s for 200 clients where the first setup took under 1 s).
bench/reconnect_mappings.py measures the time; this test checks the cause stays fixed."""

from __future__ import annotations

import asyncio
from typing import Any

from gradient_desktop.services import mapping
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.integration import IntegrationService
from gradient_desktop.services.setup import SetupFlow
from tests.setup_helpers import run_demo_setup


def test_reconnect_resends_mappings_concurrently_and_only_when_needed(ctx: AppContext) -> None:
    async def scenario() -> tuple[int, int, int]:
        flow = await run_demo_setup(ctx)
        partner = flow.partner
        await IntegrationService(ctx).disconnect(partner)  # status inactive; data stays
        again = SetupFlow.reconnect(ctx, partner.id)
        await again.authenticate()
        client = ctx.client_for(again.partner)
        real = client.update_account
        in_flight = peak = calls = 0

        async def counting(*args: Any, **kwargs: Any) -> Any:
            nonlocal in_flight, peak, calls
            in_flight += 1
            calls += 1
            peak = max(peak, in_flight)
            try:
                await asyncio.sleep(0.01)  # a little latency so overlap can show
                return await real(*args, **kwargs)
            finally:
                in_flight -= 1

        client.update_account = counting  # type: ignore[method-assign]
        await again.publish()
        await again.resync_mappings()
        first = calls
        await again.resync_mappings()  # everything is on Gradient now: nothing to send
        await ctx.aclose()
        return first, peak, calls - first

    sent, peak, again = asyncio.run(scenario())
    assert sent > 10
    assert 1 < peak <= mapping.SYNC_CONCURRENCY
    assert again == 0
