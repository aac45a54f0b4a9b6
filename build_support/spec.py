"""The PyInstaller spec ``build_installer.py`` generates: what goes into the one-folder bundle
and, per OS, the executables around it (Windows: a console CLI and a windowed GUI executable;
macOS: a ``.app`` bundle). A generated spec rather than flags, so analysed files can be pruned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from build_support import APP_ID, APP_NAME, NAME, WINDOWS_GUI_EXE
from build_support.macos import MIN_MACOS, info_plist, installed_qt_min_macos

SKIP_SUFFIXES = (".py", ".pyc", ".icns")

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
if sys.platform.startswith("linux"):
    hidden += ["secretstorage", "jeepney"]  # the Secret Service backend's own imports
if sys.platform == "win32":
    hidden += collect_submodules("win32ctypes")  # Credential Manager, via keyring's backend

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
    console=CONSOLE,  # Linux/Windows: the same executable is the CLI, it keeps stdout/stderr
    icon=ICON,
    upx=False,
)
extra = []
if GUI_EXE:
    # Windows: a second executable without a console window, for the Start menu entry.
    extra.append(
        EXE(pyz, a.scripts, [], exclude_binaries=True, name=GUI_EXE, console=False, icon=ICON,
            upx=False)
    )
coll = COLLECT(exe, *extra, a.binaries, a.datas, name=NAME, upx=False)
if APP_BUNDLE:
    # macOS: PyInstaller lays the folder out as a signable .app (code in MacOS/ and
    # Frameworks/, data in Resources/) and merges our Info.plist keys into its own.
    app = BUNDLE(
        coll,
        name=APP_BUNDLE,
        icon=ICNS,
        bundle_identifier=APP_ID,
        version=VERSION,
        info_plist=INFO_PLIST,
    )
"""


def resource_datas(root: Path) -> list[tuple[str, str]]:
    """(source, destination folder) of every file under resources/ the app reads at run time."""
    out = []
    for path in sorted((root / "resources").rglob("*")):
        # The icon generator and the macOS icon (used by the .app, not by the app) stay out.
        if path.is_file() and path.suffix not in SKIP_SUFFIXES and "__pycache__" not in path.parts:
            dest = Path("resources") / path.relative_to(root / "resources").parent
            out.append((str(path), dest.as_posix()))
    return out


def spec_params(
    target: str, version: str, root: Path, launcher: Path, min_macos: str = MIN_MACOS
) -> dict[str, Any]:
    """The values written above ``SPEC_BODY``: a pure function of the target OS."""
    icons = root / "resources" / "icons"
    return {
        "LAUNCHER": str(launcher),
        "ROOT": str(root),
        "NAME": NAME,
        "VERSION": version,
        "DATAS": resource_datas(root),
        "EXCLUDES": EXCLUDES,
        "PRUNE": PRUNE_PREFIXES,
        "ICON": str(icons / f"{NAME}.ico") if target == "win32" else None,
        # macOS builds the .app from a windowed executable (PyInstaller's supported path); it
        # still prints to a terminal when its CLI is run from one.
        "CONSOLE": target != "darwin",
        "GUI_EXE": WINDOWS_GUI_EXE.removesuffix(".exe") if target == "win32" else None,
        "APP_BUNDLE": f"{APP_NAME}.app" if target == "darwin" else None,
        "ICNS": str(icons / f"{NAME}.icns") if target == "darwin" else None,
        "APP_ID": APP_ID,
        "INFO_PLIST": info_plist(version, min_macos) if target == "darwin" else None,
    }


def write_spec(work: Path, version: str, target: str, root: Path) -> Path:
    """Write the launcher script and the spec into ``work``; return the spec's path."""
    work.mkdir(parents=True, exist_ok=True)
    launcher = work / "launcher.py"
    launcher.write_text(
        '"""Entry point of the frozen app: the same as the gradient-desktop command."""\n'
        "from gradient_desktop.cli import main\n\n"
        "raise SystemExit(main())\n",
        encoding="utf-8",
    )
    min_macos = installed_qt_min_macos() if target == "darwin" else MIN_MACOS
    params = spec_params(target, version, root, launcher, min_macos)
    header = f"# Generated by build_installer.py for {NAME} {version} ({target}); do not edit.\n"
    header += "".join(f"{k} = {v!r}\n" for k, v in params.items())
    spec = work / f"{NAME}.spec"
    spec.write_text(header + SPEC_BODY, encoding="utf-8")
    return spec
