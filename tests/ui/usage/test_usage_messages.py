"""The Usage page's message line and Push button (#11 defects 3 and 11): no "nothing to count"
message over mapped accounts, Push only when there is something to send, a message that never
moves the grid, stale messages cleared, and Export saying what it wrote where."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.services.context import AppContext
from gradient_desktop.ui.usage.page import UsagePage
from tests.usage_helpers import connected_partner, service_ids

pytestmark = pytest.mark.gui


def test_messages_follow_the_state_and_never_shift_the_grid(
    qtbot: Any, qloop: Any, ctx: AppContext, sandbox: Any, tmp_path: Path
) -> None:
    partner = qloop.run_until_complete(connected_partner(ctx, sandbox, 3))
    page = UsagePage(ctx, None)
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.set_partner(partner)
    page.show()
    qtbot.waitExposed(page)
    # Mapped accounts and services: no "nothing to count" message (defect 3), and nothing
    # staged or queued: Push is off with a tooltip saying why (defect 11).
    assert "Nothing to count yet" not in page.notice.text()
    assert not page.push_button.isEnabled() and "stage some counts" in page.push_button.toolTip()
    grid_top = page.views.geometry().top()
    # A refused edit: a red message, in the line that is always there (the grid stays put).
    page.stage_amount([(service_ids(ctx, partner)[0], "acct-0000")], "set", "-4")
    assert page.notice.text() and page.notice.error
    assert page.views.geometry().top() == grid_top
    # A good edit makes the message about the bad one stale: it goes; Push comes on.
    page.stage_amount([(service_ids(ctx, partner)[0], "acct-0000")], "set", "4")
    assert page.notice.text() == "" and page.push_button.isEnabled()
    assert page.views.geometry().top() == grid_top
    # Export says what it saved, where.
    target = tmp_path / "counts.csv"
    page.export_to(str(target))
    assert target.exists() and str(target) in page.notice.text() and not page.notice.error
    assert "Saved" in page.notice.text()
