"""Window sizes that fit the screen: a default size that is a share of the screen's free area,
and a remembered geometry pulled back onto the screen when it no longer fits (a smaller
monitor, 200 % scaling, a display that was unplugged).

At ``QT_SCALE_FACTOR=2`` a 1920 × 1080 screen is 960 × 540 logical pixels; a fixed 1280 × 800
default then opened the window larger than the screen.
"""

from __future__ import annotations

from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets

#: Largest share of the available screen area a default window size takes.
SCREEN_SHARE = 0.9


def available_geometry(widget: QtWidgets.QWidget) -> QtCore.QRect:
    """The free area (without panels and docks) of the screen the widget is on."""
    screen = widget.screen() or QtGui.QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QtCore.QRect(0, 0, 1280, 800)


def clamp_rect(rect: QtCore.QRect, available: QtCore.QRect) -> QtCore.QRect:
    """``rect`` shrunk to at most ``available``'s size and moved inside it."""
    width = min(rect.width(), available.width())
    height = min(rect.height(), available.height())
    x = min(max(rect.x(), available.x()), available.x() + available.width() - width)
    y = min(max(rect.y(), available.y()), available.y() + available.height() - height)
    return QtCore.QRect(x, y, width, height)


def default_rect(
    preferred: QtCore.QSize, available: QtCore.QRect, share: float = SCREEN_SHARE
) -> QtCore.QRect:
    """``preferred`` (at most ``share`` of ``available``), centred in ``available``."""
    width = min(preferred.width(), int(available.width() * share))
    height = min(preferred.height(), int(available.height() * share))
    rect = QtCore.QRect(0, 0, width, height)
    rect.moveCenter(available.center())
    return rect


def fit_default(widget: QtWidgets.QWidget, preferred: QtCore.QSize) -> None:
    """Size and centre a window that has no remembered geometry."""
    widget.setGeometry(default_rect(preferred, available_geometry(widget)))


def clamp_to_screen(widget: QtWidgets.QWidget) -> None:
    """Pull a (restored) window back onto its screen, no larger than the screen's free area.

    The frame (title bar, borders) counts: ``frameGeometry`` is used once the window manager
    has framed the window, the client geometry before that.
    """
    if widget.isMaximized() or widget.isFullScreen():
        return
    available = available_geometry(widget)
    frame, inner = widget.frameGeometry(), widget.geometry()
    extra_w, extra_h = frame.width() - inner.width(), frame.height() - inner.height()
    fitted = clamp_rect(frame, available)
    if fitted != frame:
        widget.resize(fitted.width() - extra_w, fitted.height() - extra_h)
        widget.move(fitted.topLeft())
