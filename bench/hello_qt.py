"""Baseline of the cold-start benchmark: a bare PySide6 ``QMainWindow`` hello-world.

Started the same way as the app (a Python process, ``QT_QPA_PLATFORM=offscreen``), it shows a
1280×800 main window with one label as its central widget, and on that widget's first paint
prints ``first-paint SECONDS`` (like ``GRADIENT_DESKTOP_EXIT_AFTER_PAINT=1`` makes the app do)
and quits. The first paint is detected like the app's ``MainWindow`` does: an event filter on
the central widget, then a zero-delay timer, so both measure the same moment.
"""

from __future__ import annotations

import os
import sys
import time

from PySide6 import QtCore, QtWidgets


def process_start_time() -> float:
    """Epoch seconds at which this process started (Linux /proc; else now), as the app does."""
    try:
        with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat", encoding="ascii") as fh:
            btime = next(int(line.split()[1]) for line in fh if line.startswith("btime"))
        return btime + start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, StopIteration, IndexError):
        return time.time()


class Hello(QtWidgets.QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Hello")
        self.resize(1280, 800)
        label = QtWidgets.QLabel("Hello, world")
        self.setCentralWidget(label)
        label.installEventFilter(self)
        self._painted = False

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.Paint and not self._painted:
            self._painted = True
            QtCore.QTimer.singleShot(0, self._first_paint)
        return False

    def _first_paint(self) -> None:
        print(f"first-paint {time.time() - process_start_time():.4f}", flush=True)
        self.close()


def main() -> int:
    app = QtWidgets.QApplication(sys.argv[:1])
    window = Hello()
    window.show()
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
