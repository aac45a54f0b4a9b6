"""The source editor's "Rows are alerts" part: a source whose rows become tickets on the
partner's PSA (``services/alert_sources.py``) instead of unit counts, and which column holds
which alert field. Added to the editor with a few lines, so a saved alert source keeps being one
when it is edited in the app."""

from __future__ import annotations

from gradient_desktop.services.sources.config import ALERT_FIELDS, SourceConfig
from gradient_desktop.ui.qt import QtCore, QtWidgets


def parse_fields(text: str) -> dict[str, str]:
    """ "key=event_id, priority=prio" → {"key": "event_id", "priority": "prio"}; ValueError
    names the first part that is not FIELD=COLUMN with a known FIELD."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, column = part.partition("=")
        if not sep or name.strip() not in ALERT_FIELDS or not column.strip():
            raise ValueError(
                f"{part!r}: write FIELD=COLUMN, FIELD one of {', '.join(ALERT_FIELDS)}"
            )
        out[name.strip()] = column.strip()
    return out


class AlertSourceBox(QtWidgets.QGroupBox):
    changed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Rows are &alerts (each becomes a ticket on the partner's PSA)", parent)
        self.setCheckable(True)
        self.setChecked(False)
        self.setToolTip(
            "Sent by the same sync as the usage. A file source on a folder reads every .json "
            "file in it as events. Each event is sent once: map key to its own id."
        )
        self.columns = QtWidgets.QLineEdit()
        self.columns.setAccessibleName("Alert columns")
        self.columns.setPlaceholderText(
            "optional, e.g. key=event_id, priority=severity (others by their usual names)"
        )
        self.hint = QtWidgets.QLabel(
            "Fields: " + ", ".join(ALERT_FIELDS) + ". Found by their usual names (accountId, "
            "title, description, priority, dueDateTime, serviceId, partner, eventId) unless "
            "mapped here."
        )
        self.hint.setWordWrap(True)
        form = QtWidgets.QFormLayout(self)
        form.addRow("&Columns", self.columns)
        form.addRow(self.hint)
        self.toggled.connect(lambda _on: self.changed.emit())
        self.columns.textChanged.connect(lambda _t: self.changed.emit())

    def values(self) -> tuple[str, dict[str, str]]:
        """(emits, alert_fields) of the SourceConfig; ValueError for columns it cannot read."""
        if not self.isChecked():
            return "usage", {}
        return "alerts", parse_fields(self.columns.text())

    def load(self, config: SourceConfig) -> None:
        self.setChecked(config.emits_alerts)
        self.columns.setText(", ".join(f"{k}={v}" for k, v in config.alert_fields.items()))
