"""The app's secondary windows reached from the Help menu: About, Settings, the log viewer and
the keyboard-shortcuts list. Each ``show_*`` function opens its dialog non-modally (never
``exec()``: it would re-enter the qasync loop, qasync#59) and raises the one already open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from gradient_desktop.ui.qt import QtCore, QtWidgets

D = TypeVar("D", bound=QtWidgets.QDialog)


def reuse_or_open(parent: QtWidgets.QWidget, attr: str, factory: type[D], *args: object) -> D:
    """Show the dialog stored on ``parent.<attr>`` or a new one; one instance per window."""
    dialog = getattr(parent, attr, None)
    if isinstance(dialog, factory) and dialog.isVisible():
        dialog.raise_()
        dialog.activateWindow()
        return dialog
    # Each dialog takes its own arguments, then the parent: QDialog's signature says nothing.
    dialog = cast(Callable[..., D], factory)(*args, parent)
    dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    setattr(parent, attr, dialog)
    dialog.show()
    return dialog


def show_about(window: QtWidgets.QWidget) -> QtWidgets.QDialog:
    from gradient_desktop.ui.dialogs.about import AboutDialog

    ctx = getattr(window, "ctx", None)
    return reuse_or_open(window, "_about_dialog", AboutDialog, ctx)


def show_settings(window: QtWidgets.QWidget) -> QtWidgets.QDialog:
    from gradient_desktop.ui.dialogs.settings import SettingsDialog

    return reuse_or_open(window, "_settings_dialog", SettingsDialog, window.ctx)  # type: ignore[attr-defined]


def show_log(window: QtWidgets.QWidget) -> QtWidgets.QDialog:
    from gradient_desktop.ui.dialogs.log_viewer import LogViewer

    return reuse_or_open(window, "_log_dialog", LogViewer, None)


def show_shortcuts(window: QtWidgets.QMainWindow) -> QtWidgets.QDialog:
    from gradient_desktop.ui.dialogs.shortcuts import ShortcutsDialog

    return reuse_or_open(window, "_shortcuts_dialog", ShortcutsDialog, window)


__all__ = ["reuse_or_open", "show_about", "show_log", "show_settings", "show_shortcuts"]
