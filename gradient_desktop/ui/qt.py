"""The one seam through which the app imports Qt and qasync.

qasync picks the first importable binding (PyQt6, PyQt5, PySide6): setting ``QT_API`` and importing
PySide6 first makes sure it drives PySide6 (qasync#23). Version workarounds live here too.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

os.environ.setdefault("QT_API", "pyside6")

import PySide6
from PySide6 import QtCore, QtGui, QtWidgets

if TYPE_CHECKING:  # at run time these come from __getattr__ below, on first use
    from qasync import asyncClose, asyncSlot

    from gradient_desktop.ui.qloop import QEventLoop

__all__ = [
    "PYSIDE_VERSION",
    "ModelIndex",
    "QEventLoop",
    "QtCore",
    "QtGui",
    "QtWidgets",
    "asyncClose",
    "asyncSlot",
    "qasync_crash_risk",
]

#: The index type of item-model overrides (``data``, ``flags``, ``rowCount``...): Qt passes a
#: QModelIndex, and PySide6's stubs declare the parameter as either kind.
ModelIndex = QtCore.QModelIndex | QtCore.QPersistentModelIndex

PYSIDE_VERSION = tuple(int(p) for p in PySide6.__version__.split(".")[:3])


def qasync_crash_risk() -> bool:
    """True on the combination measured to abort qasync apps (PySide6 6.12.0 on CPython 3.11).

    Every event queued through Qt drops one reference to ``None`` there, and after a few thousand
    timer events the interpreter dies with ``Fatal Python error: none_dealloc``.
    """
    return (
        PYSIDE_VERSION[:2] == (6, 12) and PYSIDE_VERSION[2] == 0 and sys.version_info[:2] == (3, 11)
    )


def __getattr__(name: str) -> object:
    """``QEventLoop`` (qasync's loop with asyncio-style scheduling, ui/qloop.py), ``asyncSlot``
    and ``asyncClose`` on first use: qasync brings asyncio (~70 ms of imports together), which
    the window's first paint does not need (issue 16's cold start)."""
    if name == "QEventLoop":
        from gradient_desktop.ui.qloop import QEventLoop

        return QEventLoop
    if name in ("asyncSlot", "asyncClose"):
        import qasync

        return getattr(qasync, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
