"""Driving the setup wizard in GUI tests: open it on a context, the current page, and Next
with a check of the step it lands on."""

from __future__ import annotations

import asyncio
from typing import Any

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.setup import SetupFlow, Step
from tests.gui_helpers import settle, wait_until


def open_wizard(qtbot: Any, ctx: AppContext, flow: SetupFlow | None = None) -> Any:
    """The wizard on ``ctx`` (a new setup unless ``flow`` is given), shown and settled."""
    from gradient_desktop.ui.wizard import SetupWizard

    wizard = SetupWizard(ctx, flow or SetupFlow.new(ctx))
    qtbot.addWidget(wizard)
    # Not qtbot.waitExposed: it spins Qt outside the asyncio loop, and the page's first
    # request would then run with no running loop (pytest-qt has no qasync support, #448).
    wizard.show()
    settle(asyncio.get_event_loop())  # the session's qasync loop (the ``qloop`` fixture)
    return wizard


def page(wizard: Any) -> Any:
    return wizard.currentPage()


def next_page(qloop: Any, wizard: Any, expected: Step) -> Any:
    """Wait until the page is complete, press Next, check the step it lands on."""
    wait_until(qloop, lambda: page(wizard).isComplete())
    wizard.next()
    assert wizard.currentId() == expected, page(wizard).error_label.text()
    return page(wizard)
