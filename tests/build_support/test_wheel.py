"""The wheel a plain ``pip install .`` builds carries the icons and the .desktop entry, and the
installed app finds them (it showed no window icon before: resources/ sits outside the package)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from build_support.wheel import install_wheel

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_an_installed_wheel_finds_its_icons(tmp_path: Path) -> None:
    python = install_wheel(ROOT, tmp_path, dependencies_from_here=False)
    target = tmp_path / "venv"
    # Run from tmp_path so the checkout's own package cannot be imported instead of the wheel's.
    probe = (
        "import gradient_desktop.diagnostics as d; r = d.resources_dir(); "
        "print(d.__file__); print(r); print((r / 'icons' / 'gradient-desktop.png').is_file())"
    )
    out = subprocess.run(
        [str(python), "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path
    ).stdout.splitlines()
    assert str(target) in out[0], out  # the wheel's copy was imported, not the checkout's
    assert out[1] == str(target / "share" / "gradient-desktop")
    assert out[2] == "True"
    # ...and the environment running the tests still has its own install.
    shown = subprocess.run(
        [sys.executable, "-m", "pip", "show", "-q", "gradient-desktop"], capture_output=True
    )
    assert shown.returncode == 0
