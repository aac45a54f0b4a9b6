"""Draw the Gradient Desktop app icon with QPainter and write the committed icon files.

Run from the repository root when the design changes (the PNGs, the Windows .ico and the macOS
.icns are committed, so neither the app nor the installer build runs this):

    .venv/bin/python resources/icons/draw_icon.py

The mark: a rounded square in the brand gradient (teal to indigo) with three rising usage bars
and a small "sync" dot, legible down to 16 px because it has no text and no thin lines.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtGui

HERE = Path(__file__).resolve().parent
SIZES = (16, 32, 48, 64, 128, 256)
NAME = "gradient-desktop"


def draw(size: int) -> QtGui.QImage:
    """The icon at ``size`` x ``size`` pixels, drawn natively at that size (no down-scaling blur)."""
    img = QtGui.QImage(size, size, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(QtCore.Qt.GlobalColor.transparent)
    p = QtGui.QPainter(img)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    s = float(size)
    margin = max(0.5, s * 0.04)
    rect = QtCore.QRectF(margin, margin, s - 2 * margin, s - 2 * margin)

    grad = QtGui.QLinearGradient(rect.topLeft(), rect.bottomRight())
    grad.setColorAt(0.0, QtGui.QColor("#14b8a6"))  # teal
    grad.setColorAt(0.55, QtGui.QColor("#3b82f6"))  # blue
    grad.setColorAt(1.0, QtGui.QColor("#6d28d9"))  # indigo
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    p.setBrush(grad)
    radius = s * 0.22
    p.drawRoundedRect(rect, radius, radius)

    # A soft highlight on the upper half gives depth at large sizes; invisible at 16 px.
    if size >= 48:
        shine = QtGui.QLinearGradient(
            rect.topLeft(), QtCore.QPointF(rect.left(), rect.center().y())
        )
        shine.setColorAt(0.0, QtGui.QColor(255, 255, 255, 60))
        shine.setColorAt(1.0, QtGui.QColor(255, 255, 255, 0))
        p.setBrush(shine)
        p.drawRoundedRect(rect, radius, radius)

    # Three rising bars: usage that is counted and pushed.
    white = QtGui.QColor("#ffffff")
    p.setBrush(white)
    inner = rect.adjusted(s * 0.2, s * 0.2, -s * 0.2, -s * 0.22)
    gap = inner.width() * 0.12
    bar_w = (inner.width() - 2 * gap) / 3
    heights = (0.42, 0.68, 1.0)
    bar_radius = max(0.5, bar_w * 0.22)
    for i, h in enumerate(heights):
        x = inner.left() + i * (bar_w + gap)
        bh = inner.height() * h
        p.drawRoundedRect(QtCore.QRectF(x, inner.bottom() - bh, bar_w, bh), bar_radius, bar_radius)

    # The "connected" dot above the first bars (dropped at 16 px, where it would be noise).
    if size >= 32:
        d = s * 0.13
        p.setBrush(QtGui.QColor("#fde68a"))
        p.drawEllipse(
            QtCore.QRectF(inner.left() + bar_w * 0.5 - d / 2, inner.top() + d * 0.2, d, d)
        )
    p.end()
    return img


def png_bytes(img: QtGui.QImage) -> bytes:
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    img.save(buf, "PNG")
    return bytes(buf.data())


def write_ico(path: Path, images: dict[int, bytes]) -> None:
    """A Windows .ico holding PNG-compressed images (valid since Windows Vista)."""
    sizes = sorted(images)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        data = images[size]
        dim = 0 if size >= 256 else size  # 0 means 256 in the directory entry
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        blobs += data
        offset += len(data)
    path.write_bytes(header + entries + blobs)


def main() -> int:
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (fonts, plugins)
    images: dict[int, bytes] = {}
    for size in SIZES:
        data = png_bytes(draw(size))
        images[size] = data
        (HERE / f"{NAME}-{size}.png").write_bytes(data)
    (HERE / f"{NAME}.png").write_bytes(images[256])  # what make_application() loads
    write_ico(HERE / f"{NAME}.ico", {s: images[s] for s in (16, 32, 48, 256)})
    # The macOS .app icon also wants 512 and 1024 px (retina), each drawn natively.
    sys.path.insert(0, str(HERE.parents[1]))
    from build_support.macos import ICNS_SIZES, icns_bytes

    pngs = {s: images.get(s) or png_bytes(draw(s)) for s in ICNS_SIZES}
    (HERE / f"{NAME}.icns").write_bytes(icns_bytes(pngs))
    print(f"wrote {len(SIZES) + 3} icon files to {HERE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
