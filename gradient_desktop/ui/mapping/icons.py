"""The coloured state dots of the grid (mapped, unmapped, suggested, conflict, stale), drawn
once and cached: a model returns them for ``DecorationRole`` so Qt paints them in C++, with
no Python delegate running per cell. The state's name is always written next to the dot, so
nothing is told by colour alone."""

from __future__ import annotations

from gradient_desktop.ui import theme
from gradient_desktop.ui.mapping.pane_model import STATE_COLORS
from gradient_desktop.ui.qt import QtCore, QtGui

_ICONS: dict[tuple[str, str], QtGui.QIcon] = {}  # (scheme, state) -> dot


def state_icon(state: str) -> QtGui.QIcon | None:
    key = (theme.scheme_now(), state)
    icon = _ICONS.get(key)
    if icon is None and state in STATE_COLORS:
        pixmap = QtGui.QPixmap(12, 12)
        pixmap.fill(QtCore.Qt.GlobalColor.transparent)
        painter = QtGui.QPainter(pixmap)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        painter.setBrush(theme.color(STATE_COLORS[state], key[0]))
        painter.drawEllipse(QtCore.QRectF(1.5, 1.5, 9, 9))
        painter.end()
        icon = _ICONS[key] = QtGui.QIcon(pixmap)
    return icon


def state_color(state: str) -> QtGui.QColor | None:
    token = STATE_COLORS.get(state)
    return theme.color(token) if token else None
