"""Helpers of ``build_installer.py`` that know nothing of Gradient Desktop's code: the generated
PyInstaller spec, the build plan of each target OS, and the Linux, Windows and macOS packaging
steps. Kept out of ``gradient_desktop/`` (it is not installed) and pure where possible, so the
Windows and macOS branches can be tested on Linux.
"""

from __future__ import annotations

#: File-system name: the executable, the bundle folder, the archives.
NAME = "gradient-desktop"
#: What users see: menus, the Start menu, the Dock, the installer's title.
APP_NAME = "Gradient Desktop"
#: Reverse-DNS id of the app (macOS bundle id, AppStream id). A placeholder domain: a vendor
#: shipping its own build under its own certificate changes it here, in one place.
APP_ID = "io.github.gradientdesktop.GradientDesktop"
#: Windows: the GUI executable (no console window when started from the Start menu). The
#: console executable ``gradient-desktop.exe`` beside it stays the CLI.
WINDOWS_GUI_EXE = f"{APP_NAME}.exe"
TARGETS = ("linux", "win32", "darwin")
