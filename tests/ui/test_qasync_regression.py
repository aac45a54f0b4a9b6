"""Guards against the PySide6 6.12.0 / CPython 3.11 crash that kills qasync apps (PITFALLS.md).

The loop is pumped in a child process: a regression aborts the interpreter, which a test in the
same process could not report.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

PUMP = textwrap.dedent(
    """
    import asyncio, os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from gradient_desktop.ui.qt import QEventLoop, QtCore, QtWidgets
    app = QtWidgets.QApplication(sys.argv)
    loop = QEventLoop(app)
    asyncio.set_event_loop(loop)
    fired = 0
    def tick():
        global fired
        fired += 1
    async def main():
        for _ in range(__N__):
            await asyncio.sleep(0)
        for _ in range(2000):
            QtCore.QTimer.singleShot(0, tick)
        while fired < 2000:
            await asyncio.sleep(0.001)
        return __N__
    print("pumped", loop.run_until_complete(main()), "timers", fired, flush=True)
    loop.close()
    """
)


def test_qasync_loop_survives_25000_queued_events() -> None:
    code = PUMP.replace("__N__", "25000")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, f"qasync loop died (rc={proc.returncode}): {proc.stderr[-2000:]}"
    assert "pumped 25000 timers 2000" in proc.stdout


def test_installed_pyside_is_not_the_crashing_combination() -> None:
    from gradient_desktop.ui.qt import qasync_crash_risk

    assert not qasync_crash_risk(), "PySide6 6.12.0 on Python 3.11: pin PySide6-Essentials<6.12"
