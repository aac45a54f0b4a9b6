"""The Usage page's push panel renders the partner's state (services/state.py), not a copy:
idle it shows no "0 / 1" bar but a sentence; a push started elsewhere (the Sync page, the
wizard's first sync) shows here with its progress, and its outcome stays after it ended; the quit
question reads the same progress."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gradient_desktop.counts import CountRow
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.push import PushService
from gradient_desktop.ui.usage.page import UsagePage
from gradient_desktop.ui.usage.push_panel import IDLE_TEXT
from tests.gui_helpers import screenshot, settle, wait_until
from tests.usage_helpers import PARTNER_KEY, connected_partner, service_ids

pytestmark = pytest.mark.gui


def _page(qtbot: Any, qloop: Any, ctx: AppContext, partner: Any) -> UsagePage:
    page = UsagePage(ctx, None)
    qtbot.addWidget(page)
    page.resize(1300, 760)
    page.set_partner(partner)
    page.show()
    settle(qloop)
    return page


def test_idle_panel_shows_a_sentence_not_an_empty_bar(
    qtbot: Any, qloop: Any, ctx: AppContext, sandbox: Any
) -> None:
    partner = qloop.run_until_complete(connected_partner(ctx, sandbox, 3))
    page = _page(qtbot, qloop, ctx, partner)
    panel = page.panel
    assert not panel.bar.isVisible()  # the old panel showed "0 / 1" here
    assert panel.label.text() == IDLE_TEXT
    assert not panel.cancel.isEnabled()
    screenshot(panel, "usage_push_panel_idle.png")
    page.set_partner(None)
    assert panel.label.text() == IDLE_TEXT and not panel.bar.isVisible()


def test_a_push_started_elsewhere_shows_in_the_panel_and_its_outcome_stays(
    qtbot: Any, qloop: Any, ctx: AppContext, sandbox_factory: Any
) -> None:
    sb = sandbox_factory(seed="demo", latency_ms=40)
    ctx.settings.default_concurrency = 2  # slow enough to look at it mid-way
    partner = qloop.run_until_complete(connected_partner(ctx, sb, 40))
    sid = service_ids(ctx, partner)[0]
    page = _page(qtbot, qloop, ctx, partner)
    panel = page.panel
    rows = [CountRow(sid, f"acct-{i:04d}", i + 1) for i in range(40)]
    # Not through the page: as the Sync page or the wizard's first sync would push.
    task = asyncio.ensure_future(PushService(ctx).push(partner, rows), loop=qloop)
    wait_until(qloop, lambda: panel.bar.isVisible() and panel.bar.value() >= 4)
    st = ctx.state.get(partner.id or 0)
    assert st is not None and st.push_progress is not None
    assert panel.bar.maximum() == 40 and panel.bar.value() == st.push_progress.done
    assert panel.label.text().startswith(f"{st.push_progress.done} of 40 sent · ")
    # Another page's push: Cancel belongs to it; Push here waits for it to end.
    assert not panel.cancel.isEnabled() and not page.push_button.isEnabled()
    # The quit question reads the same record (services/state.py, no second registry).
    assert PushService(ctx).running() == f"{st.push_progress.done} of 40 sent"
    screenshot(page, "usage_push_panel_running.png")

    summary = qloop.run_until_complete(asyncio.wait_for(task, 60))
    settle(qloop)
    assert summary.all_landed
    assert not panel.bar.isVisible() and PushService(ctx).running() is None
    assert panel.label.text().startswith("Last push (") and summary.text() in panel.label.text()
    assert len(sb.state.counts(PARTNER_KEY)) == 40
    screenshot(panel, "usage_push_panel_done.png")
