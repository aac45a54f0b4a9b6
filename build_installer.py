#!/usr/bin/env python3
"""Build a self-contained Gradient Desktop for the machine this runs on (PyInstaller one-folder).

    .venv/bin/python -m pip install -e '.[build]'     # PyInstaller
    .venv/bin/python build_installer.py               # dist/gradient-desktop/ (+ a .tar.gz on Linux)
    .venv/bin/python build_installer.py --smoke-test  # ... then start the frozen app headless

The bundle holds the app, the CLI and the embedded Gradient sandbox (its seed data is generated
in code), plus ``resources/`` (icons, the .desktop template). One-folder rather than one-file:
it starts without unpacking to a temp dir each time (what qutebrowser and Electrum ship).
Known PySide6 bundling bugs (a missing platform plugin, pyinstaller#5414; lost keyring backends,
jaraco/keyring#324) only show when the frozen program runs, hence ``--smoke-test``.

Exit codes: 0 built (and smoke-tested when asked), 1 the build or the smoke test failed,
2 bad usage or PyInstaller missing.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent
NAME = "gradient-desktop"

# Modules the app never imports but that hooks or optional imports would drag in. PySide6-
# Essentials has no WebEngine; the rest are Qt modules pyqtgraph tries optionally, other Qt
# bindings, and developer tools that may sit in the same venv.
EXCLUDES = [
    "tkinter",
    "_tkinter",
    "PyQt5",
    "PyQt6",
    "PySide2",
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets",
    "PySide6.QtWebEngineQuick",
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtQuickWidgets",
    "PySide6.QtQuickControls2",
    "PySide6.QtQuickTest",
    "PySide6.QtNetwork",
    "PySide6.QtOpenGL",
    "PySide6.QtOpenGLWidgets",
    "PySide6.QtTest",
    "PySide6.QtSql",
    "PySide6.QtDesigner",
    "PySide6.QtHelp",
    "PySide6.QtUiTools",
    "PySide6.QtPdf",
    "PySide6.QtCharts",
    "PySide6.QtMultimedia",
    "PySide6.Qt3DCore",
    "pyqtgraph.opengl",
    "pyqtgraph.examples",
    "pyqtgraph.jupyter",
    "OpenGL",
    "matplotlib",
    "scipy",
    "pandas",
    "IPython",
    "jupyter_rfb",
    "pytest",
    "_pytest",
    "hypothesis",
    "pytestqt",
    "PyInstaller",
    "setuptools",
    "pip",
]

# Bundled files dropped after analysis (destination path prefixes inside the bundle). The UI is
# English only, so Qt's translations are dead weight; QML/Quick come in through plugins we
# never load.
PRUNE_PREFIXES = [
    "PySide6/Qt/translations/",
    "PySide6/Qt/qml/",
    "PySide6/Qt/plugins/qmltooling/",
    "PySide6/Qt/plugins/designer/",
    "PySide6/Qt/plugins/sqldrivers/",
    "PySide6/Qt/plugins/networkinformation/",
    "PySide6/Qt/plugins/tls/",
]


# The body of the generated spec; the parameters above it are written by write_spec().
SPEC_BODY = r"""
import os
import subprocess
import sys

from PyInstaller.utils.hooks import collect_submodules

hidden = collect_submodules("gradient_desktop")  # pages are imported by name (importlib)
hidden += collect_submodules("keyring.backends")  # backends are found via entry points
hidden += collect_submodules("uvicorn")  # protocol and loop modules are imported by name
hidden += ["secretstorage", "jeepney"]

a = Analysis([LAUNCHER], pathex=[ROOT], datas=DATAS, hiddenimports=hidden, excludes=EXCLUDES)


def dest(entry):
    return entry[0].replace("\\", "/")


def keep(entry):
    return not any(dest(entry).startswith(p) for p in PRUNE)


a.datas = [d for d in a.datas if keep(d)]
a.binaries = [b for b in a.binaries if keep(b)]


# Qt's GTK3 platform theme drags in the build machine's whole GTK stack (~20 MB), which must
# match the user's GTK theme modules anyway; we draw with Fusion, so drop it and what only it
# needs (found with ldd, so the list follows whatever this distribution links).
def ldd(path):
    try:
        out = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    return {line.split()[0] for line in out.splitlines() if line.strip()}


if sys.platform.startswith("linux"):
    gtk = [b for b in a.binaries if dest(b).endswith("platformthemes/libqgtk3.so")]
    if gtk:
        needed = ldd(gtk[0][1])
        others = set()
        for b in a.binaries:
            if b not in gtk and os.path.basename(dest(b)) not in needed:
                others |= ldd(b[1])
        only_gtk = needed - others
        a.binaries = [
            b for b in a.binaries if b not in gtk and os.path.basename(dest(b)) not in only_gtk
        ]

pyz = PYZ(a.pure)
exe = EXE(
    pyz,
    a.scripts,
    [],
    exclude_binaries=True,
    name=NAME,
    console=True,  # the same executable is the CLI: it must keep stdout and stderr
    icon=ICON,
    upx=False,
)
coll = COLLECT(exe, a.binaries, a.datas, name=NAME, upx=False)
"""


def read_version(pyproject: Path = ROOT / "pyproject.toml") -> str:
    with pyproject.open("rb") as fh:
        return str(tomllib.load(fh)["project"]["version"])


def arch() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine or "unknown")


def executable(dist_dir: Path) -> Path:
    suffix = ".exe" if sys.platform == "win32" else ""
    return dist_dir / NAME / f"{NAME}{suffix}"


def _resource_datas() -> list[tuple[str, str]]:
    """(source, destination folder) for every file under resources/ except the generator script."""
    out = []
    for path in sorted((ROOT / "resources").rglob("*")):
        if (
            path.is_file()
            and path.suffix not in (".py", ".pyc")
            and "__pycache__" not in path.parts
        ):
            dest = Path("resources") / path.relative_to(ROOT / "resources").parent
            out.append((str(path), dest.as_posix()))
    return out


def write_spec(work: Path, version: str) -> Path:
    """Generate the PyInstaller spec (a spec, not flags, so analysed files can be pruned)."""
    launcher = work / "launcher.py"
    launcher.write_text(
        '"""Entry point of the frozen app: the same as the gradient-desktop command."""\n'
        "from gradient_desktop.cli import main\n\n"
        "raise SystemExit(main())\n",
        encoding="utf-8",
    )
    icon = ROOT / "resources" / "icons" / f"{NAME}.ico"
    params = {
        "LAUNCHER": str(launcher),
        "ROOT": str(ROOT),
        "NAME": NAME,
        "DATAS": _resource_datas(),
        "EXCLUDES": EXCLUDES,
        "PRUNE": PRUNE_PREFIXES,
        "ICON": str(icon) if icon.exists() else None,
    }
    header = f"# Generated by build_installer.py for {NAME} {version}; do not edit.\n"
    header += "".join(f"{k} = {v!r}\n" for k, v in params.items())
    spec = work / f"{NAME}.spec"
    spec.write_text(header + SPEC_BODY, encoding="utf-8")
    return spec


def build(dist_dir: Path, work_dir: Path, *, clean: bool, version: str) -> Path:
    work_dir.mkdir(parents=True, exist_ok=True)
    spec = write_spec(work_dir, version)
    cmd = [
        sys.executable,
        "-m",
        "PyInstaller",
        str(spec),
        "--noconfirm",
        "--distpath",
        str(dist_dir),
        "--workpath",
        str(work_dir / "pyinstaller"),
        "--log-level",
        "WARN",
    ]
    if clean:
        cmd.append("--clean")
    print("==", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)
    exe = executable(dist_dir)
    if not exe.exists():
        raise RuntimeError(f"PyInstaller finished but {exe} is missing")
    return exe


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


INSTALL_SH = """#!/bin/sh
# Install Gradient Desktop for the current user: a launcher in ~/.local/bin, the icon and a
# menu entry. Run it from the unpacked archive; re-run after moving the folder.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exe="$here/gradient-desktop/gradient-desktop"
data=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$HOME/.local/bin" "$data/applications" "$data/icons/hicolor/256x256/apps"
ln -sf "$exe" "$HOME/.local/bin/gradient-desktop"
cp "$here/gradient-desktop.png" "$data/icons/hicolor/256x256/apps/gradient-desktop.png"
sed "s|@EXEC@|$exe|g" "$here/gradient-desktop.desktop" > "$data/applications/gradient-desktop.desktop"
echo "Installed. Start it from your applications menu or run: gradient-desktop"
"""


def make_archive(dist_dir: Path, version: str) -> Path:
    """dist/gradient-desktop-<version>-linux-<arch>.tar.gz: the folder, .desktop, icon, install.sh."""
    top = f"{NAME}-{version}"
    archive = dist_dir / f"{NAME}-{version}-linux-{arch()}.tar.gz"
    with tempfile.TemporaryDirectory() as tmp:
        extras = Path(tmp)
        desktop = (ROOT / "resources" / f"{NAME}.desktop").read_text(encoding="utf-8")
        (extras / f"{NAME}.desktop").write_text(desktop, encoding="utf-8")
        shutil.copy(ROOT / "resources" / "icons" / f"{NAME}.png", extras / f"{NAME}.png")
        (extras / "install.sh").write_text(INSTALL_SH, encoding="utf-8")
        (extras / "install.sh").chmod(0o755)
        with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
            tar.add(dist_dir / NAME, arcname=f"{top}/{NAME}")
            for name in (f"{NAME}.desktop", f"{NAME}.png", "install.sh"):
                tar.add(extras / name, arcname=f"{top}/{name}")
    return archive


def _run(cmd: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def smoke_test(exe: Path, version: str) -> list[str]:
    """Start the frozen app headless; return the problems found (empty when it works)."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "GRADIENT_DESKTOP_HOME": home, "QT_QPA_PLATFORM": "offscreen"}
        out = _run([str(exe), "--version"], env, 60)
        print(f"   --version: {out.stdout.strip() or out.stderr.strip()}")
        if out.returncode != 0 or version not in out.stdout:
            problems.append(
                f"--version printed {out.stdout!r} {out.stderr!r} (exit {out.returncode})"
            )
        out = _run([str(exe), "selfcheck"], env, 120)
        print("   selfcheck:\n" + "\n".join("     " + line for line in out.stdout.splitlines()))
        if out.returncode != 0:
            problems.append(f"selfcheck failed (exit {out.returncode}): {out.stderr.strip()}")
        # The GUI: QApplication, platform plugin, main window, first paint, clean exit.
        started = time.monotonic()
        out = _run([str(exe)], {**env, "GRADIENT_DESKTOP_EXIT_AFTER_PAINT": "1"}, 120)
        ok = out.returncode == 0 and "first-paint" in out.stdout
        print(
            f"   GUI first paint: {'ok' if ok else 'FAILED'} ({time.monotonic() - started:.1f} s)"
        )
        if not ok:
            problems.append(
                f"GUI did not paint (exit {out.returncode}): {out.stderr.strip()[-2000:]}"
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="build_installer.py",
        description="Build Gradient Desktop as a one-folder PyInstaller bundle in dist/ "
        "(version from pyproject.toml). On Linux also dist/gradient-desktop-<version>-linux-<arch>"
        ".tar.gz with the folder, a .desktop file, the icon and install.sh.",
        epilog="Needs PyInstaller: .venv/bin/python -m pip install -e '.[build]'",
    )
    parser.add_argument(
        "--clean",
        action="store_true",
        help="remove dist/gradient-desktop, build/installer and PyInstaller's cache first",
    )
    parser.add_argument("--no-archive", action="store_true", help="skip the Linux .tar.gz")
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="afterwards start the frozen app headless: --version, selfcheck "
        "(keyring backends, resources) and the GUI up to its first paint",
    )
    parser.add_argument(
        "--dist", type=Path, default=ROOT / "dist", help="output folder (default dist/)"
    )
    args = parser.parse_args(argv)

    if importlib.util.find_spec("PyInstaller") is None:
        print(
            "build_installer.py: PyInstaller is not installed in this Python "
            f"({sys.executable}).\nInstall it with: {sys.executable} -m pip install -e '.[build]'",
            file=sys.stderr,
        )
        return 2
    version = read_version()
    dist_dir, work_dir = args.dist.resolve(), ROOT / "build" / "installer"
    if args.clean:
        for path in (dist_dir / NAME, work_dir):
            shutil.rmtree(path, ignore_errors=True)
    print(
        f"== building {NAME} {version} for {sys.platform}-{arch()} with Python {platform.python_version()}"
    )
    started = time.monotonic()
    try:
        exe = build(dist_dir, work_dir, clean=args.clean, version=version)
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        print(f"build_installer.py: the build failed: {exc}", file=sys.stderr)
        return 1
    size = folder_size(exe.parent)
    print(f"== built {exe} in {time.monotonic() - started:.0f} s; folder {size / 1e6:.0f} MB")
    if sys.platform.startswith("linux") and not args.no_archive:
        archive = make_archive(dist_dir, version)
        print(f"== archive {archive} ({archive.stat().st_size / 1e6:.0f} MB)")
    if args.smoke_test:
        print("== smoke test (headless)")
        problems = smoke_test(exe, version)
        if problems:
            print(
                "build_installer.py: the smoke test failed:\n  " + "\n  ".join(problems),
                file=sys.stderr,
            )
            return 1
        print("== smoke test passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
