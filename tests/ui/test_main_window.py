"""The main window starts offscreen, opens the demo partner and tells every page about it."""

from __future__ import annotations

from typing import Any

import pytest

from gradient_desktop.services.context import AppContext

pytestmark = pytest.mark.gui


def test_main_window_opens_the_demo_partner(qtbot: Any, qloop: Any, ctx: AppContext) -> None:
    from gradient_desktop.ui.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    seen: list[Any] = []
    window.partner_changed.connect(seen.append)
    window.show()
    qtbot.waitExposed(window)
    # First run, no partner: no page pretends there is one (the sandbox-only tab is hidden).
    assert window.partner is None and not window.tabs.isTabVisible(5)

    window.partners_view.open_demo()

    assert window.partner is not None and "(demo)" in window.partner.name
    assert seen and seen[-1].id == window.partner.id
    assert window.partner.name in window.windowTitle()
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == [
        "Integration check",
        "Mapping",
        "Usage",
        "Alerts",
        "Sync",
        "Partner's view",
    ]
    # The demo is a sandbox partner: the partner's billing view is there for it.
    assert window.tabs.isTabVisible(5)
    assert "demo" in window.status_label.text().lower()
    # The demo sandbox really runs: its URL answers on loopback.
    assert ctx.demo.running and ctx.resolve_base_url(window.partner.base_url).startswith(
        "http://127.0.0.1:"
    )
    window.close()
