"""The one source of truth per partner (services/state.py): what it holds, that only a change
is announced, that a check is bound to the status it saw, and the one time format. Qt-free,
against the demo sandbox on a real socket."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from gradient_desktop.counts import CountRow
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.demo import ensure_demo_partner
from gradient_desktop.services.integration import IntegrationService
from gradient_desktop.services.push import PushService
from gradient_desktop.services.qa import IntegrationCheck
from gradient_desktop.services.state import age, when
from tests.setup_helpers import run_demo_setup


def test_a_touch_that_changes_nothing_announces_nothing(ctx: AppContext) -> None:
    partner = ensure_demo_partner(ctx)
    seen: list[int] = []
    ctx.state.changed.connect(seen.append)
    ctx.state.touch(partner.id)
    ctx.state.touch(partner.id)
    assert seen == []
    st = ctx.state.get(partner.id)
    assert st.accounts_total > 150 and st.accounts_mapped == 0 and st.status == "unknown"
    assert st.status_with_age() == "UNKNOWN · not checked with Gradient yet"


def test_every_service_write_reaches_the_state(ctx: AppContext) -> None:
    async def walk() -> None:
        flow = await run_demo_setup(ctx)
        pid = flow.partner.id
        seen: list[int] = []
        ctx.state.changed.connect(seen.append)
        st = ctx.state.get(pid)
        assert st.status == "active" and st.setup_step == 99 and st.services == 2
        assert st.accounts_mapped == len(flow.mapping.mappings(flow.partner)) > 0
        assert st.accounts_published == st.accounts_total
        # A count queued through the service shows at once; a push settles it.
        account = next(iter(flow.mapping.mappings(flow.partner)))
        service = IntegrationService(ctx).services(flow.partner)[0].service_id
        PushService(ctx).enqueue(flow.partner, [CountRow(service, account, 9)])
        assert ctx.state.get(pid).queued == 1 and seen
        assert "1 count waiting to be sent" in ctx.state.get(pid).queue_text()
        summary = await PushService(ctx).run(flow.partner)
        st = ctx.state.get(pid)
        assert st.queued == 0 and st.push_progress is None and st.queue_text() == ""
        assert st.last_push is not None and st.last_push.text == summary.text()
        assert st.last_push.ok
        await ctx.aclose()

    asyncio.run(walk())


def test_a_check_is_outdated_once_the_status_moves_on(ctx: AppContext) -> None:
    async def check_then_disconnect() -> int:
        flow = await run_demo_setup(ctx)
        pid = flow.partner.id
        await IntegrationCheck(ctx).run(flow.partner)
        st = ctx.state.get(pid)
        assert st.last_check is not None and not st.check_outdated
        assert st.last_check.marks["active"] is True and st.last_check.status == "active"
        await IntegrationService(ctx).disconnect(flow.partner)
        await ctx.aclose()
        return pid

    pid = asyncio.run(check_then_disconnect())
    st = ctx.state.get(pid)
    assert st.status == "disconnected" and st.check_outdated


def test_removing_a_partner_is_announced(ctx: AppContext) -> None:
    from gradient_desktop.services.partners import PartnerDirectory

    partner = ensure_demo_partner(ctx)
    ctx.state.get(partner.id)
    seen: list[int] = []
    ctx.state.changed.connect(seen.append)
    PartnerDirectory(ctx).remove(partner.name)
    assert seen == [partner.id] and ctx.state.get(partner.id) is None


def test_ages_and_the_one_timestamp_format() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert age(now - timedelta(seconds=20), now) == "just now"
    assert age(now - timedelta(minutes=2, seconds=5), now) == "2 min ago"
    assert age(now - timedelta(hours=3), now) == "3 h ago"
    assert age(now - timedelta(days=2), now) == "2 days ago"
    assert age(now + timedelta(minutes=5), now) == "just now"  # clock skew: never negative
    assert when(None) == "never"
    local = now.astimezone().strftime("%Y-%m-%d %H:%M")
    assert when(now) == local and when(now.isoformat()) == local
