"""The About dialog: what the app is, and the versions a bug report needs (app, Python, Qt,
PySide6, httpx, the keyring backend), with a button that copies them as plain text.
"""

from __future__ import annotations

from typing import Any

from gradient_desktop.diagnostics import versions
from gradient_desktop.ui.qt import PYSIDE_VERSION, QtCore, QtGui, QtWidgets

APP_NAME = "Gradient Desktop"
BLURB = (
    "Connects your product to Gradient MSP's billing platform (Synthesize) through the "
    "Vendor API: publish accounts, map your customers to each partner's Gradient clients and "
    "push usage counts. Keys stay in your system keyring."
)


def all_versions(ctx: Any | None = None) -> dict[str, str]:
    """diagnostics.versions() with Qt's versions after Python, and the keyring this app uses."""
    base = versions()
    out: dict[str, str] = {}
    for name, value in base.items():
        out[name] = value
        if name == "Python":
            # qVersion() is the Qt library loaded at run time; QtCore.__version__ is PySide6's.
            out["Qt"] = QtCore.qVersion()
            out["PySide6"] = ".".join(map(str, PYSIDE_VERSION))
    secrets = getattr(ctx, "secrets", None)
    if secrets is not None:
        out["Keyring backend"] = secrets.backend_name()
    return out


def versions_text(ctx: Any | None = None) -> str:
    return "\n".join(f"{k}: {v}" for k, v in all_versions(ctx).items())


class AboutDialog(QtWidgets.QDialog):
    def __init__(self, ctx: Any | None = None, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(f"About {APP_NAME}")
        self.setAccessibleName(f"About {APP_NAME}")

        icon = QtWidgets.QLabel()
        app_icon = QtWidgets.QApplication.windowIcon()
        if not app_icon.isNull():
            icon.setPixmap(app_icon.pixmap(96, 96))
        icon.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)

        self.versions = all_versions(ctx)
        title = QtWidgets.QLabel(
            f"<h2 style='margin-bottom:0'>{APP_NAME}</h2>"
            f"<p style='margin-top:2px'>Version {self.versions['Gradient Desktop']}</p>"
        )
        blurb = QtWidgets.QLabel(BLURB)
        blurb.setWordWrap(True)

        self.table = QtWidgets.QFormLayout()
        self.table.setLabelAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        for name, value in self.versions.items():
            label = QtWidgets.QLabel(value)
            label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setAccessibleName(name)
            self.table.addRow(f"{name}:", label)
        box = QtWidgets.QGroupBox("Versions")
        box.setLayout(self.table)

        self.copy_button = QtWidgets.QPushButton("&Copy versions")
        self.copy_button.setToolTip("Copy these versions to paste into a bug report")
        self.copy_button.clicked.connect(self.copy_versions)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.copy_button, QtWidgets.QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)

        head = QtWidgets.QHBoxLayout()
        head.addWidget(icon)
        text = QtWidgets.QVBoxLayout()
        text.addWidget(title)
        text.addWidget(blurb)
        head.addLayout(text, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(box)
        layout.addWidget(buttons)
        self.resize(560, self.sizeHint().height())

    def copy_versions(self) -> None:
        QtGui.QGuiApplication.clipboard().setText(versions_text(self.ctx))
        self.copy_button.setText("Copied")
        # With self as context the timer dies with the dialog (it deletes itself on close).
        QtCore.QTimer.singleShot(1500, self, lambda: self.copy_button.setText("&Copy versions"))
