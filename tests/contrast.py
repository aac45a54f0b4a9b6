"""Test helper: find text drawn with too little contrast against what is behind it, by looking
at the pixels of a real render of the whole window (not at the palettes the code asked for).

For every visible, enabled text widget (labels, buttons, check boxes) and every visible cell of
an item view, it crops that area from a grab of the top-level window, takes the most common
colour as the background and the pixel with the largest WCAG contrast against it as the text
colour (glyph cores are drawn in the full text colour), and reports areas below the ratio.
A label whose style sheet froze black text on a background that turned dark, or secondary text
in a colour close to the window's, shows up here whatever set its colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets

#: WCAG 2.x AA for normal text.
MIN_RATIO = 4.5


def _luminance(rgb: np.ndarray) -> np.ndarray:
    c = rgb.astype(np.float64) / 255.0
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return 0.2126 * c[..., 0] + 0.7152 * c[..., 1] + 0.0722 * c[..., 2]


def contrast_ratio(a: QtGui.QColor | str, b: QtGui.QColor | str) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    la, lb = (
        float(
            _luminance(
                np.array([[QtGui.QColor(c).red(), QtGui.QColor(c).green(), QtGui.QColor(c).blue()]])
            )[0]
        )
        for c in (a, b)
    )
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


@dataclass
class Finding:
    what: str
    ratio: float
    text: str
    background: str

    def __str__(self) -> str:
        return f"{self.what}: {self.text} on {self.background} = {self.ratio:.2f}:1"


def _pixels(window: QtWidgets.QWidget) -> tuple[np.ndarray, float]:
    image = window.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
    ptr = image.constBits()
    arr = np.frombuffer(ptr, dtype=np.uint8, count=image.sizeInBytes())
    arr = arr.reshape(image.height(), image.bytesPerLine() // 4, 4)[:, : image.width(), :]
    # Format_RGB32 is 0xffRRGGBB: little-endian bytes are B, G, R, A.
    return arr[..., [2, 1, 0]].copy(), image.devicePixelRatio()


def _measure(arr: np.ndarray, dpr: float, rect: QtCore.QRect) -> tuple[float, str, str] | None:
    x0, y0 = int(rect.left() * dpr), int(rect.top() * dpr)
    x1, y1 = int((rect.right() + 1) * dpr), int((rect.bottom() + 1) * dpr)
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, arr.shape[1]), min(y1, arr.shape[0])
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    region = arr[y0:y1, x0:x1].reshape(-1, 3)
    colours, counts = np.unique(region, axis=0, return_counts=True)
    if len(colours) < 2:
        return None  # nothing drawn on it (e.g. text scrolled out)
    bg = colours[counts.argmax()]
    lum = _luminance(colours)
    lbg = float(_luminance(bg[None, :])[0])
    ratios = (np.maximum(lum, lbg) + 0.05) / (np.minimum(lum, lbg) + 0.05)
    best = colours[ratios.argmax()]
    hexes = [QtGui.QColor(*(int(v) for v in c)).name() for c in (best, bg)]
    return float(ratios.max()), hexes[0], hexes[1]


def _text_of(widget: QtWidgets.QWidget) -> str:
    if isinstance(widget, QtWidgets.QLabel):
        return widget.text() if widget.pixmap().isNull() else ""
    if isinstance(widget, QtWidgets.QAbstractButton):
        return widget.text()
    return ""


def _shown(widget: QtWidgets.QWidget, window: QtWidgets.QWidget) -> QtCore.QRect | None:
    if not widget.isVisibleTo(window) or not widget.isEnabled():
        return None
    visible = widget.visibleRegion().boundingRect()
    if visible.isEmpty():
        return None
    top_left = widget.mapTo(window, visible.topLeft())
    return QtCore.QRect(top_left, visible.size())


def low_contrast(
    window: QtWidgets.QWidget, min_ratio: float = MIN_RATIO, rows: int = 25
) -> list[Finding]:
    """Every text area of ``window`` (as drawn now) whose contrast is below ``min_ratio``."""
    QtWidgets.QApplication.processEvents()
    arr, dpr = _pixels(window)
    found: list[Finding] = []
    for widget in [window, *window.findChildren(QtWidgets.QWidget)]:
        text = _text_of(widget).strip()
        if text:
            rect = _shown(widget, window)
            measured = _measure(arr, dpr, rect) if rect is not None else None
            if measured and measured[0] < min_ratio:
                found.append(Finding(f"{type(widget).__name__} {text[:50]!r}", *measured))
        if isinstance(widget, QtWidgets.QAbstractItemView) and widget.model() is not None:
            viewport = widget.viewport()
            if _shown(viewport, window) is None:
                continue
            model = widget.model()
            clip = viewport.visibleRegion().boundingRect()
            root = widget.rootIndex()
            try:
                columns = model.columnCount(root)
            except TypeError:  # a list model hides columnCount: one column
                columns = 1
            for row in range(min(model.rowCount(root), rows)):
                for col in range(columns):
                    index = model.index(row, col, root)
                    label = str(index.data() or "").strip()
                    cell = widget.visualRect(index).intersected(clip)
                    if not label or cell.isEmpty():
                        continue
                    rect = QtCore.QRect(viewport.mapTo(window, cell.topLeft()), cell.size())
                    measured = _measure(arr, dpr, rect)
                    if measured and measured[0] < min_ratio:
                        what = f"{widget.accessibleName() or type(widget).__name__} cell {label[:40]!r}"
                        found.append(Finding(what, *measured))
    return found
