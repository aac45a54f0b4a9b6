"""Light and dark appearance: the Fusion style with a light or a dark palette, following the OS
colour scheme (Qt 6.5+ ``QStyleHints.colorScheme()``) unless Settings pins one.

Fusion everywhere because it honours a palette completely on every platform, so one pair of
palettes gives the same, readable result on Windows, macOS, GNOME and KDE.

Colours that mean something (ok, error, warning, secondary text, cell highlights) are *tokens*
with a light and a dark value, read through ``color(token)`` at paint time or applied to a
widget with ``tint(widget, token)``, which ``ThemeManager`` re-applies when the theme switches.
No widget sets a style sheet: a widget with one keeps the palette it had when the sheet was set,
so after a switch to dark its text stays black on the new dark background.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from gradient_desktop.config import THEMES
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets

log = logging.getLogger(__name__)

# The brand accent (teal/blue of the icon) for selections and links in both schemes.
ACCENT_LIGHT = "#1d4ed8"
# Selection background under white text in the dark scheme: #3b82f6 gave 3.7:1 (Fusion draws
# it lighter still), below WCAG AA.
ACCENT_DARK = "#1d4fc4"

#: The first-run badges: a white mark on a brand-coloured disc, the same in both schemes
#: (an icon carries its own background, so its contrast does not depend on the theme).
BADGE_COLORS = {"demo": ACCENT_LIGHT, "connect": "#0d9488", "mark": "#ffffff"}

#: token -> (light value, dark value). Text tokens keep a WCAG contrast of at least 4.5:1 on
#: their theme's window and base colours; ``*_bg`` tokens are cell backgrounds under the
#: palette's text colour.
TOKENS: dict[str, tuple[str, str]] = {
    "ok": ("#1b7a34", "#5ccf85"),
    "error": ("#b42323", "#ff8a80"),
    "warning": ("#8a5a00", "#f2b34c"),
    "muted": ("#5b6270", "#a3a9b3"),
    "accent": ("#1d4ed8", "#8ab4ff"),
    "staged_bg": ("#fff1b8", "#4d3f0f"),
    "failed_bg": ("#fbd5d5", "#5a2323"),
    "queued_bg": ("#dbeafe", "#1c3557"),
}
_COLORS: dict[str, dict[str, QtGui.QColor]] = {}
_BRUSHES: dict[tuple[str, str], QtGui.QBrush] = {}
#: The scheme drawn now ("light"/"dark"); set by ThemeManager.apply, read at paint time.
_scheme: list[str] = []
TOKEN_PROPERTY = "themeToken"


def scheme_now() -> str:
    """The scheme being drawn: the theme manager's, else guessed from the app palette."""
    if _scheme:
        return _scheme[0]
    app = QtGui.QGuiApplication.instance()
    if app is None:
        return "light"
    window = QtGui.QGuiApplication.palette().color(QtGui.QPalette.ColorRole.Window)
    return "dark" if window.lightness() < 128 else "light"


def color(token: str, scheme: str | None = None) -> QtGui.QColor:
    """The colour of ``token`` in the scheme drawn now (cheap: models call it per cell)."""
    scheme = scheme or scheme_now()
    colors = _COLORS.get(scheme)
    if colors is None:
        index = 1 if scheme == "dark" else 0
        colors = _COLORS[scheme] = {k: QtGui.QColor(v[index]) for k, v in TOKENS.items()}
    return colors[token]


def brush(token: str) -> QtGui.QBrush:
    scheme = scheme_now()
    b = _BRUSHES.get((scheme, token))
    if b is None:
        b = _BRUSHES[(scheme, token)] = QtGui.QBrush(color(token, scheme))
    return b


def _apply_tint(widget: QtWidgets.QWidget, spec: str) -> None:
    # A fresh QPalette resolves nothing itself: only the roles set here override the app's.
    text, _, background = spec.partition(";")
    palette = QtGui.QPalette()
    if text:
        for role in (QtGui.QPalette.ColorRole.WindowText, QtGui.QPalette.ColorRole.Text):
            palette.setColor(role, color(text))
    if background:
        palette.setColor(QtGui.QPalette.ColorRole.Window, color(background))
    widget.setAutoFillBackground(bool(background))
    widget.setPalette(palette)


def tint(widget: QtWidgets.QWidget, token: str | None, background: str | None = None) -> None:
    """Draw ``widget``'s text in ``token``'s colour (None: the palette's own) on a
    ``background`` token (None: the parent's), now and after every theme switch."""
    spec = f"{token or ''};{background or ''}"
    widget.setProperty(TOKEN_PROPERTY, spec if spec != ";" else "")
    _apply_tint(widget, spec)


def bold(widget: QtWidgets.QWidget) -> None:
    """Bold text through the font (a style sheet would freeze the widget's palette)."""
    font = widget.font()
    font.setBold(True)
    widget.setFont(font)


def on_change(callback: Callable[[str], None]) -> None:
    """Call ``callback(scheme)`` whenever the theme switches. Pass a QObject's bound method:
    Qt drops the connection when that object is destroyed."""
    manager = current()
    if manager is not None:
        manager.changed.connect(callback)


def system_scheme(app: QtGui.QGuiApplication | None = None) -> str:
    """``"dark"`` or ``"light"`` as the OS reports it (light when it cannot tell)."""
    app = app or QtGui.QGuiApplication.instance()  # type: ignore[assignment]
    hints = app.styleHints() if app is not None else None
    scheme = getattr(hints, "colorScheme", None)
    if scheme is None:  # Qt < 6.5
        return "light"
    return "dark" if scheme() == QtCore.Qt.ColorScheme.Dark else "light"


def platform_scheme(app: QtGui.QGuiApplication) -> str:
    """``"dark"`` or ``"light"`` from the platform's own palette, read before the app sets
    its palette: the scheme guessed for the first paint without touching ``Qt.ColorScheme``.

    Why not ``system_scheme``: the first ``QtCore.Qt`` enum a process touches makes PySide6
    build all 93 enums of that namespace, 15-30 ms here (cProfile: 93 ``enum`` classes created
    inside ``colorScheme()``), a third of what the cold start spent beyond a bare window
    (issue 16). Windows, macOS, KDE and GTK themes give a dark palette in dark mode;
    ``ThemeManager.confirm`` checks with the OS after the paint."""
    window = app.palette().color(QtGui.QPalette.ColorRole.Window)
    return "dark" if window.lightness() < 128 else "light"


def resolve(theme: str, app: QtGui.QGuiApplication | None = None) -> str:
    """The scheme to draw for a Settings value (``system``, ``light`` or ``dark``)."""
    if theme not in THEMES:
        theme = "system"
    return system_scheme(app) if theme == "system" else theme


def light_palette(style: QtWidgets.QStyle | None = None) -> QtGui.QPalette:
    """Fusion's own light palette with the brand accent. Pass the app's Fusion style when it
    has one: a second Fusion instance is a waste. ``standardPalette()`` already returns a copy;
    wrapping it in ``QPalette(...)`` cost 15-27 ms on its first call here (PySide6 resolving
    that constructor's overloads), a fifth of the cold start's overhead (issue 16)."""
    if style is None or style.name().lower() != "fusion":
        style = QtWidgets.QStyleFactory.create("Fusion")
    palette = style.standardPalette() if style else QtGui.QPalette()
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

    def apply(self, theme: str | None = None, *, scheme: str | None = None) -> str:
        """Set the theme (``system``/``light``/``dark``); returns the scheme now drawn.
        ``scheme`` overrides what ``system`` resolves to (the first paint's guess)."""
        if theme is not None:
            self.theme = theme if theme in THEMES else "system"
        if scheme is None or self.theme != "system":
            scheme = resolve(self.theme, self.app)
        if self.app.style().name().lower() != "fusion":
            self.app.setStyle("Fusion")
        _scheme[:] = [scheme]
        self.app.setPalette(dark_palette() if scheme == "dark" else light_palette(self.app.style()))
        if scheme != self.scheme:
            self.scheme = scheme
            for widget in self.app.allWidgets():
                token = widget.property(TOKEN_PROPERTY)
                if token:
                    _apply_tint(widget, str(token))
            log.debug("theme %s -> %s palette", self.theme, scheme)
            self.changed.emit(scheme)
        return scheme

    def _on_system_changed(self, *_: object) -> None:
        if self.theme == "system":
            self.apply()

    def confirm(self) -> str:
        """After a guessed first paint (``install(..., guess=True)``): ask the OS, and switch
        if the guess was wrong. Returns the scheme now drawn."""
        if self.theme == "system" and system_scheme(self.app) != self.scheme:
            return self.apply()
        return self.scheme


def install(
    app: QtWidgets.QApplication, theme: str = "system", *, guess: bool = False
) -> ThemeManager:
    """Create the app's ThemeManager (kept as ``app.theme_manager``) and apply ``theme``.

    ``guess=True`` (the app's start, before the first paint): for ``system``, draw the scheme
    of the platform's palette instead of asking the OS (see ``platform_scheme``); call
    ``confirm()`` once the window is on screen."""
    manager = getattr(app, "theme_manager", None)
    if not isinstance(manager, ThemeManager):
        manager = ThemeManager(app, theme)
        app.theme_manager = manager  # type: ignore[attr-defined]
    manager.apply(theme, scheme=platform_scheme(app) if guess else None)
    return manager


def current(app: QtWidgets.QApplication | None = None) -> ThemeManager | None:
    app = app or QtWidgets.QApplication.instance()  # type: ignore[assignment]
    manager = getattr(app, "theme_manager", None)
    return manager if isinstance(manager, ThemeManager) else None
