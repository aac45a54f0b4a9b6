"""Dark theme: every text the main window's pages and the setup wizard draw stays readable
(WCAG contrast of at least 4.5:1, measured on the rendered pixels), also after switching from
light to dark while the app runs, and the usage chart follows the theme instead of staying white.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gradient_desktop.services.context import AppContext
from gradient_desktop.ui import theme
from gradient_desktop.ui.qt import QtGui, QtWidgets
from tests.contrast import contrast_ratio, low_contrast
from tests.gui_helpers import settle
from tests.usage_helpers import connected_partner, service_ids

pytestmark = pytest.mark.gui


@pytest.fixture
def themed(qapp: Any) -> Iterator[theme.ThemeManager]:
    manager = theme.install(qapp, "light")
    yield manager
    manager.apply("light")


def test_theme_tokens_are_readable_on_their_own_scheme() -> None:
    for scheme, palette in (("light", theme.light_palette()), ("dark", theme.dark_palette())):
        for token in ("ok", "error", "warning", "muted", "accent"):
            for role in (QtGui.QPalette.ColorRole.Window, QtGui.QPalette.ColorRole.Base):
                ratio = contrast_ratio(theme.color(token, scheme), palette.color(role))
                assert ratio >= 4.5, (scheme, token, role, ratio)
        text = palette.color(QtGui.QPalette.ColorRole.Text)
        for token in ("staged_bg", "failed_bg", "queued_bg"):
            assert contrast_ratio(text, theme.color(token, scheme)) >= 4.5, (scheme, token)


def test_every_page_is_readable_after_switching_to_dark(
    qtbot: Any, qloop: Any, ctx: AppContext, sandbox: Any, themed: theme.ThemeManager
) -> None:
    from gradient_desktop.ui.main_window import MainWindow

    partner = qloop.run_until_complete(connected_partner(ctx, sandbox, 6))
    sid = service_ids(ctx, partner)[0]
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1400, 860)
    window.show()
    window.select_partner_id(partner.id)
    check, _mapping, usage, *_others = window.pages
    usage.import_bytes(f"accountId,serviceId,unitCount\nacct-0001,{sid},4\n".encode(), "c.csv")
    usage.grid.setCurrentIndex(usage.grid_model.index(0, 1))  # the history panel and its chart
    check.error.setText("The last check could not reach Gradient.")
    check.error.show()
    settle(qloop, 0.3)

    themed.apply("dark")  # what Settings → Theme → Dark does while the app runs
    findings = []
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        settle(qloop, 0.4)  # the mapping grid loads in the background
        findings += [f"{window.tabs.tabText(index)}: {f}" for f in low_contrast(window)]
    assert usage.staged_label.text().startswith("Staged: 1 change,")
    assert usage.history.title.text().startswith("History: ")
    assert not findings, "\n".join(findings)

    # The chart draws on the theme's base colour, not on white.
    plot = usage.history.plot
    background = plot.backgroundBrush().color()
    assert background == window.palette().color(QtGui.QPalette.ColorRole.Base)
    assert background.lightness() < 60

    # Back to light: the tinted labels follow again.
    themed.apply("light")
    window.tabs.setCurrentIndex(2)
    settle(qloop, 0.2)
    assert not low_contrast(window)
    assert plot.backgroundBrush().color().lightness() > 200
    window.close()


def test_setup_wizard_help_is_readable_in_dark(
    qtbot: Any, qloop: Any, ctx: AppContext, themed: theme.ThemeManager
) -> None:
    from gradient_desktop.services.setup import SetupFlow
    from gradient_desktop.ui.wizard import SetupWizard

    themed.apply("dark")
    wizard = SetupWizard(ctx, SetupFlow.new(ctx))
    qtbot.addWidget(wizard)
    wizard.show()
    settle(qloop, 0.2)
    page = wizard.currentPage()
    assert page.record_reason.isVisible()
    page.error_label.setText("The vendor key was refused: check it and try again.")
    page.error_label.show()
    findings = low_contrast(wizard)
    assert not findings, "\n".join(str(f) for f in findings)
    wizard.reject()
    QtWidgets.QApplication.processEvents()


def test_first_run_and_dialogs_are_readable_in_dark(
    qtbot: Any, qloop: Any, ctx: AppContext, themed: theme.ThemeManager
) -> None:
    import keyring
    import keyring.backends.fail

    from gradient_desktop.ui import dialogs
    from gradient_desktop.ui.first_run import show_first_run
    from gradient_desktop.ui.main_window import MainWindow

    themed.apply("dark")
    keyring.set_keyring(keyring.backends.fail.Keyring())  # the first run then shows its warning
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    first_run = show_first_run(window)
    assert first_run is not None and first_run.screen_.keyring_warning.isVisible()
    opened = [
        first_run,
        dialogs.show_settings(window),
        dialogs.show_about(window),
        dialogs.show_shortcuts(window),
    ]
    settle(qloop, 0.2)
    findings = [f"{type(d).__name__}: {f}" for d in opened for f in low_contrast(d)]
    assert not findings, "\n".join(findings)
    for d in opened:
        d.close()
    window.close()
