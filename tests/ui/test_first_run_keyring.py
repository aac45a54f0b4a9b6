"""The first-run screen says up front when this computer has no usable keyring (the README
promises it): keys for a real partner could not be saved, the demo still works, and what to
install. With a working keyring it says nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import keyring
import keyring.backends.fail
import pytest

from gradient_desktop.services.context import AppContext

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot: Any, qloop: Any) -> Iterator[Any]:
    from gradient_desktop.ui.main_window import MainWindow

    ctx = AppContext.open()
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    yield win
    dialog = getattr(win, "_first_run_dialog", None)
    if dialog is not None and dialog.isVisible():
        dialog.close()
    win.close()
    qloop.run_until_complete(ctx.aclose())
    ctx.close()


def _first_run(window: Any) -> Any:
    from gradient_desktop.ui.first_run import show_first_run

    dialog = show_first_run(window)
    assert dialog is not None and dialog.isVisible()
    return dialog.screen_.keyring_warning


def test_first_run_warns_when_no_keyring_is_usable(window: Any) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())  # a minimal Linux: no Secret Service
    warning = _first_run(window)
    assert warning.isVisible()
    text = warning.text()
    assert "cannot be saved on this computer" in text and "The demo works without them" in text
    assert "gnome-keyring" in text
    assert "GRADIENT_VENDOR_KEY" in warning.toolTip()  # the long instructions: in the tooltip
    from gradient_desktop.ui.geometry import available_geometry

    dialog = window._first_run_dialog  # with the warning it still fits the screen's height
    assert dialog.height() <= available_geometry(window).height()


def test_first_run_says_nothing_about_a_working_keyring(window: Any) -> None:
    warning = _first_run(window)  # conftest's in-memory keyring: a usable backend
    assert not warning.isVisible() and not warning.text()
