"""The alert history as a Qt table model: one row per recorded alert, newest first, filtered in
Python (PITFALLS.md: no QSortFilterProxyModel), display strings computed once per reload."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from gradient_desktop.services.alert_input import priority_name
from gradient_desktop.services.alerts import status_text
from gradient_desktop.store.alerts import NEEDS_YOU
from gradient_desktop.store.models import AlertEntry, AlertState
from gradient_desktop.ui.qt import ModelIndex, QtCore, QtGui, QtWidgets

COLUMNS = ("Partner", "Account", "Title", "Priority", "Sent", "Status", "Ticket")

NEEDS_YOU_FILTER = "Needs you (outcome unknown, failed, refused)"
#: The state filter's choices: label -> states shown (None = all).
FILTERS: dict[str, frozenset[str] | None] = {
    "All alerts": None,
    NEEDS_YOU_FILTER: frozenset(s.value for s in NEEDS_YOU),
    "Waiting for a ticket": frozenset({"accepted", "queued", "sending"}),
    "Ticket created": frozenset({"success", "marked_sent"}),
}

_ICONS = {
    AlertState.SUCCESS: QtWidgets.QStyle.StandardPixmap.SP_DialogApplyButton,
    AlertState.MARKED_SENT: QtWidgets.QStyle.StandardPixmap.SP_DialogApplyButton,
    AlertState.FAILED: QtWidgets.QStyle.StandardPixmap.SP_MessageBoxCritical,
    AlertState.REJECTED: QtWidgets.QStyle.StandardPixmap.SP_MessageBoxCritical,
    AlertState.UNKNOWN: QtWidgets.QStyle.StandardPixmap.SP_MessageBoxWarning,
    AlertState.ACCEPTED: QtWidgets.QStyle.StandardPixmap.SP_BrowserReload,
    AlertState.QUEUED: QtWidgets.QStyle.StandardPixmap.SP_BrowserReload,
    AlertState.SENDING: QtWidgets.QStyle.StandardPixmap.SP_BrowserReload,
}


@dataclass(frozen=True, slots=True)
class HistoryRow:
    entry: AlertEntry
    cells: tuple[str, ...]
    tip: str
    haystack: str


def _row(entry: AlertEntry, partner: str) -> HistoryRow:
    sent = f"{entry.sent_at.astimezone():%Y-%m-%d %H:%M}" if entry.sent_at else "not sent"
    cells = (
        partner,
        entry.account_id,
        entry.title,
        priority_name(entry.priority),
        sent,
        status_text(entry),
        entry.ticket_id or "",
    )
    tip_lines = []
    if entry.reason:
        tip_lines.append(entry.reason)
    if entry.errors:
        tip_lines.append("Gradient said: " + "; ".join(json.loads(entry.errors)))
    if entry.note:
        tip_lines.append(f"Your decision: {entry.note}")
    if entry.ticket_id:
        tip_lines.append(f"PSA ticket {entry.ticket_id}")
    tip_lines.append(f"Alert id {entry.alert_id}")
    return HistoryRow(entry, cells, "\n".join(tip_lines), " ".join(cells).lower())


class AlertHistoryModel(QtCore.QAbstractTableModel):
    """Rows of ``AlertEntry``; ``set_rows`` replaces them, ``set_filter`` narrows them."""

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._all: list[HistoryRow] = []
        self._shown: list[HistoryRow] = []
        self._text = ""
        self._states: frozenset[str] | None = None

    # -- data in ---------------------------------------------------------------------------

    def set_rows(self, entries: Sequence[AlertEntry], partner_names: dict[int, str]) -> None:
        self._all = [_row(e, partner_names.get(e.partner_id, "?")) for e in entries]
        self._apply()

    def set_filter(self, text: str, states: frozenset[str] | None) -> None:
        self._text, self._states = text.strip().lower(), states
        self._apply()

    def _apply(self) -> None:
        self.beginResetModel()
        self._shown = [
            r
            for r in self._all
            if (self._states is None or r.entry.state in self._states)
            and (not self._text or self._text in r.haystack)
        ]
        self.endResetModel()

    # -- data out --------------------------------------------------------------------------

    def entry(self, row: int) -> AlertEntry | None:
        return self._shown[row].entry if 0 <= row < len(self._shown) else None

    def tip_for(self, entry: AlertEntry) -> str:
        """The details line of an alert: why it failed, what the user decided, its id."""
        row = next((r for r in self._shown if r.entry.alert_id == entry.alert_id), None)
        return "" if row is None else row.tip.replace("\n", " · ")

    def entries(self) -> list[AlertEntry]:
        return [r.entry for r in self._shown]

    def rowCount(self, parent: ModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._shown)

    def columnCount(self, parent: ModelIndex | None = None) -> int:
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: QtCore.Qt.Orientation, role: int = 0) -> object:
        if (
            role == QtCore.Qt.ItemDataRole.DisplayRole
            and orientation == QtCore.Qt.Orientation.Horizontal
        ):
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return None

    def data(self, index: ModelIndex, role: int = 0) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._shown):
            return None
        row = self._shown[index.row()]
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return row.cells[index.column()]
        if role == QtCore.Qt.ItemDataRole.ToolTipRole:
            return row.tip
        if role == QtCore.Qt.ItemDataRole.DecorationRole and index.column() == 5:
            pixmap = _ICONS.get(AlertState(row.entry.state))
            if pixmap is not None:
                return QtWidgets.QApplication.style().standardIcon(pixmap)
        if role == QtCore.Qt.ItemDataRole.FontRole and row.entry.state == AlertState.UNKNOWN:
            font = QtGui.QFont()
            font.setBold(True)
            return font
        return None


def history_view(model: AlertHistoryModel) -> QtWidgets.QTableView:
    """The history table: whole rows, one at a time; the title takes the width that is left so
    the status and ticket columns stay in view; the partner column only for "All partners"."""
    table = QtWidgets.QTableView()
    table.setModel(model)
    table.setAccessibleName("Alert history")
    table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
    table.setAlternatingRowColors(True)
    table.verticalHeader().hide()
    table.setWordWrap(False)
    for col, width in enumerate((160, 90, 200, 70, 115, 190, 65)):
        table.setColumnWidth(col, width)
    header = table.horizontalHeader()
    header.setSectionResizeMode(2, QtWidgets.QHeaderView.ResizeMode.Stretch)
    header.setMinimumSectionSize(60)
    table.setColumnHidden(0, True)
    return table
