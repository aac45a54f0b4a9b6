"""The first-run screen: shown while no partner exists, "Try the demo" ends on a demo partner that
really answers from the embedded sandbox, "Connect a partner" opens the setup wizard."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from gradient_desktop.config import Settings
from gradient_desktop.services.context import AppContext

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot: Any, qloop: Any, ctx: AppContext) -> Iterator[Any]:
    from gradient_desktop.ui.main_window import MainWindow

    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    from gradient_desktop.ui.qt import QtWidgets

    for w in QtWidgets.QApplication.topLevelWidgets():  # the wizard, the first-run dialog
        if w is not win and w.isVisible():
            w.close()
    win.close()
    for page in getattr(win, "pages", []):
        runner = getattr(page, "tasks", None)
        if runner is not None:
            runner.cancel_all()
    qloop.run_until_complete(ctx.aclose())


def test_first_run_opens_without_blocking_while_no_partner_exists(window: Any) -> None:
    from gradient_desktop.ui.first_run import FirstRunDialog, show_first_run
    from gradient_desktop.ui.qt import QtCore

    dialog = show_first_run(window)
    assert isinstance(dialog, FirstRunDialog)
    assert dialog.isVisible()  # open(), not exec(): we got here while it is showing
    assert dialog.windowModality() == QtCore.Qt.WindowModality.WindowModal
    assert dialog.screen_.demo_button.text() == "Try the demo"
    assert dialog.screen_.connect_button.text() == "Connect a partner"
    dialog.reject()


def test_try_the_demo_ends_on_a_demo_partner_that_answers(
    qtbot: Any, qloop: Any, window: Any, ctx: AppContext
) -> None:
    from gradient_desktop.services.integration import IntegrationService
    from gradient_desktop.ui.first_run import show_first_run

    dialog = show_first_run(window)
    assert dialog is not None
    dialog.screen_.demo_button.click()
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: window.partner is not None, timeout=10_000)

    partner = window.partner
    assert "(demo)" in partner.name
    # "Every step" of the demo starts at once: the wizard is open at its first step, and the
    # partner reads as in setup, not as a status nobody asked Gradient for yet.
    wizard = window.partners_view.wizard
    assert wizard is not None and wizard.isVisible()
    qtbot.waitUntil(lambda: "SETUP" in window.status_label.text(), timeout=5_000)
    # Really connected: the embedded sandbox answers for this partner's keys.
    integration = qloop.run_until_complete(
        asyncio.wait_for(IntegrationService(ctx).refresh(partner), 30)
    )
    assert integration.name == "Contoso Managed Services"
    assert Settings.load().first_run_done is True
    # With a partner, the first-run screen is not offered again.
    assert show_first_run(window) is None


def test_connect_a_partner_hands_off_to_the_partners_view(qtbot: Any, window: Any) -> None:
    from gradient_desktop.ui.first_run import show_first_run

    calls: list[str] = []
    real = window.partners_view.connect_partner

    def spy(*args: object) -> Any:
        calls.append("connect")
        return real(*args)

    window.partners_view.connect_partner = spy
    dialog = show_first_run(window)
    assert dialog is not None
    dialog.screen_.connect_button.click()
    qtbot.waitUntil(lambda: calls == ["connect"], timeout=5_000)
    assert dialog.choice == "connect"
    assert Settings.load().first_run_done is True


@pytest.mark.parametrize("how", ["not now", "escape"])
def test_not_now_or_escape_closes_it_and_creates_nothing(
    qtbot: Any, window: Any, ctx: AppContext, how: str
) -> None:
    from gradient_desktop.services.partners import PartnerDirectory
    from gradient_desktop.ui.first_run import show_first_run
    from gradient_desktop.ui.qt import QtCore

    dialog = show_first_run(window)
    assert dialog is not None
    with qtbot.waitSignal(dialog.chosen) as signal:
        if how == "not now":
            dialog.screen_.later_button.click()
        else:
            qtbot.keyClick(dialog, QtCore.Qt.Key.Key_Escape)
    assert signal.args == ["later"]
    assert not dialog.isVisible()
    assert PartnerDirectory(ctx).list() == []
    assert Settings.load().first_run_done is False
    # Still no partner: the next start offers it again.
    again = show_first_run(window)
    assert again is not None
    again.reject()
