"""The "Network" group of the Settings dialog: which proxy the app uses to reach Gradient.

Three choices, as browsers offer: the system's proxy settings (the default; environment
variables, the Windows proxy settings or the macOS network settings), no proxy, or one address
typed by the user. The address is checked before saving; secure connections always trust the
certificates installed on this computer, so there is nothing to set for a company certificate.
"""

from __future__ import annotations

from typing import Any

from gradient_desktop.api.transport import validate_proxy_url
from gradient_desktop.config import Settings
from gradient_desktop.ui.qt import QtWidgets

LABELS = {
    "system": "Use the &system proxy settings",
    "none": "&No proxy (connect directly)",
    "manual": "&Manual proxy:",
}


class ProxyBox(QtWidgets.QGroupBox):
    """Edits ``Settings.proxy_mode`` and ``Settings.proxy_url``."""

    def __init__(self, settings: Settings, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Network", parent)
        self.buttons: dict[str, QtWidgets.QRadioButton] = {}
        group = QtWidgets.QButtonGroup(self)
        for mode, label in LABELS.items():
            button = QtWidgets.QRadioButton(label)
            button.setAccessibleName(label.replace("&", "").rstrip(":"))
            group.addButton(button)
            self.buttons[mode] = button
        self.url = QtWidgets.QLineEdit()
        self.url.setPlaceholderText("http://proxy.example.com:8080")
        self.url.setAccessibleName("Manual proxy address")
        self.url.setToolTip("The proxy's address and port, as your IT team gives it.")
        self.note = QtWidgets.QLabel(
            "Secure connections trust the certificates installed on this computer, including "
            "your company's. Automatic proxy configuration scripts are not read: if your "
            "company uses one, ask IT for the proxy address and enter it here."
        )
        self.note.setWordWrap(True)
        self.error = QtWidgets.QLabel()
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Proxy address problem")
        bold = self.error.font()
        bold.setBold(True)  # set apart from the note below without a hard-coded colour
        self.error.setFont(bold)
        self.error.hide()

        manual_row = QtWidgets.QHBoxLayout()
        manual_row.addWidget(self.buttons["manual"])
        manual_row.addWidget(self.url, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.buttons["system"])
        layout.addWidget(self.buttons["none"])
        layout.addLayout(manual_row)
        layout.addWidget(self.error)
        layout.addWidget(self.note)

        self.buttons["manual"].toggled.connect(self.url.setEnabled)
        self.url.textEdited.connect(lambda _text: self.error.hide())
        self.set_values(settings.proxy_mode, settings.proxy_url)

    def set_values(self, mode: str, url: str) -> None:
        self.buttons.get(mode, self.buttons["system"]).setChecked(True)
        self.url.setText(url)
        self.url.setEnabled(self.mode() == "manual")
        self.error.hide()

    def restore_defaults(self) -> None:
        d = Settings()
        self.set_values(d.proxy_mode, d.proxy_url)

    def mode(self) -> str:
        return next((m for m, b in self.buttons.items() if b.isChecked()), "system")

    def values(self) -> dict[str, Any]:
        return {"proxy_mode": self.mode(), "proxy_url": self.url.text().strip()}

    def problem(self) -> str | None:
        """A sentence saying what to fix in the manual address (shown in the box), or None."""
        if self.mode() != "manual":
            self.error.hide()
            return None
        try:
            validate_proxy_url(self.url.text())
        except ValueError as exc:
            self.error.setText(str(exc))
            self.error.show()
            self.url.setFocus()
            self._fit_window()
            return str(exc)
        self.error.hide()
        return None

    def _fit_window(self) -> None:
        """Grow the dialog so the wrapped message is not squeezed (keeps the width)."""
        window = self.window()
        layout = window.layout()
        if layout is not None:
            layout.activate()
            needed = layout.totalHeightForWidth(window.width())
            if needed > window.height():
                window.resize(window.width(), needed)
