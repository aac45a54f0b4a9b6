"""A page's message line: always there (empty or not) so showing a message never shifts the
widgets below it, plain text for information, red only for a real error, and a *kind* so a
page can clear a message once the problem it describes is gone (no stale messages)."""

from __future__ import annotations

from gradient_desktop.ui import theme
from gradient_desktop.ui.qt import QtCore, QtWidgets


class MessageLine(QtWidgets.QLabel):
    def __init__(self, name: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setAccessibleName(name)
        self.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        # Room for two lines whether or not there is a message: the grid below never moves.
        lines = 2 * self.fontMetrics().lineSpacing() + 4
        self.setFixedHeight(lines)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.kind: str | None = None
        self.error = False

    def say(self, text: str, *, error: bool = False, kind: str | None = None) -> None:
        """Show ``text``; ``kind`` names what it is about (``clear_kind`` removes it later)."""
        self.error = error and bool(text)
        self.kind = kind if text else None
        theme.tint(self, "error" if self.error else None)  # a theme token, not a style sheet
        super().setText(text)
        self.setToolTip(text if len(text) > 120 else "")

    def setText(self, text: str) -> None:  # older call sites: an error unless it is empty
        self.say(text, error=bool(text), kind="error")

    def clear(self) -> None:
        self.say("")

    def clear_kind(self, *kinds: str) -> None:
        if self.kind in kinds:
            self.clear()
