"""The real app on a real X server: Xvfb plus Qt's xcb platform plugin, as on a user's desktop.

Every other GUI test runs on Qt's offscreen platform, which never loads ``libqxcb.so`` and so
cannot notice that a minimal Debian lacks the libraries it links (``libxcb-icccm4``,
``libxcb-keysyms1``, ...): Qt then dies naming only ``xcb-cursor0``. ``scripts/test.sh`` installs
``xvfb`` and those libraries when it runs as root; elsewhere this test says what is missing.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.xvfb,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 (Xvfb) is Linux only"),
]


def missing_qt_packages() -> list[str]:
    """Debian packages of the xcb plugin's libraries this machine lacks (scripts/qt_libs.sh)."""
    out = subprocess.run(
        ["bash", "-c", ". scripts/qt_libs.sh && missing_qt_packages"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


@pytest.fixture
def x_display() -> Iterator[str]:
    """A private Xvfb on a free display number (Xvfb picks it and reports it on a pipe)."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed: run scripts/test.sh as root, or apt-get install xvfb")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], 30)
        number = os.read(read_fd, 64).decode().strip() if ready else ""
        if not number:
            proc.kill()
            _, err = proc.communicate(timeout=10)
            pytest.fail(f"Xvfb did not start: {err.decode(errors='replace')[-500:]}")
        yield f":{number}"
    finally:
        os.close(read_fd)
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


def test_app_opens_its_window_on_a_real_x_server(x_display: str, tmp_path: Path) -> None:
    missing = missing_qt_packages()
    if missing:
        message = f"Qt's xcb plugin cannot load here; missing packages: {' '.join(missing)}"
        if os.geteuid() == 0 and shutil.which("apt-get"):
            pytest.fail(message + " (scripts/test.sh installs them as root)")
        pytest.skip(message + " (not root: run scripts/test.sh as root to install them)")
    home = tmp_path / "throwaway-home"
    home.mkdir()
    env = {
        **os.environ,
        "DISPLAY": x_display,
        "QT_QPA_PLATFORM": "xcb",  # conftest set offscreen for in-process tests
        "GRADIENT_DESKTOP_HOME": str(home),
        # The app quits right after the main window's first paint and prints its time.
        "GRADIENT_DESKTOP_EXIT_AFTER_PAINT": "1",
    }
    env.pop("WAYLAND_DISPLAY", None)
    out = subprocess.run(
        [sys.executable, "-m", "gradient_desktop"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "qt.qpa.plugin" not in out.stderr, out.stderr[-3000:]
    assert out.returncode == 0, out.stderr[-3000:]
    assert re.search(r"first-paint \d+\.\d+", out.stdout), out.stdout + out.stderr[-2000:]
    log = (home / "logs" / "gradient-desktop.log").read_text(encoding="utf-8")
    # The app says which platform it drew on, so a silent fallback to offscreen would show.
    assert "platform xcb" in log, log[-2000:]
