"""The Settings dialog: edits ``config.Settings`` (default concurrency, timeout, log level,
theme) and shows, read-only, where the data and logs live and which keyring holds the keys.

OK saves ``settings.json`` and applies at once: the theme repaints, the log level changes the
running log, and the next request uses the new timeout and proxy (calls under way finish as
they are).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from gradient_desktop.config import LOG_LEVELS, THEMES, Settings, data_dir, log_dir
from gradient_desktop.ui.dialogs.proxy_box import ProxyBox
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets

log = logging.getLogger(__name__)

THEME_LABELS = {"system": "Follow the system", "light": "Light", "dark": "Dark"}


def open_folder(path: Path) -> bool:
    """Open ``path`` in the file manager; False when the desktop could not do it."""
    path.mkdir(parents=True, exist_ok=True)
    return QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(path)))


def apply_log_level(level: str) -> None:
    """Change the level of the running log, if the app's file logging is set up."""
    from gradient_desktop.logsetup import setup_logging

    ours = [h for h in logging.getLogger().handlers if getattr(h, "_gradient_desktop", False)]
    if ours:
        # setup_logging replaces its own handlers, so calling it again does not stack them.
        setup_logging(level, log_dir())
        log.info("log level set to %s", level)


def keyring_status(ctx: Any) -> tuple[str, str]:
    """(backend name, one sentence on whether it can be used right now)."""
    from gradient_desktop.secrets import SecretStoreError

    secrets = ctx.secrets
    name = secrets.backend_name()
    try:
        secrets.check_backend()
    except SecretStoreError as exc:
        return name, f"Not usable: {exc}"
    return name, "Ready: keys are stored here, never in a file."


class SettingsDialog(QtWidgets.QDialog):
    """Edits ``ctx.settings``; emits ``applied(Settings)`` after saving."""

    applied = QtCore.Signal(object)

    def __init__(self, ctx: Any, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Settings")
        self.setAccessibleName("Settings")
        s: Settings = ctx.settings

        self.concurrency = QtWidgets.QSpinBox()
        self.concurrency.setRange(0, Settings.MAX_CONCURRENCY)
        # 0: the push chooses from the latency it sees (Little's law).
        self.concurrency.setSpecialValueText("Automatic")
        self.concurrency.setValue(int(s.default_concurrency))
        self.concurrency.setAccessibleName("Default concurrency")
        self.concurrency.setToolTip(
            "Requests in flight while pushing counts. Automatic chooses from the network's "
            "delay so pushes run near Gradient's 100 requests per second."
        )
        self.timeout = QtWidgets.QDoubleSpinBox()
        self.timeout.setRange(1.0, 600.0)
        self.timeout.setDecimals(0)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(float(s.timeout_s))
        self.timeout.setAccessibleName("Network timeout in seconds")
        self.timeout.setToolTip("How long to wait for Gradient before a request counts as failed.")
        self.log_level = QtWidgets.QComboBox()
        self.log_level.addItems(list(LOG_LEVELS))
        self.log_level.setCurrentText(str(s.log_level).upper())
        self.log_level.setAccessibleName("Log level")
        self.log_level.setToolTip(
            "DEBUG also logs every request (keys and tokens are always masked)."
        )
        self.theme = QtWidgets.QComboBox()
        for value in THEMES:
            self.theme.addItem(THEME_LABELS.get(value, value), value)
        self.theme.setCurrentIndex(max(0, self.theme.findData(s.theme)))
        self.theme.setAccessibleName("Theme")

        behaviour = QtWidgets.QFormLayout()
        behaviour.addRow("Default &concurrency:", self.concurrency)
        behaviour.addRow("Network &timeout:", self.timeout)
        behaviour.addRow("&Log level:", self.log_level)
        behaviour.addRow("T&heme:", self.theme)
        behaviour_box = QtWidgets.QGroupBox("Behaviour")
        behaviour_box.setLayout(behaviour)
        self.proxy = ProxyBox(s)

        self.data_folder = self._readonly(str(data_dir(ensure=False)), "Data folder")
        self.log_folder = self._readonly(str(log_dir(ensure=False)), "Log folder")
        backend, status = keyring_status(ctx)
        self.keyring_backend = self._readonly(backend, "Keyring backend")
        self.keyring_note = QtWidgets.QLabel(status)
        self.keyring_note.setWordWrap(True)
        self.keyring_note.setTextInteractionFlags(
            QtCore.Qt.TextInteractionFlag.TextSelectableByMouse
        )

        places = QtWidgets.QFormLayout()
        places.addRow("Data folder:", self._with_open(self.data_folder, data_dir, "&Open folder"))
        places.addRow("Log folder:", self._with_open(self.log_folder, log_dir, "Open lo&g folder"))
        places.addRow("Keyring:", self.keyring_backend)
        places.addRow("", self.keyring_note)
        places_box = QtWidgets.QGroupBox("Where things are")
        places_box.setLayout(places)

        self.buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
            | QtWidgets.QDialogButtonBox.StandardButton.RestoreDefaults
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        restore = self.buttons.button(QtWidgets.QDialogButtonBox.StandardButton.RestoreDefaults)
        restore.clicked.connect(self.restore_defaults)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(behaviour_box)
        layout.addWidget(self.proxy)
        layout.addWidget(places_box)
        layout.addWidget(self.buttons)
        self.resize(620, self.sizeHint().height())

    def _readonly(self, text: str, name: str) -> QtWidgets.QLineEdit:
        edit = QtWidgets.QLineEdit(text)
        edit.setReadOnly(True)
        edit.setAccessibleName(name)
        edit.setCursorPosition(0)
        return edit

    def _with_open(self, edit: QtWidgets.QLineEdit, where: Any, label: str) -> QtWidgets.QWidget:
        row = QtWidgets.QWidget()
        lay = QtWidgets.QHBoxLayout(row)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(edit, 1)
        button = QtWidgets.QPushButton(label)
        button.setAccessibleName(f"{label.replace('&', '')}: {edit.accessibleName()}")
        button.clicked.connect(lambda: open_folder(where()))
        lay.addWidget(button)
        return row

    def restore_defaults(self) -> None:
        d = Settings()
        self.concurrency.setValue(d.default_concurrency)
        self.timeout.setValue(d.timeout_s)
        self.log_level.setCurrentText(d.log_level)
        self.theme.setCurrentIndex(max(0, self.theme.findData(d.theme)))
        self.proxy.restore_defaults()

    def values(self) -> dict[str, Any]:
        return {
            "default_concurrency": self.concurrency.value(),
            "timeout_s": float(self.timeout.value()),
            "log_level": self.log_level.currentText(),
            "theme": self.theme.currentData(),
            **self.proxy.values(),
        }

    def accept(self) -> None:
        if self.proxy.problem():
            return  # the box says what to fix in the proxy address
        settings: Settings = self.ctx.settings
        old_level, old_theme = settings.log_level, settings.theme
        for name, value in self.values().items():
            setattr(settings, name, value)
        try:
            settings.save()
        except OSError as exc:
            QtWidgets.QMessageBox.warning(
                self,
                "Settings not saved",
                f"The settings could not be written ({exc.strerror or exc}). Check that the "
                f"folder {settings_folder()} is writable, then try again.",
            )
            return
        if settings.log_level != old_level:
            apply_log_level(settings.log_level)
        if settings.theme != old_theme:
            from gradient_desktop.ui import theme

            manager = theme.current()
            if manager is not None:
                manager.apply(settings.theme)
        self.applied.emit(settings)
        super().accept()


def settings_folder() -> str:
    from gradient_desktop.config import config_dir

    return str(config_dir(ensure=False))
