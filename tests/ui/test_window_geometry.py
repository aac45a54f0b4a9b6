"""Windows fit the screen: the default size is a share of the free screen area, a remembered
geometry from a bigger screen is pulled back onto this one, nothing forces a window wider than
a 200 %-scaled laptop screen, and the setup wizard keeps one size on every step."""

from __future__ import annotations

from typing import Any

import pytest

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.setup import Step
from gradient_desktop.ui.geometry import available_geometry, clamp_rect, default_rect
from gradient_desktop.ui.qt import QtCore
from tests.gui_helpers import wait_until
from tests.ui.wizard.helpers import next_page, open_wizard, page

pytestmark = pytest.mark.gui
R, S = QtCore.QRect, QtCore.QSize


def test_clamp_rect_moves_and_shrinks_into_the_available_area() -> None:
    screen = R(0, 0, 960, 540)  # 1920 x 1080 at QT_SCALE_FACTOR=2, in logical pixels
    assert clamp_rect(R(100, 50, 400, 300), screen) == R(100, 50, 400, 300)  # fits: unchanged
    assert clamp_rect(R(0, 0, 1280, 800), screen) == R(0, 0, 960, 540)
    assert clamp_rect(R(2500, 1400, 500, 400), screen) == R(460, 140, 500, 400)  # off-screen
    assert clamp_rect(R(-300, -50, 500, 400), R(1920, 0, 1280, 1024)) == R(1920, 0, 500, 400)
    assert default_rect(S(1440, 900), screen) == R(48, 27, 864, 486)
    assert default_rect(S(1440, 900), R(0, 0, 2560, 1440)).size() == S(1440, 900)


def test_main_window_opens_within_the_screen_and_clamps_a_remembered_geometry(
    qtbot: Any, ctx: AppContext
) -> None:
    from gradient_desktop.ui.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    available = available_geometry(window)
    assert window.restore_geometry() is False  # first start: nothing remembered
    assert available.contains(window.geometry()), (window.geometry(), available)
    # Nothing inside forces it wider than a 1920 x 1080 screen at 200 % (960 logical px):
    # the mapping page's action row alone used to need 1,063 px.
    assert window.minimumSizeHint().width() <= 960, window.minimumSizeHint()

    # A geometry saved on a larger monitor, partly off this screen.
    window.setGeometry(available.x() + 400, available.y() + 300, 2400, 1500)
    window.save_geometry()
    window.close()
    again = MainWindow(ctx)
    qtbot.addWidget(again)
    assert again.restore_geometry() is True
    assert available.contains(again.geometry()), (again.geometry(), available)
    again.close()


def test_setup_wizard_keeps_one_size_on_every_step(qtbot: Any, qloop: Any, ctx: AppContext) -> None:
    wizard = open_wizard(qtbot, ctx)
    size = wizard.size()
    assert available_geometry(wizard).contains(wizard.geometry())
    sizes = {int(Step.VENDOR): wizard.size()}
    vendor = page(wizard)
    wait_until(qloop, lambda: vendor.name_edit.text() == "Northwind Cloud Backup")
    for step in (Step.PRODUCT, Step.PARTNER_KEY, Step.AUTHENTICATE, Step.MAP_CLIENTS):
        current = next_page(qloop, wizard, step)
        wait_until(qloop, current.isComplete)
        sizes[int(step)] = wizard.size()
    mapping = page(wizard)
    assert mapping.grid is not None  # the drag-and-drop grid is embedded at this step
    assert set(sizes.values()) == {size}, sizes
    wizard.reject()
