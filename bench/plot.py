"""Draw the push curve as a PNG with QPainter: ``python -m bench.plot DATA.json OUT.png``.

Run as a child process with ``QT_QPA_PLATFORM=offscreen`` so the benchmark process never
imports Qt. A small hand-drawn chart: matplotlib is not a dependency and Qt Charts is GPL (see
shared/PITFALLS.md). Both axes are logarithmic: concurrency and requests per second.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QImage,
    QPainter,
    QPen,
    QPolygonF,
)

W, H = 900, 560
LEFT, RIGHT, TOP, BOTTOM = 80, 70, 60, 70
Y_TICKS = (2, 5, 10, 20, 50, 100)


def draw(data: dict[str, Any], out: Path) -> None:
    """Log-log axes: the ideal ``min(c / latency, limit)`` is then a straight rise and a flat
    line, and measured points compare with it segment for segment."""
    curve = sorted(data["curve"], key=lambda p: p["c"])
    limit = float(data["limit"])
    client_limit = data.get("client_limit")
    latency = float(data.get("latency_s", 0.2))
    xs = [math.log2(p["c"]) for p in curve]
    x_min, x_max = min(xs), max(xs)
    lo = min(2.0, *(p["rps"] for p in curve))
    y_lo, y_hi = math.log2(lo * 0.8), math.log2(limit * 1.5)

    img = QImage(W, H, QImage.Format.Format_ARGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    plot = QRectF(LEFT, TOP, W - LEFT - RIGHT, H - TOP - BOTTOM)

    def at(x: float, rps: float) -> QPointF:
        fx = (x - x_min) / (x_max - x_min) if x_max > x_min else 0.5
        fy = (math.log2(rps) - y_lo) / (y_hi - y_lo)
        return QPointF(plot.left() + fx * plot.width(), plot.bottom() - fy * plot.height())

    font = QFont("DejaVu Sans", 10)
    p.setFont(font)
    for y in Y_TICKS:
        if not lo * 0.8 <= y <= limit * 1.5:
            continue
        p.setPen(QPen(QColor("#e3e3e3"), 1))
        p.drawLine(at(x_min, y), at(x_max, y))
        p.setPen(QColor("#333333"))
        pt = at(x_min, y)
        p.drawText(QRectF(0, pt.y() - 8, LEFT - 8, 16), Qt.AlignmentFlag.AlignRight, f"{y}")
    for point, x in zip(curve, xs, strict=True):
        pt = at(x, math.exp2(y_lo))
        p.setPen(QPen(QColor("#e3e3e3"), 1))
        p.drawLine(pt, at(x, math.exp2(y_hi)))
        p.setPen(QColor("#333333"))
        p.drawText(
            QRectF(pt.x() - 30, pt.y() + 8, 60, 16), Qt.AlignmentFlag.AlignCenter, f"{point['c']:g}"
        )
    p.setPen(QPen(QColor("#333333"), 1.5))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRect(plot)
    p.drawText(
        QRectF(plot.left(), H - 32, plot.width(), 20),
        Qt.AlignmentFlag.AlignCenter,
        "concurrency (requests in flight, log scale)",
    )
    p.save()
    p.translate(20, plot.center().y())
    p.rotate(-90)
    p.drawText(
        QRectF(-140, -10, 280, 20), Qt.AlignmentFlag.AlignCenter, "requests / second (log scale)"
    )
    p.restore()
    title = QFont("DejaVu Sans", 12)
    title.setBold(True)
    p.setFont(title)
    p.drawText(QRectF(0, 12, W, 24), Qt.AlignmentFlag.AlignCenter, data.get("title", ""))
    p.setFont(font)

    # Gradient's documented limit (dashed red) and the client's own pace (dotted green).
    p.setPen(QPen(QColor("#c62828"), 1.5, Qt.PenStyle.DashLine))
    p.drawLine(at(x_min, limit), at(x_max, limit))
    p.drawText(at(x_min, limit) + QPointF(6, -6), f"Gradient's limit {limit:g} req/s")
    if client_limit:
        p.setPen(QPen(QColor("#2e7d32"), 1.2, Qt.PenStyle.DotLine))
        p.drawLine(at(x_min, client_limit), at(x_max, client_limit))
        p.drawText(
            at(x_min, client_limit) + QPointF(6, 14), f"client-side limiter {client_limit:g} req/s"
        )

    # Ideal min(c / latency, limit): straight on log-log, drawn densely for the knee.
    p.setPen(QPen(QColor("#888888"), 2, Qt.PenStyle.DashDotLine))
    ideal = [
        at(x, min(2**x / latency, limit))
        for x in (x_min + (x_max - x_min) * k / 200 for k in range(201))
    ]
    p.drawPolyline(QPolygonF(ideal))  # one polyline, so the dash pattern runs through

    # Measured.
    blue = QColor("#1565c0")
    p.setPen(QPen(blue, 2.5))
    pts = [at(x, pt["rps"]) for x, pt in zip(xs, curve, strict=True)]
    p.drawPolyline(QPolygonF(pts))
    p.setBrush(blue)
    for pt, point in zip(pts, curve, strict=True):
        p.setPen(QPen(blue, 1))
        p.drawEllipse(pt, 4.5, 4.5)
        p.setPen(blue)
        p.drawText(pt + QPointF(-14, 20), f"{point['rps']:.1f}")
    p.setBrush(Qt.BrushStyle.NoBrush)

    # Legend, lower right (the curve rises from lower left).
    lx, ly = plot.right() - 270, plot.bottom() - 70
    entries = [
        (QPen(blue, 2.5), "measured: push_counts"),
        (
            QPen(QColor("#888888"), 2, Qt.PenStyle.DashDotLine),
            f"ideal: min(c / {latency * 1000:g} ms, {limit:g}/s)",
        ),
        (QPen(QColor("#c62828"), 1.5, Qt.PenStyle.DashLine), "Gradient's documented limit"),
    ]
    for k, (pen, text) in enumerate(entries):
        y = ly + 20 * k
        p.setPen(pen)
        p.drawLine(QPointF(lx, y), QPointF(lx + 30, y))
        p.setPen(QColor("#333333"))
        p.drawText(QPointF(lx + 38, y + 4), text)
    p.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not img.save(str(out), "PNG"):
        raise OSError(f"could not write {out}")


def main(argv: list[str]) -> int:
    data = json.loads(Path(argv[0]).read_text())
    app = QGuiApplication.instance() or QGuiApplication([])  # fonts need an application
    draw(data, Path(argv[1]))
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
