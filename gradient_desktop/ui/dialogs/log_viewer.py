"""The log viewer: the current rotating log file (keys already masked by ``logsetup``, and
masked again here in case a file predates a key's registration), with a text filter, a minimum
level, Reload, Copy and Open log folder.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from gradient_desktop.config import log_dir
from gradient_desktop.logsetup import LOG_FILENAME, redact
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# The level column of logsetup.LOG_FORMAT: "<date> <time> LEVEL    name [thread] message".
_LEVEL_RE = re.compile(r"^\S+ \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL)\b")
MAX_BYTES = 2_000_000  # a rotating file is at most 1 MB; read a little more if someone changed it


def read_log(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """The last ``max_bytes`` of ``path``, redacted; empty when there is no log yet."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read()
    except FileNotFoundError:
        return ""
    text = data.decode("utf-8", errors="replace")
    if size > max_bytes:
        text = text.split("\n", 1)[-1]  # drop the partial first line
    return redact(text)


def filter_lines(text: str, needle: str = "", min_level: str = "DEBUG") -> list[str]:
    """Lines containing ``needle`` (case-insensitive) at ``min_level`` or above.

    Continuation lines (tracebacks) belong to the record above them and go with it.
    """
    lowest = LEVELS.index(min_level) if min_level in LEVELS else 0
    needle = needle.casefold()
    out: list[str] = []
    record: list[str] = []
    keep_level = True

    def flush() -> None:
        if record and keep_level and (not needle or any(needle in r.casefold() for r in record)):
            out.extend(record)

    for line in text.splitlines():
        m = _LEVEL_RE.match(line)
        if m:
            flush()
            record = [line]
            keep_level = LEVELS.index(m.group(1)) >= lowest
        else:
            record.append(line)
    flush()
    return out


class LogViewer(QtWidgets.QDialog):
    def __init__(self, path: Path | None = None, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path or (log_dir(ensure=False) / LOG_FILENAME)
        self.setWindowTitle("Log — Gradient Desktop")
        self.setAccessibleName("Log viewer")
        self._text = ""

        self.filter_edit = QtWidgets.QLineEdit()
        self.filter_edit.setPlaceholderText("Filter: show records containing…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAccessibleName("Filter log lines")
        self.level = QtWidgets.QComboBox()
        self.level.addItems(list(LEVELS))
        self.level.setAccessibleName("Minimum level")
        self.level.setToolTip("Show records at this level and above")
        filter_label = QtWidgets.QLabel("&Filter:")
        filter_label.setBuddy(self.filter_edit)
        level_label = QtWidgets.QLabel("&Level:")
        level_label.setBuddy(self.level)

        self.view = QtWidgets.QPlainTextEdit()
        self.view.setReadOnly(True)
        self.view.setLineWrapMode(QtWidgets.QPlainTextEdit.LineWrapMode.NoWrap)
        self.view.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont))
        self.view.setAccessibleName("Log lines")
        self.status = QtWidgets.QLabel()

        # Typing re-filters after a short pause, so a big log does not lag every keystroke.
        self._debounce = QtCore.QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self.apply_filter)
        self.filter_edit.textChanged.connect(self._debounce.start)
        self.level.currentTextChanged.connect(self.apply_filter)

        reload_button = QtWidgets.QPushButton("&Reload")
        reload_button.setShortcut(QtGui.QKeySequence.StandardKey.Refresh)
        reload_button.clicked.connect(self.reload)
        copy_button = QtWidgets.QPushButton("&Copy shown lines")
        copy_button.clicked.connect(self.copy_shown)
        folder_button = QtWidgets.QPushButton("&Open log folder")
        folder_button.clicked.connect(self.open_folder)
        close = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)

        top = QtWidgets.QHBoxLayout()
        top.addWidget(filter_label)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(level_label)
        top.addWidget(self.level)
        bottom = QtWidgets.QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(reload_button)
        bottom.addWidget(copy_button)
        bottom.addWidget(folder_button)
        bottom.addWidget(close)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)
        self.resize(960, 560)
        self.reload()

    def reload(self) -> None:
        for handler in logging.getLogger().handlers:
            handler.flush()  # show what was logged up to this click
        self._text = read_log(self.path)
        self.apply_filter()

    def apply_filter(self) -> None:
        lines = filter_lines(self._text, self.filter_edit.text().strip(), self.level.currentText())
        self.view.setPlainText("\n".join(lines))
        # Newest records are at the bottom: show them, from the start of the line.
        self.view.moveCursor(QtGui.QTextCursor.MoveOperation.End)
        self.view.moveCursor(QtGui.QTextCursor.MoveOperation.StartOfBlock)
        self.view.horizontalScrollBar().setValue(0)
        total = len(self._text.splitlines())
        if not self._text:
            self.status.setText(f"No log yet at {self.path}")
        else:
            self.status.setText(f"{len(lines)} of {total} lines · {self.path}")

    def shown_text(self) -> str:
        return self.view.toPlainText()

    def copy_shown(self) -> None:
        QtGui.QGuiApplication.clipboard().setText(self.shown_text())

    def open_folder(self) -> None:
        from gradient_desktop.ui.dialogs.settings import open_folder

        open_folder(self.path.parent)
