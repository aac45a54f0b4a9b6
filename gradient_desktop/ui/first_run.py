"""The first-run screen: shown over the main window while no partner exists, it offers the two
ways in — "Try the demo" (the embedded sandbox, nothing leaves the computer) and "Connect a
partner" (the setup wizard) — and hands off to the Partners view for either.

It is a window-modal dialog opened with ``open()`` (never ``exec()``, qasync#59) so the main
window paints behind it, and the chosen action runs after it has closed.
"""

from __future__ import annotations

import logging
from typing import Any

from gradient_desktop.secrets import keyring_instructions
from gradient_desktop.ui import theme
from gradient_desktop.ui.geometry import available_geometry
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets
from gradient_desktop.ui.theme import BADGE_COLORS

log = logging.getLogger(__name__)


def _badge(kind: str, size: int = 32) -> QtGui.QIcon:
    """A round accent badge with a white "play" (demo) or "plus" (connect) mark."""
    ratio = 2  # drawn at 2x so it stays crisp on high-DPI screens
    pix = QtGui.QPixmap(size * ratio, size * ratio)
    pix.fill(QtCore.Qt.GlobalColor.transparent)
    p = QtGui.QPainter(pix)
    p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    s = float(size * ratio)
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    p.setBrush(QtGui.QColor(BADGE_COLORS[kind]))
    p.drawEllipse(QtCore.QRectF(0, 0, s, s))
    p.setBrush(QtGui.QColor(BADGE_COLORS["mark"]))
    if kind == "demo":
        p.drawPolygon(
            QtGui.QPolygonF(
                [
                    QtCore.QPointF(s * 0.38, s * 0.27),
                    QtCore.QPointF(s * 0.38, s * 0.73),
                    QtCore.QPointF(s * 0.76, s * 0.5),
                ]
            )
        )
    else:
        w = s * 0.12
        p.drawRoundedRect(QtCore.QRectF(s * 0.26, s * 0.5 - w / 2, s * 0.48, w), w / 3, w / 3)
        p.drawRoundedRect(QtCore.QRectF(s * 0.5 - w / 2, s * 0.26, w, s * 0.48), w / 3, w / 3)
    p.end()
    pix.setDevicePixelRatio(ratio)
    return QtGui.QIcon(pix)


class FirstRunScreen(QtWidgets.QWidget):
    """The welcome content: icon, a sentence on what the app does, the two choices."""

    demo_requested = QtCore.Signal()
    connect_requested = QtCore.Signal()
    dismissed = QtCore.Signal()

    def __init__(
        self, parent: QtWidgets.QWidget | None = None, keyring_problem: str | None = None
    ) -> None:
        super().__init__(parent)
        self.setAccessibleName("Welcome")
        icon = QtWidgets.QLabel()
        app_icon = QtWidgets.QApplication.windowIcon()
        if not app_icon.isNull():
            icon.setPixmap(app_icon.pixmap(80, 80))
        icon.setAlignment(QtCore.Qt.AlignmentFlag.AlignHCenter)

        title = QtWidgets.QLabel("<h1>Welcome to Gradient Desktop</h1>")
        title.setAlignment(QtCore.Qt.AlignmentFlag.AlignHCenter)
        intro = QtWidgets.QLabel(
            "Connect your product to Gradient MSP's billing: publish your customers as "
            "accounts, map them to each partner's Gradient clients and push usage counts "
            "that bill through their PSA."
        )
        intro.setWordWrap(True)
        intro.setAlignment(QtCore.Qt.AlignmentFlag.AlignHCenter)

        self.demo_button = QtWidgets.QCommandLinkButton(
            "Try the demo",
            "Explore every step with a built-in Gradient sandbox and a sample partner. "
            "Nothing leaves this computer; no keys needed.",
        )
        self.demo_button.setAccessibleName("Try the demo")
        self.demo_button.setIcon(_badge("demo"))
        self.demo_button.setIconSize(QtCore.QSize(32, 32))
        self.demo_button.setShortcut(QtGui.QKeySequence("Alt+D"))
        self.demo_button.clicked.connect(self.demo_requested)
        self.connect_button = QtWidgets.QCommandLinkButton(
            "Connect a partner",
            "Enter your vendor API key and a partner's API key (Synthesize → Integrations → "
            "Generate API Tokens). Keys are kept in your system keyring.",
        )
        self.connect_button.setAccessibleName("Connect a partner")
        self.connect_button.setIcon(_badge("connect"))
        self.connect_button.setIconSize(QtCore.QSize(32, 32))
        self.connect_button.setShortcut(QtGui.QKeySequence("Alt+C"))
        self.connect_button.clicked.connect(self.connect_requested)
        self.later_button = QtWidgets.QPushButton("Not now")
        self.later_button.setFlat(True)
        self.later_button.setAccessibleName("Not now")
        self.later_button.clicked.connect(self.dismissed)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(36, 28, 36, 20)
        layout.setSpacing(10)
        layout.addWidget(icon)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addSpacing(10)
        layout.addWidget(self.demo_button)
        layout.addWidget(self.connect_button)
        # Said before the user types a key the app could not keep (the README promises it).
        self.keyring_warning = QtWidgets.QLabel()
        self.keyring_warning.setWordWrap(True)
        self.keyring_warning.setAccessibleName("Keyring warning")
        self.keyring_warning.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )
        theme.tint(self.keyring_warning, "warning")
        if keyring_problem:
            self.keyring_warning.setText(
                f"⚠ Keys for a real partner cannot be saved on this computer yet "
                f"({keyring_problem}). The demo works without them. To connect a partner, "
                "install and unlock a system keyring (gnome-keyring or KeePassXC on Linux); "
                "the details are in this line's tooltip."
            )
            self.keyring_warning.setToolTip(keyring_instructions())
        self.keyring_warning.setVisible(bool(keyring_problem))
        layout.addWidget(self.keyring_warning)
        layout.addSpacing(6)
        later_row = QtWidgets.QHBoxLayout()
        hint = QtWidgets.QLabel("Both stay available in the File menu.")
        theme.tint(hint, "muted")  # secondary, yet readable (a disabled label is too faint)
        later_row.addWidget(hint, 1)
        later_row.addWidget(self.later_button)
        layout.addLayout(later_row)
        self.demo_button.setFocus()


class FirstRunDialog(QtWidgets.QDialog):
    """``FirstRunScreen`` over the main window; ``choice`` is "demo", "connect" or "later"."""

    chosen = QtCore.Signal(str)

    def __init__(
        self, parent: QtWidgets.QWidget | None = None, keyring_problem: str | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome — Gradient Desktop")
        self.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        self.choice: str | None = None
        self.screen_ = FirstRunScreen(self, keyring_problem)
        self.screen_.demo_requested.connect(lambda: self._choose("demo"))
        self.screen_.connect_requested.connect(lambda: self._choose("connect"))
        self.screen_.dismissed.connect(lambda: self._choose("later"))
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.screen_)
        # No taller than the screen (a 200 %-scaled laptop has 540 logical pixels).
        available = available_geometry(parent or self)
        self.resize(580, min(self.sizeHint().height(), int(available.height() * 0.95)))

    def _choose(self, choice: str) -> None:
        self.choice = choice
        self.done(
            QtWidgets.QDialog.DialogCode.Rejected
            if choice == "later"
            else QtWidgets.QDialog.DialogCode.Accepted
        )
        self.chosen.emit(choice)

    def reject(self) -> None:  # Esc or the close button = "Not now"
        if self.choice is None:
            self.choice = "later"
            super().reject()
            self.chosen.emit("later")
        else:
            super().reject()


def keyring_problem(ctx: Any) -> str | None:
    """Why no key could be saved here (no usable keyring backend), or None. Looks at the
    backend keyring chose without calling it: a call could block on an unlock prompt."""
    from gradient_desktop.secrets import unusable_reason

    return unusable_reason(ctx.secrets.backend)


def needs_first_run(ctx: Any) -> bool:
    """True while no partner (demo or real) exists."""
    from gradient_desktop.services.partners import PartnerDirectory

    return not PartnerDirectory(ctx).list()


def act_on(window: Any, choice: str) -> None:
    """Run the chosen action on the window's Partners view (the only two calls we make)."""
    settings = window.ctx.settings
    if choice in ("demo", "connect"):
        settings.first_run_done = True
        try:
            settings.save()
        except OSError as exc:
            log.warning("settings not saved: %s", exc)
    if choice == "demo":
        window.partners_view.open_demo()
    elif choice == "connect":
        window.partners_view.connect_partner()


def show_first_run(window: Any, *, force: bool = False) -> FirstRunDialog | None:
    """Open the first-run screen over ``window`` when no partner exists (or ``force``)."""
    if not force and not needs_first_run(window.ctx):
        return None
    dialog = FirstRunDialog(window, keyring_problem(window.ctx))
    dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    # Act once the dialog is gone, from the event loop: the wizard may open its own window.
    dialog.chosen.connect(
        lambda choice: QtCore.QTimer.singleShot(0, window, lambda: act_on(window, choice))
    )
    window._first_run_dialog = dialog
    dialog.open()
    return dialog
