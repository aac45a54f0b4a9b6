"""Light and dark appearance: the Fusion style with a light or a dark palette, following the OS
colour scheme (Qt 6.5+ ``QStyleHints.colorScheme()``) unless Settings pins one.

Fusion everywhere because it honours a palette completely on every platform, so one pair of
palettes gives the same, readable result on Windows, macOS, GNOME and KDE.
"""

from __future__ import annotations

import logging

from gradient_desktop.config import THEMES
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets

log = logging.getLogger(__name__)

# The brand accent (teal/blue of the icon) for selections and links in both schemes.
ACCENT_LIGHT = "#2563eb"
ACCENT_DARK = "#3b82f6"


def system_scheme(app: QtGui.QGuiApplication | None = None) -> str:
    """``"dark"`` or ``"light"`` as the OS reports it (light when it cannot tell)."""
    app = app or QtGui.QGuiApplication.instance()  # type: ignore[assignment]
    hints = app.styleHints() if app is not None else None
    scheme = getattr(hints, "colorScheme", None)
    if scheme is None:  # Qt < 6.5
        return "light"
    return "dark" if scheme() == QtCore.Qt.ColorScheme.Dark else "light"


def resolve(theme: str, app: QtGui.QGuiApplication | None = None) -> str:
    """The scheme to draw for a Settings value (``system``, ``light`` or ``dark``)."""
    if theme not in THEMES:
        theme = "system"
    return system_scheme(app) if theme == "system" else theme


def light_palette() -> QtGui.QPalette:
    style = QtWidgets.QStyleFactory.create("Fusion")
    palette = QtGui.QPalette(style.standardPalette()) if style else QtGui.QPalette()
    role = QtGui.QPalette.ColorRole
    palette.setColor(role.Highlight, QtGui.QColor(ACCENT_LIGHT))
    palette.setColor(role.HighlightedText, QtGui.QColor("#ffffff"))
    palette.setColor(role.Link, QtGui.QColor(ACCENT_LIGHT))
    palette.setColor(role.ToolTipBase, QtGui.QColor("#ffffe1"))
    palette.setColor(role.ToolTipText, QtGui.QColor("#000000"))
    return palette


def dark_palette() -> QtGui.QPalette:
    role = QtGui.QPalette.ColorRole
    group = QtGui.QPalette.ColorGroup
    colors = {
        role.Window: "#202124",
        role.WindowText: "#e8eaed",
        role.Base: "#17181a",
        role.AlternateBase: "#26282c",
        role.ToolTipBase: "#2d2f33",
        role.ToolTipText: "#e8eaed",
        role.PlaceholderText: "#8a8f98",
        role.Text: "#e8eaed",
        role.Button: "#2b2d31",
        role.ButtonText: "#e8eaed",
        role.BrightText: "#ff6b6b",
        role.Light: "#3a3d42",
        role.Midlight: "#323539",
        role.Mid: "#26282c",
        role.Dark: "#141517",
        role.Shadow: "#000000",
        role.Highlight: ACCENT_DARK,
        role.HighlightedText: "#ffffff",
        role.Link: "#7aa7ff",
        role.LinkVisited: "#b69cff",
    }
    palette = QtGui.QPalette()
    for r, c in colors.items():
        palette.setColor(r, QtGui.QColor(c))
    # Disabled widgets must look disabled on a dark background too.
    for r in (role.WindowText, role.Text, role.ButtonText):
        palette.setColor(group.Disabled, r, QtGui.QColor("#6b7078"))
    palette.setColor(group.Disabled, role.Highlight, QtGui.QColor("#3a3d42"))
    return palette


class ThemeManager(QtCore.QObject):
    """Applies the chosen theme and, for ``system``, follows the OS when it switches."""

    changed = QtCore.Signal(str)  # the scheme now drawn: "light" or "dark"

    def __init__(self, app: QtWidgets.QApplication, theme: str = "system") -> None:
        super().__init__(app)
        self.app = app
        self.theme = theme if theme in THEMES else "system"
        self.scheme = ""
        hints = app.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(self._on_system_changed)

    def apply(self, theme: str | None = None) -> str:
        """Set the theme (``system``/``light``/``dark``); returns the scheme now drawn."""
        if theme is not None:
            self.theme = theme if theme in THEMES else "system"
        scheme = resolve(self.theme, self.app)
        if self.app.style().name().lower() != "fusion":
            self.app.setStyle("Fusion")
        self.app.setPalette(dark_palette() if scheme == "dark" else light_palette())
        if scheme != self.scheme:
            self.scheme = scheme
            log.debug("theme %s -> %s palette", self.theme, scheme)
            self.changed.emit(scheme)
        return scheme

    def _on_system_changed(self, *_: object) -> None:
        if self.theme == "system":
            self.apply()


def install(app: QtWidgets.QApplication, theme: str = "system") -> ThemeManager:
    """Create the app's ThemeManager (kept as ``app.theme_manager``) and apply ``theme``."""
    manager = getattr(app, "theme_manager", None)
    if not isinstance(manager, ThemeManager):
        manager = ThemeManager(app, theme)
        app.theme_manager = manager  # type: ignore[attr-defined]
    manager.apply(theme)
    return manager


def current(app: QtWidgets.QApplication | None = None) -> ThemeManager | None:
    app = app or QtWidgets.QApplication.instance()  # type: ignore[assignment]
    manager = getattr(app, "theme_manager", None)
    return manager if isinstance(manager, ThemeManager) else None
