"""The "New alert" form of the Alerts page: account, title, description, priority (by name),
PSA ticket status, optional due date and service. It only collects and checks fields; the page
sends (``services/alerts.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gradient_desktop.services.alert_input import PRIORITIES, build_alert
from gradient_desktop.store.alerts import NewAlert
from gradient_desktop.store.models import PartnerService, VendorAccount
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets


class AlertForm(QtWidgets.QGroupBox):
    """Emits ``submitted`` with a checked ``NewAlert``; shows problems under the fields."""

    submitted = QtCore.Signal(object)  # NewAlert

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("New alert", parent)
        self.account = QtWidgets.QComboBox()
        self.account.setEditable(True)
        self.account.setInsertPolicy(QtWidgets.QComboBox.InsertPolicy.NoInsert)
        self.account.setAccessibleName("Account")
        line = self.account.lineEdit()
        assert line is not None  # an editable combo box has one
        line.setPlaceholderText("vendor account id or name")
        self.title_field = QtWidgets.QLineEdit()
        self.title_field.setAccessibleName("Title")
        self.title_field.setPlaceholderText("what happened, e.g. Backup job failed")
        self.title_field.setMaxLength(255)
        self.description = QtWidgets.QPlainTextEdit()
        self.description.setAccessibleName("Description")
        self.description.setPlaceholderText("details for the technician (optional)")
        self.description.setTabChangesFocus(True)
        self.description.setMaximumHeight(90)
        self.priority = QtWidgets.QComboBox()
        self.priority.setAccessibleName("Priority")
        for number, name in PRIORITIES.items():
            self.priority.addItem(f"{number} – {name}", number)
        self.psa_status = QtWidgets.QSpinBox()
        self.psa_status.setRange(1, 6)
        self.psa_status.setAccessibleName("PSA ticket status")
        self.psa_status.setToolTip(
            "The ticket status on the partner's PSA (1–6); what each number means depends on "
            "how the MSP set up the integration. Leave 1 if unsure."
        )
        self.has_due = QtWidgets.QCheckBox("D&ue")
        self.due = QtWidgets.QDateTimeEdit()
        self.due.setCalendarPopup(True)
        self.due.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.due.setAccessibleName("Due date")
        self.due.setEnabled(False)
        self.has_due.toggled.connect(self.due.setEnabled)
        self.service = QtWidgets.QComboBox()
        self.service.setAccessibleName("Service")
        # Long account and service names must not widen the window: the combos elide instead.
        for combo in (self.account, self.service):
            combo.setSizeAdjustPolicy(
                QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(18)
        self.problem = QtWidgets.QLabel()
        self.problem.setWordWrap(True)
        self.problem.setAccessibleName("Alert problems")
        bold = self.problem.font()
        bold.setBold(True)  # palette colours only: a bold line reads in light and dark themes
        self.problem.setFont(bold)
        self.send_button = QtWidgets.QPushButton("&Send alert")
        self.send_button.setToolTip(
            "Send to Gradient, which opens a ticket on the partner's PSA (Ctrl+Enter)"
        )
        self.send_button.clicked.connect(self.submit)
        shortcut = QtGui.QShortcut(QtGui.QKeySequence("Ctrl+Return"), self)
        shortcut.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)  # not other pages
        shortcut.activated.connect(self.submit)

        form = QtWidgets.QFormLayout(self)
        form.addRow(self._label("&Account", self.account), self.account)
        form.addRow(self._label("&Title", self.title_field), self.title_field)
        form.addRow(self._label("D&escription", self.description), self.description)
        form.addRow(self._label("&Priority", self.priority), self.priority)
        form.addRow(self._label("PSA s&tatus", self.psa_status), self.psa_status)
        form.addRow(self.has_due, self.due)
        form.addRow(self._label("Ser&vice", self.service), self.service)
        form.addRow(self.problem)
        form.addRow(self.send_button)
        self.reset_due()

    @staticmethod
    def _label(text: str, buddy: QtWidgets.QWidget) -> QtWidgets.QLabel:
        label = QtWidgets.QLabel(text)
        label.setBuddy(buddy)
        return label

    # -- choices ---------------------------------------------------------------------------

    def set_choices(self, accounts: list[VendorAccount], services: list[PartnerService]) -> None:
        current = self.account_id()
        self.account.clear()
        for a in accounts:
            mapped = "" if a.is_mapped_remote else "  (not mapped yet)"
            self.account.addItem(f"{a.name} — {a.account_id}{mapped}", a.account_id)
        self.service.clear()
        self.service.addItem("No service", "")
        for s in services:
            self.service.addItem(f"{s.name} — {s.service_id}", s.service_id)
        if current:
            self.set_account(current)

    def set_account(self, account_id: str) -> None:
        index = self.account.findData(account_id)
        if index >= 0:
            self.account.setCurrentIndex(index)
        else:
            self.account.setEditText(account_id)
        line = self.account.lineEdit()
        if line is not None:
            line.setCursorPosition(0)  # show the name's start, not its tail

    def account_id(self) -> str:
        index = self.account.currentIndex()
        text = self.account.currentText().strip()
        if index >= 0 and self.account.itemText(index) == text:
            return str(self.account.itemData(index))
        return text

    def reset_due(self) -> None:
        tomorrow = datetime.now().astimezone() + timedelta(days=1)
        day, hour = (
            QtCore.QDate(tomorrow.year, tomorrow.month, tomorrow.day),
            QtCore.QTime(tomorrow.hour, 0),
        )
        self.due.setDateTime(QtCore.QDateTime(day, hour))  # local time, on the hour

    # -- submit ----------------------------------------------------------------------------

    def fields(self) -> dict[str, Any]:
        due = None
        if self.has_due.isChecked():
            chosen = self.due.dateTime().toPython()
            assert isinstance(chosen, datetime)  # a QDateTime converts to a datetime
            due = chosen.astimezone(UTC).isoformat()
        return {
            "account_id": self.account_id(),
            "title": self.title_field.text(),
            "description": self.description.toPlainText(),
            "priority": self.priority.currentData(),
            "psa_status": self.psa_status.value(),
            "due": due,
            "service_id": self.service.currentData() or None,
        }

    def build(self) -> NewAlert | None:
        try:
            alert = build_alert(self.fields())
        except ValueError as exc:
            self.show_problem(f"Not sent: {exc}.")
            return None
        self.show_problem("")
        return alert

    def submit(self) -> None:
        if not self.send_button.isEnabled():
            return
        alert = self.build()
        if alert is not None:
            self.submitted.emit(alert)

    def show_problem(self, text: str) -> None:
        self.problem.setText(f"⚠ {text}" if text else "")

    def clear_after_send(self) -> None:
        self.title_field.clear()
        self.description.clear()
        self.has_due.setChecked(False)
        self.title_field.setFocus()
