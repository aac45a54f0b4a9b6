"""The Partners view: every partner with its status, last sync and mapped accounts, and the
actions Connect, Sync now, Disconnect and Reconnect.
"""

from __future__ import annotations

import logging

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.partners import PartnerDirectory, PartnerSummary
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets
from gradient_desktop.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

STATUS_COLORS = {
    "active": "#1b8a3a",
    "pending": "#b7791f",
    "inactive": "#6b7280",
    "disconnected": "#6b7280",
    "error": "#c53030",
    "unknown": "#6b7280",
}


class PartnersView(QtWidgets.QWidget):
    partner_selected = QtCore.Signal(object)  # partner id | None

    def __init__(self, ctx: AppContext, window: QtWidgets.QMainWindow | None = None) -> None:
        super().__init__(window)
        self.ctx = ctx
        self.window_ = window
        self.tasks = TaskRunner(self)
        self.directory = PartnerDirectory(ctx)
        self._summaries: list[PartnerSummary] = []

        title = QtWidgets.QLabel("<b>Partners</b>")
        self.list = QtWidgets.QListWidget()
        self.list.setAlternatingRowColors(True)
        self.list.setAccessibleName("Partners")
        self.list.currentRowChanged.connect(self._on_row)

        self.connect_button = QtWidgets.QPushButton("Connect a partner…")
        self.connect_button.clicked.connect(self.connect_partner)
        self.demo_button = QtWidgets.QPushButton("Try the demo")
        self.demo_button.clicked.connect(self.open_demo)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.list, 1)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.connect_button)
        buttons.addWidget(self.demo_button)
        layout.addLayout(buttons)

    def reload(self) -> None:
        current = self.current_id()
        self._summaries = self.directory.summaries()
        self.list.blockSignals(True)
        self.list.clear()
        for s in self._summaries:
            synced = s.last_synced_at.strftime("%Y-%m-%d %H:%M") if s.last_synced_at else "never"
            item = QtWidgets.QListWidgetItem(
                f"{s.name}\n{s.status.upper()} · {s.mapped_accounts}/{s.accounts} mapped · synced {synced}"
            )
            item.setData(QtCore.Qt.ItemDataRole.UserRole, s.id)
            item.setForeground(QtGui.QColor(STATUS_COLORS.get(s.status, "#6b7280")))
            self.list.addItem(item)
        self.list.blockSignals(False)
        row = next((i for i, s in enumerate(self._summaries) if s.id == current), -1)
        if row < 0 and self._summaries:
            last = self.ctx.settings.last_partner
            row = next((i for i, s in enumerate(self._summaries) if s.name == last), 0)
        if row >= 0:
            self.list.setCurrentRow(row)
            if current != self._summaries[row].id:
                self.partner_selected.emit(self._summaries[row].id)
        elif current is not None:
            self.partner_selected.emit(None)

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return item.data(QtCore.Qt.ItemDataRole.UserRole) if item else None

    def _on_row(self, row: int) -> None:
        self.partner_selected.emit(self._summaries[row].id if 0 <= row < len(self._summaries) else None)

    def open_demo(self) -> None:
        from gradient_desktop.services.demo import ensure_demo_partner

        partner = ensure_demo_partner(self.ctx)
        self.reload()
        for i, s in enumerate(self._summaries):
            if s.id == partner.id:
                self.list.setCurrentRow(i)

    def connect_partner(self) -> None:
        QtWidgets.QMessageBox.information(self, "Connect a partner", "The setup wizard opens here.")
