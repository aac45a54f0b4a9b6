"""Steps 3 and 4: the partner's name and API key (masked, with a Show toggle), then the
background authentication that sets the integration to *pending*."""

from __future__ import annotations

from gradient_desktop.api import Integration
from gradient_desktop.services.setup import WHERE_THE_KEY_IS, Step
from gradient_desktop.ui import theme
from gradient_desktop.ui.qt import QtWidgets
from gradient_desktop.ui.wizard.base import SecretField, SetupPage, busy_bar, wrap_label


class PartnerKeyPage(SetupPage):
    step = Step.PARTNER_KEY

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("The MSP you are connecting and the partner API key it gave you.", parent)
        form = QtWidgets.QFormLayout()
        self.name_edit = QtWidgets.QLineEdit()
        self.name_edit.setAccessibleName("Partner name")
        self.name_edit.setPlaceholderText("the MSP's company name")
        self.name_edit.textChanged.connect(self.completeChanged)
        self.key_field = SecretField("paste the partner API key")
        self.key_field.setAccessibleName("Partner API key")
        self.key_field.textChanged.connect(self.completeChanged)
        form.addRow("Partner &name:", self.name_edit)
        form.addRow("Partner API &key:", self.key_field)
        self.layout_.addLayout(form)
        self.layout_.addWidget(wrap_label(WHERE_THE_KEY_IS))
        self.demo_row = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(self.demo_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.new_key_button = QtWidgets.QPushButton("&Generate a new key in the sandbox")
        self.new_key_button.setToolTip(
            "Demo only: plays the MSP generating a new token in Synthesize (the old key stops "
            "working, as on Gradient)."
        )
        self.new_key_button.clicked.connect(self.generate_demo_key)
        row.addWidget(self.new_key_button)
        row.addWidget(wrap_label("Demo: the key above is the sandbox's public key."), 1)
        self.layout_.addWidget(self.demo_row)
        self.finish_layout()
        self._has_key = False

    def initializePage(self) -> None:
        defaults = self.flow.partner_defaults()
        self.name_edit.setText(defaults["name"])
        self.key_field.setText(defaults["key"])
        self._has_key = defaults["has_key"]
        self.key_field.setPlaceholderText(
            "kept in the keyring — leave empty to use it, or paste a new key"
            if self._has_key
            else "paste the partner API key"
        )
        self.demo_row.setVisible(self.flow.is_demo)

    def generate_demo_key(self) -> None:
        def make() -> None:
            self.key_field.setText(self.flow.demo_new_key())

        self.guarded(make)

    def isComplete(self) -> bool:
        return bool(self.name_edit.text().strip() and (self.key_field.text() or self._has_key))

    def validatePage(self) -> bool:
        from gradient_desktop.services.partners import PartnerExists

        return self.guarded(
            lambda: self.flow.set_partner(self.name_edit.text(), self.key_field.text() or None),
            PartnerExists,
        )


class AuthenticatePage(SetupPage):
    step = Step.AUTHENTICATE

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(
            "Checks the keys with Gradient and sets the integration to "
            "pending — what makes Next light up for the MSP in Synthesize.",
            parent,
        )
        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Authentication status")
        self.busy = busy_bar()
        row = QtWidgets.QHBoxLayout()
        self.cancel_button = QtWidgets.QPushButton("&Stop")
        self.cancel_button.clicked.connect(self.cancel_authentication)
        self.retry_button = QtWidgets.QPushButton("&Retry")
        self.retry_button.clicked.connect(self.start)
        row.addWidget(self.busy, 1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.retry_button)
        self.layout_.addWidget(self.status)
        self.layout_.addWidget(self.error_label)  # the reason right under "failed"
        self.layout_.addLayout(row)
        self.layout_.addStretch(1)
        self._ok = False

    def initializePage(self) -> None:
        self._ok = False
        self.start()

    def start(self) -> None:
        self._ok = False
        partner = self.flow.partner
        name = partner.name if partner else "the partner"
        theme.tint(self.status, None)
        self.status.setText(f"Authenticating {name} with Gradient…")
        self._set_busy(True)
        self.run(self.flow.authenticate(), self._done, self._failed, self._cancelled)

    def cancel_authentication(self) -> None:
        self.cancel()

    def _set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        # Shown only while there is something to stop: the wizard has its own Cancel, and a
        # second, greyed-out one beside it only confused (defect 13).
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self.retry_button.setEnabled(not busy)

    def _done(self, integration: Integration) -> None:
        self._set_busy(False)
        self._ok = True
        theme.tint(self.status, "ok")
        self.status.setText(
            f"✔ Connected to {integration.name or 'the partner organisation'} — status "
            f"{integration.status.upper()}. In Synthesize, Next now lights up for the MSP."
        )

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        self.status.setText("Authentication failed:")
        self.show_error(exc)

    def _cancelled(self) -> None:
        self._set_busy(False)
        self.status.setText("Cancelled. Press Retry to authenticate again.")

    def isComplete(self) -> bool:
        return self._ok and not self.running

    def validatePage(self) -> bool:
        return self.guarded(self.flow.finish_authenticate)
