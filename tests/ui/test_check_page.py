"""The Integration check page ticks Gradient's QA steps from live API answers."""

from __future__ import annotations

from typing import Any

import pytest

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.setup import Step
from gradient_desktop.ui.check_page import IntegrationCheckPage
from tests.gui_helpers import run, screenshot, settle, shown, wait_until
from tests.setup_helpers import run_demo_setup

pytestmark = pytest.mark.gui


@pytest.fixture
def check(qtbot: Any, qloop: Any, ctx: AppContext) -> IntegrationCheckPage:
    return shown(qtbot, qloop, IntegrationCheckPage(ctx), 900, 420)


def run_check(qloop: Any, page: IntegrationCheckPage) -> None:
    page.run_button.click()
    settle(qloop)
    wait_until(qloop, lambda: not page.tasks.busy)


def test_every_step_is_ticked_after_a_complete_setup(
    qloop: Any, ctx: AppContext, check: IntegrationCheckPage
) -> None:
    assert check.title == "Integration check"
    flow = run(qloop, run_demo_setup(ctx))
    check.set_partner(flow.partner)
    assert check.last_check.text().startswith("Not checked yet")
    run_check(qloop, check)
    assert check.marks() == dict.fromkeys(
        ("pending", "accounts", "services", "mappings", "active", "usage"), True
    )
    assert "6 of 6 steps pass" in check.last_check.text()
    assert [check.tree.topLevelItem(i).text(0) for i in range(6)] == ["✔"] * 6
    screenshot(check, "check_page.png")


def test_a_setup_half_way_shows_what_is_left(
    qloop: Any, ctx: AppContext, check: IntegrationCheckPage
) -> None:
    flow = run(qloop, run_demo_setup(ctx, until=Step.MAP_CLIENTS))
    check.set_partner(flow.partner)
    run_check(qloop, check)
    marks = check.marks()
    assert marks["pending"] and marks["services"]
    assert (
        not marks["accounts"]
        and not marks["mappings"]
        and not marks["active"]
        and not marks["usage"]
    )
    assert check.tree.topLevelItem(4).text(0) == "✘"
    screenshot(check, "check_page_half_way.png")


def test_a_dead_key_is_explained_and_nothing_is_ticked(
    qloop: Any, ctx: AppContext, check: IntegrationCheckPage
) -> None:
    flow = run(qloop, run_demo_setup(ctx))
    ctx.demo.state.disconnect(ctx.demo.partner_key(flow.partner.name))
    check.set_partner(flow.partner)
    run_check(qloop, check)
    assert check.error.isVisible() and "key" in check.error.text().lower()
    assert all(v is None for v in check.marks().values())
