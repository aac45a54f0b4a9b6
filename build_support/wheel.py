"""The app's wheel built from the checkout and installed into a scratch venv, as a user's pip
would install it: for the test that the installed app finds its icons and for the cold-start
benchmark of the installed app.

The checkout is copied first, so the build's ``build/`` and ``*.egg-info`` folders never land
in it. ``pip install --prefix`` needs ``--ignore-installed``: without it pip uninstalls the
running environment's own (editable) install of the same project before writing to the prefix.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

_NOT_IN_THE_WHEEL = (".venv", ".git", "build", "dist", "tests", "bench", "docs", "__pycache__")


def install_wheel(checkout: Path, workdir: Path, *, dependencies_from_here: bool) -> Path:
    """Build the wheel of ``checkout`` and install it into a new venv ``workdir/venv``; return
    that venv's interpreter. ``dependencies_from_here``: the venv finds this environment's
    packages through a plain path line (a ``.pth`` of one line: this environment's own ``.pth``
    files, the editable finder among them, are not run); otherwise it has the app alone."""
    src, wheels, venv = workdir / "src", workdir / "wheels", workdir / "venv"
    shutil.copytree(checkout, src, ignore=shutil.ignore_patterns(*_NOT_IN_THE_WHEEL, "*.egg-info"))

    def quiet(argv: list[str]) -> None:
        subprocess.run(argv, check=True, capture_output=True, text=True, timeout=600, cwd=workdir)

    pip = [sys.executable, "-m", "pip"]
    quiet([*pip, "wheel", "-q", "--no-deps", "-w", str(wheels), str(src)])
    quiet([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    wheel = next(wheels.glob("gradient_desktop-*.whl"))
    install = [*pip, "install", "-q", "--no-deps", "--no-index", "--ignore-installed"]
    quiet([*install, "--prefix", str(venv), str(wheel)])
    if dependencies_from_here:
        scheme = {"base": str(venv), "platbase": str(venv)}
        site = Path(sysconfig.get_path("purelib", vars=scheme))
        (site / "bench_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
