"""Thin table models of the Usage page over plain Python lists, with display strings computed
once per refresh (``data()`` only looks them up): the accounts × services grid, the same cells
as a flat list, the staged diff, and a generic read-only table (errors, drift, history rows).

Edits never change a model directly: ``setData`` emits ``edit_requested`` and the page turns it
into an undoable command, after which it calls ``update``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gradient_desktop.counts import Cell
from gradient_desktop.services.usage import (
    CellInfo,
    Snapshot,
    StagedEdit,
    format_amount,
)
from gradient_desktop.store.models import PartnerService
from gradient_desktop.ui import theme
from gradient_desktop.ui.qt import ModelIndex, QtCore

Qt = QtCore.Qt
Role = Qt.ItemDataRole
# Cell backgrounds are theme tokens, turned into brushes when painted (so they follow a switch
# between light and dark without rebuilding the cached cell texts).
_STAGED, _FAILED, _QUEUED = "staged_bg", "failed_bg", "queued_bg"
_ROOT = QtCore.QModelIndex()  # the invisible root: default parent of row/column counts
_STATE_WORDS = {
    "pending": "queued",
    "sending": "sending",
    "unknown": "checking",
    "failed": "failed",
    "unmapped": "unmapped",
    "cancelled": "withdrawn",
}


def change_text(edit: StagedEdit, service: PartnerService | None) -> str:
    amount = format_amount(edit.row.unit_count, service)
    return {"set": f"set {amount}", "add": f"+{amount}", "subtract": f"−{amount}"}[edit.row.op]


def diff_text(edit: StagedEdit, service: PartnerService | None) -> str:
    new = format_amount(edit.new, service) if edit.new is not None else "?"
    return f"{format_amount(edit.old, service)} → {new}"


def cell_texts(
    info: CellInfo | None, edit: StagedEdit | None, service: PartnerService
) -> tuple[str, str, str | None]:
    """(display, tooltip, background token) of one cell."""
    info = info or CellInfo()
    shown = format_amount(info.total, service) if info.total is not None else ""
    state = _STATE_WORDS.get(info.state or "")
    tip = [f"{service.name}"]
    if info.total is not None:
        when = info.at.astimezone().strftime("%Y-%m-%d %H:%M") if info.at else "?"
        tip.append(f"Last count pushed: {format_amount(info.total, service)} on {when}")
    else:
        tip.append("No count pushed yet")
    brush = None
    if state:
        shown = f"{shown} · {state}" if shown else state
        tip.append(f"Latest push: {state}" + (f" — {info.error}" if info.error else ""))
        brush = _FAILED if info.state in ("failed", "unmapped") else _QUEUED
    if edit is not None:
        shown = (
            diff_text(edit, service)
            if edit.row.op == "set"
            else f"{shown or '—'} {change_text(edit, service)}"
        )
        tip.append(
            f"Staged: {change_text(edit, service)} ({diff_text(edit, service)}); not sent yet"
        )
        brush = _STAGED
    return shown, "\n".join(tip), brush


Key = Cell  # (service_id, account_id), the one key order of a count


def structure(snap: Snapshot) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """What decides the grid's rows and columns: the accounts and the services (not the cells)."""
    services = tuple((s.service_id, s.name, s.unit_type, s.storage_unit) for s in snap.services)
    return tuple(snap.accounts), services


def changed_keys(
    old_cells: dict[Key, CellInfo],
    new_cells: dict[Key, CellInfo],
    old_staged: dict[Key, StagedEdit],
    new_staged: dict[Key, StagedEdit],
) -> list[Key]:
    """The cells whose ledger state or staged edit differs between two snapshots."""
    keys = old_cells.keys() | new_cells.keys() | old_staged.keys() | new_staged.keys()
    return [
        k
        for k in keys
        if old_cells.get(k) != new_cells.get(k) or old_staged.get(k) != new_staged.get(k)
    ]


class _Table(QtCore.QAbstractTableModel):
    """Common plumbing: headers, row/column counts, cheap lookups."""

    headers: Sequence[str] = ()
    _rows: Sequence[Any] = ()
    #: ``structure()`` of what the model shows (the grid and the list): a change means a reset.
    _shape: tuple[Any, ...] = ()

    def rowCount(self, parent: ModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: ModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Role.DisplayRole
    ) -> Any:
        if role != Role.DisplayRole or orientation != Qt.Orientation.Horizontal:
            return None
        return self.headers[section] if 0 <= section < len(self.headers) else None

    def _cells_changed(self, cells: list[tuple[int, int]]) -> None:
        """``dataChanged`` for these (row, column) cells only: one signal per row, or one over
        their bounding box when many rows changed (the view repaints what is visible)."""
        if not cells:
            return
        rows: dict[int, list[int]] = {}
        for r, c in cells:
            rows.setdefault(r, []).append(c)
        if len(rows) > 64:
            cols = [c for _, c in cells]
            self.dataChanged.emit(
                self.index(min(rows), min(cols)), self.index(max(rows), max(cols))
            )
            return
        for r, cs in sorted(rows.items()):
            self.dataChanged.emit(self.index(r, min(cs)), self.index(r, max(cs)))

    def clear(self) -> None:
        """No rows (no partner selected)."""
        self.beginResetModel()
        self._rows = []
        self._shape = ()  # the next update is a reset
        self.endResetModel()


class GridModel(_Table):
    """Rows: mapped accounts; column 0 the account, then one column per service."""

    edit_requested = QtCore.Signal(str, str, str)  # service_id, account_id, text

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []
        self.services: list[PartnerService] = []
        self.headers = ["Account"]
        self._cells: list[list[tuple[str, str, str | None]]] = []
        # What the cells show now, to find what changed (``update``).
        self._shape = ()
        self._info: dict[Key, CellInfo] = {}
        self._staged: dict[Key, StagedEdit] = {}
        self._row_of: dict[str, int] = {}
        self._col_of: dict[str, int] = {}

    def reset(self, snap: Snapshot, staged: dict[Key, StagedEdit]) -> None:
        self.beginResetModel()
        self._rows = list(snap.accounts)
        self.services = list(snap.services)
        self.headers = ["Account", *(s.name for s in self.services)]
        self._row_of = {a.account_id: i for i, a in enumerate(self._rows)}
        self._col_of = {s.service_id: i for i, s in enumerate(self.services)}
        self._compute(snap, staged)
        self.endResetModel()

    def account_names(self) -> list[str]:
        return [a.name for a in self._rows]

    def update(self, snap: Snapshot, staged: dict[Key, StagedEdit]) -> None:
        """Show ``snap``: only the cells that changed are recomputed and announced; the model
        is reset only when the accounts or services themselves changed (a reset rebuilds
        every row and drops the selection: issue 16, the page rebuilt it during pushes)."""
        if structure(snap) != self._shape:
            self.reset(snap, staged)
            return
        touched = []
        for key in changed_keys(self._info, snap.cells, self._staged, staged):
            col, row = self._col_of.get(key[0]), self._row_of.get(key[1])
            if row is None or col is None:
                continue
            self._cells[row][col] = cell_texts(
                snap.cells.get(key), staged.get(key), self.services[col]
            )
            touched.append((row, col + 1))
        self._info, self._staged = dict(snap.cells), dict(staged)
        self._cells_changed(touched)

    def _compute(self, snap: Snapshot, staged: dict[Key, StagedEdit]) -> None:
        self._shape = structure(snap)
        self._info, self._staged = dict(snap.cells), dict(staged)
        self._cells = [
            [
                cell_texts(
                    snap.cells.get((s.service_id, a.account_id)),
                    staged.get((s.service_id, a.account_id)),
                    s,
                )
                for s in self.services
            ]
            for a in self._rows
        ]

    def cell_key(self, index: ModelIndex) -> Key | None:
        """``(service_id, account_id)`` of a count cell (None for the account column)."""
        if not index.isValid() or index.column() == 0 or index.row() >= len(self._rows):
            return None
        return (self.services[index.column() - 1].service_id, self._rows[index.row()].account_id)

    def data(self, index: ModelIndex, role: int = Role.DisplayRole) -> Any:
        if not index.isValid() or role not in (
            Role.DisplayRole,
            Role.ToolTipRole,
            Role.BackgroundRole,
            Role.EditRole,
            Role.TextAlignmentRole,
        ):
            return None
        row, col = index.row(), index.column()
        account = self._rows[row]
        if col == 0:
            if role == Role.DisplayRole:
                return account.name
            if role == Role.ToolTipRole:
                return f"{account.name} ({account.account_id}) → {account.client_name or 'mapped'}"
            return None
        if role == Role.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        shown, tip, brush = self._cells[row][col - 1]
        if role == Role.DisplayRole:
            return shown
        if role == Role.ToolTipRole:
            return tip
        if role == Role.BackgroundRole:
            return theme.brush(brush) if brush else None
        return ""  # EditRole: the editor starts empty; typing a number sets the count

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid() and index.column() > 0:
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def setData(self, index: ModelIndex, value: Any, role: int = Role.EditRole) -> bool:
        key = self.cell_key(index)
        if key is None or role != Role.EditRole or not str(value).strip():
            return False
        self.edit_requested.emit(key[0], key[1], str(value))
        return True


class FlatModel(_Table):
    """Every account × service cell as one row (sortable, searchable by eye)."""

    headers = ("Account", "Service", "Last pushed", "When", "State", "Staged")

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[Key, list[str], str | None]] = []
        self._shape = ()
        self._info: dict[Key, CellInfo] = {}
        self._staged: dict[Key, StagedEdit] = {}
        self._row_of: dict[Key, int] = {}
        self._services: dict[str, PartnerService] = {}
        self._names: dict[str, str] = {}

    def reset(self, snap: Snapshot, staged: dict[Key, StagedEdit]) -> None:
        self.beginResetModel()
        self._shape = structure(snap)
        self._info, self._staged = dict(snap.cells), dict(staged)
        self._services = {s.service_id: s for s in snap.services}
        self._names = {a.account_id: a.name for a in snap.accounts}
        self._rows = [
            self._row(
                s.service_id,
                a.account_id,
                snap.cells.get((s.service_id, a.account_id)),
                staged.get((s.service_id, a.account_id)),
            )
            for a in snap.accounts
            for s in snap.services
        ]
        self._row_of = {row[0]: i for i, row in enumerate(self._rows)}
        self.endResetModel()

    def update(self, snap: Snapshot, staged: dict[Key, StagedEdit]) -> None:
        """Like ``GridModel.update``: changed rows in place, a reset only for new structure."""
        if structure(snap) != self._shape:
            self.reset(snap, staged)
            return
        touched = []
        for key in changed_keys(self._info, snap.cells, self._staged, staged):
            i = self._row_of.get(key)
            if i is None:
                continue
            self._rows[i] = self._row(key[0], key[1], snap.cells.get(key), staged.get(key))
            touched += [(i, 2), (i, len(self.headers) - 1)]
        self._info, self._staged = dict(snap.cells), dict(staged)
        self._cells_changed(touched)

    def _row(
        self, service_id: str, account_id: str, info: CellInfo | None, edit: StagedEdit | None
    ) -> tuple[Key, list[str], str | None]:
        s = self._services[service_id]
        info = info or CellInfo()
        when = info.at.astimezone().strftime("%Y-%m-%d %H:%M") if info.at else ""
        state = _STATE_WORDS.get(info.state or "", "sent" if info.state else "")
        if info.error:
            state += f": {info.error}"
        change = f"{change_text(edit, s)} ({diff_text(edit, s)})" if edit else ""
        _, _, brush = cell_texts(info, edit, s)
        name = self._names[account_id]
        cells = [name, s.name, format_amount(info.total, s), when, state, change]
        return (service_id, account_id), cells, brush

    def cell_key(self, index: ModelIndex) -> Key | None:
        return (
            self._rows[index.row()][0]
            if index.isValid() and index.row() < len(self._rows)
            else None
        )

    def data(self, index: ModelIndex, role: int = Role.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (Role.DisplayRole, Role.ToolTipRole):
            return self._rows[index.row()][1][index.column()]
        if role == Role.BackgroundRole:
            token = self._rows[index.row()][2]
            return theme.brush(token) if token else None
        return None


class StagedModel(_Table):
    """The staged diff: what will be sent, old → new, in staging order."""

    headers = ("Account", "Service", "Change", "Old → new")

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[Key, list[str]]] = []

    def reset(self, snap: Snapshot, staged: dict[Key, StagedEdit]) -> None:
        names = {a.account_id: a.name for a in snap.accounts}
        services = {s.service_id: s for s in snap.services}
        self.beginResetModel()
        self._rows = []
        for key, e in staged.items():
            service_id, account_id = key
            s = services.get(service_id)
            self._rows.append(
                (
                    key,
                    [
                        names.get(account_id, account_id),
                        s.name if s else service_id,
                        change_text(e, s),
                        diff_text(e, s),
                    ],
                )
            )
        self.endResetModel()

    def key(self, row: int) -> Key:
        return self._rows[row][0]

    def data(self, index: ModelIndex, role: int = Role.DisplayRole) -> Any:
        if not index.isValid() or role not in (Role.DisplayRole, Role.ToolTipRole):
            return None
        return self._rows[index.row()][1][index.column()]


class RowsModel(_Table):
    """A read-only table of precomputed strings (import errors, drift, history rows)."""

    def __init__(self, headers: list[str], parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.headers = headers
        self._rows: list[list[str]] = []

    def set_rows(self, rows: list[list[str]]) -> None:
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def data(self, index: ModelIndex, role: int = Role.DisplayRole) -> Any:
        if not index.isValid() or role not in (Role.DisplayRole, Role.ToolTipRole):
            return None
        return self._rows[index.row()][index.column()]
