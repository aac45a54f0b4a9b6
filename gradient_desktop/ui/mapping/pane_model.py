"""The machinery both panes' table models share: visible rows over plain lists, sort and filter
in Python, ``layoutChanged`` with persistent indexes carried along, ids as JSON MIME data.

No QSortFilterProxyModel (it calls back into Python millions of times at 50,000 rows; see
PITFALLS). Also the grid's roles, colours, state tooltips, filters and MIME types.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from gradient_desktop.ui.mapping.state import (
    CONFLICT,
    MAPPED,
    STALE,
    SUGGESTED,
    UNMAPPED,
    GridState,
    Side,
    shown_states,
)
from gradient_desktop.ui.qt import ModelIndex, QtCore

if TYPE_CHECKING:
    from gradient_desktop.ui.mapping.columns import Column

Qt = QtCore.Qt
Mime = QtCore.QMimeData
Drop = Qt.DropAction
ACCOUNT_MIME = "application/x-gradient-account-ids"
CLIENT_MIME = "application/x-gradient-client-ids"
TEXT_MIME = "text/plain"
ID_ROLE = int(Qt.ItemDataRole.UserRole)
STATE_ROLE = ID_ROLE + 1
# Roles as plain ints: data() compares them thousands of times per paint.
DISPLAY = int(Qt.ItemDataRole.DisplayRole)
DECORATION = int(Qt.ItemDataRole.DecorationRole)
TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
FONT = int(Qt.ItemDataRole.FontRole)
FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
SERVED = frozenset({DISPLAY, DECORATION, TOOLTIP, FONT, FOREGROUND, ID_ROLE, STATE_ROLE})
ROW_FLAGS = (
    Qt.ItemFlag.ItemIsDropEnabled
    | Qt.ItemFlag.ItemIsEnabled
    | Qt.ItemFlag.ItemIsSelectable
    | Qt.ItemFlag.ItemIsDragEnabled
)

#: state -> theme token (ui/theme.py): the colour follows light and dark.
STATE_COLORS = {
    MAPPED: "ok",
    UNMAPPED: "muted",
    SUGGESTED: "accent",
    CONFLICT: "error",
    STALE: "warning",
}
#: Tooltips of the state and sync columns.
ACCOUNT_STATE_TIPS = {
    MAPPED: "Mapped to this Gradient client.",
    UNMAPPED: "Not mapped: drag it onto a client, or select a client and press Ctrl+M.",
    SUGGESTED: "Not mapped yet; a suggested client is waiting: Enter accepts it.",
    CONFLICT: "Another account is mapped to the same client; unmap one of them (Delete).",
    STALE: "The client no longer exists in Gradient; map the account to another client.",
}
CLIENT_STATE_TIPS = {
    STALE: "Gone from Gradient since the last sync; its accounts need a new client.",
    CONFLICT: "More than one account is mapped here, and each client may have only one.",
}
SYNC_TIPS = {
    "saved": "Saved here; being sent to Gradient.",
    "saved · sent on publish": "Saved here; Gradient gets it when the accounts are published.",
    "syncing…": "Being sent to Gradient.",
    "synced": "Gradient has this mapping.",
}
SUGGESTION_COLOR = "accent"
FAILED_COLOR = "error"

#: Left-pane filters (combo text → row state; ``shown_states`` says which states it shows:
#: "Unmapped only" includes accounts with a suggestion, which are unmapped too).
LEFT_FILTERS = {
    "All accounts": None,
    "Unmapped only": UNMAPPED,
    "Suggested": SUGGESTED,
    "Conflicts": CONFLICT,
    "Stale": STALE,
    "Mapped": MAPPED,
}
RIGHT_FILTERS = {"All clients": None, "Unmapped only": UNMAPPED, "Stale": STALE}


def encode_ids(mime: QtCore.QMimeData, fmt: str, ids: list[str]) -> None:
    mime.setData(fmt, QtCore.QByteArray(json.dumps(ids).encode()))
    mime.setText("\n".join(ids))


def decode_ids(mime: QtCore.QMimeData, fmt: str, known: dict[str, int] | None) -> list[str]:
    """Ids from our MIME type, else from plain text (one per line or comma-separated) when
    ``known`` says which strings are ids; anything else is ignored."""
    if mime.hasFormat(fmt):
        try:
            data = json.loads(bytes(mime.data(fmt).data()).decode())
        except ValueError:
            return []
        return [str(x) for x in data] if isinstance(data, list) else []
    if known is not None and mime.hasText():
        words = mime.text().replace(",", "\n").split("\n")
        return [w.strip() for w in words if w.strip() in known]
    return []


class PaneModel(QtCore.QAbstractTableModel):
    """Shared machinery: visible rows, Python sort and filter, MIME encoding."""

    COLUMNS: ClassVar[tuple[Column, ...]] = ()
    FILTERS: ClassVar[dict[str, str | None]] = {}
    MIME = ""

    def __init__(
        self,
        state: GridState,
        parent: QtCore.QObject | None = None,
        columns: Sequence[Column] | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = state
        self.columns: tuple[Column, ...] = tuple(columns or self.COLUMNS)
        # The store returns rows sorted by name: that sort costs nothing.
        self.presorted = self.column("name")
        self._order: list[int] = []  # every row, in sort order
        self._visible: list[int] = []  # the rows shown, in sort order
        self._needle = ""
        self._mode: str | None = None
        self._sort: tuple[int, Qt.SortOrder] | None = None

    @property
    def side(self) -> Side:
        raise NotImplementedError

    def row_state(self, row: int) -> str:
        raise NotImplementedError

    def accepts_drop(self, data: QtCore.QMimeData, row: int, parent: ModelIndex) -> bool:
        """Whether dropping ``data`` on ``row`` (or on ``parent``'s row) would do something."""
        raise NotImplementedError

    def drop(self, data: QtCore.QMimeData, row: int, parent: ModelIndex) -> bool:
        """Act on a drop (ask the grid to map or unmap); False when it does nothing."""
        raise NotImplementedError

    # -- Qt model API ----------------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._visible)

    def columnCount(self, parent: ModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            if 0 <= section < len(self.columns):
                return self.columns[section].header
        return None

    def data(self, index: ModelIndex, role: int = DISPLAY) -> object:
        # Hot path: a paint asks ~7 roles for each visible cell; DisplayRole is one call of the
        # column's reader, and plain text columns answer every other role with None at once.
        c = index.column()
        if not 0 <= c < len(self.columns):
            return None
        spec = self.columns[c]
        if role == DISPLAY:
            r = index.row()
            return spec.display(self.state, self._visible[r]) if r >= 0 else None
        if spec.roles is None and role != ID_ROLE and role != STATE_ROLE:
            return None
        if role not in SERVED or not index.isValid():
            return None
        row = self._visible[index.row()]
        if role == ID_ROLE:
            return self.side.ids[row]
        if role == STATE_ROLE:
            return self.row_state(row)
        return spec.roles(self.state, self.side.ids[row], role) if spec.roles else None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        # Precomputed: combining enum flags in Python costs more than the rest of a paint.
        return ROW_FLAGS if index.isValid() else Qt.ItemFlag.ItemIsDropEnabled

    def supportedDragActions(self) -> Qt.DropAction:
        # Copy, never Move: a Move would make the view delete the dragged rows afterwards.
        return Qt.DropAction.CopyAction

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    # Qt's drop entry points; each pane says what a drop means in accepts_drop() and drop().
    def canDropMimeData(self, data: Mime, action: Drop, row: int, _c: int, at: ModelIndex) -> bool:
        return self.accepts_drop(data, row, at)

    def dropMimeData(self, data: Mime, action: Drop, row: int, _c: int, at: ModelIndex) -> bool:
        return action == Qt.DropAction.IgnoreAction or self.drop(data, row, at)

    def mimeTypes(self) -> list[str]:
        return [ACCOUNT_MIME, CLIENT_MIME, TEXT_MIME]

    def mimeData(self, indexes: Sequence[QtCore.QModelIndex]) -> QtCore.QMimeData:
        mime = QtCore.QMimeData()
        encode_ids(mime, self.MIME, self.ids_of(indexes))
        return mime

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = (column, order)
        key = self.sort_key(column)
        self._order = sorted(
            range(len(self.side)), key=key, reverse=order == Qt.SortOrder.DescendingOrder
        )
        self._refilter(incremental=False)

    # -- ours ------------------------------------------------------------------------------------

    def column(self, key: str) -> int:
        """The position of the column named ``key`` ("name", "target", ...)."""
        return next(n for n, c in enumerate(self.columns) if c.key == key)

    def sort_key(self, column: int) -> Callable[[int], Any]:
        spec, st = self.columns[column], self.state
        read = spec.sort or spec.display
        return lambda i: read(st, i)

    def reload(self) -> None:
        """The state was (re)loaded: start over with all rows."""
        self.beginResetModel()
        self._order = list(range(len(self.side)))
        # The store returns rows by name already; only another sort needs Python's time.
        if self._sort is not None and self._sort != (self.presorted, Qt.SortOrder.AscendingOrder):
            key = self.sort_key(self._sort[0])
            self._order.sort(key=key, reverse=self._sort[1] == Qt.SortOrder.DescendingOrder)
        self._visible = self._compute(self._order)
        self.endResetModel()

    def set_filter(self, text: str | None = None, mode: str | object | None = ...) -> None:
        """Filter by search text and/or state; typing more letters filters the shown rows only."""
        new_needle = self._needle if text is None else text.strip().lower()
        new_mode = self._mode if mode is ... else mode
        incremental = new_mode == self._mode and new_needle.startswith(self._needle)
        self._needle, self._mode = new_needle, new_mode  # type: ignore[assignment]
        self._refilter(incremental=incremental)

    def refresh(self, *, refilter: bool = False) -> None:
        """Row states changed: repaint, and re-run a state filter (rows may leave or join)."""
        if refilter and self._mode is not None:
            self._refilter(incremental=False)
        elif self._visible:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._visible) - 1, len(self.columns) - 1)
            )

    def _compute(self, base: list[int]) -> list[int]:
        needle, keys = self._needle, self.side.keys
        rows = [i for i in base if needle in keys[i]] if needle else list(base)
        if self._mode is not None:
            shown, state_of = shown_states(self._mode), self.row_state
            rows = [i for i in rows if state_of(i) in shown]
        return rows

    def _refilter(self, *, incremental: bool) -> None:
        new = self._compute(self._visible if incremental else self._order)
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        if old:
            # Usually a handful (current index, selection corners): look each up in C with
            # list.index rather than building a 50,000-entry dict per keystroke.
            wanted = {self._visible[i.row()] for i in old if i.row() < len(self._visible)}
            if len(wanted) > 64:
                where = {r: n for n, r in enumerate(new)}
            else:
                members = set(new)
                where = {r: new.index(r) for r in wanted if r in members}
            moved = []
            for idx in old:
                n = where.get(self._visible[idx.row()]) if idx.row() < len(self._visible) else None
                moved.append(
                    self.createIndex(n, idx.column()) if n is not None else QtCore.QModelIndex()
                )
            self._visible = new
            self.changePersistentIndexList(old, moved)
        else:
            self._visible = new
        self.layoutChanged.emit()

    def id_at(self, visible_row: int) -> str:
        return self.side.ids[self._visible[visible_row]]

    def ids_of(self, indexes: Sequence[QtCore.QModelIndex]) -> list[str]:
        rows = sorted({i.row() for i in indexes if i.isValid()})
        return [self.side.ids[self._visible[r]] for r in rows if r < len(self._visible)]

    def visible_row_of(self, rid: str) -> int:
        """Where an id is shown, or -1 (filtered out or unknown)."""
        pos = self.side.pos.get(rid)
        if pos is None:
            return -1
        try:
            return self._visible.index(pos)
        except ValueError:
            return -1

    def visible_ids(self) -> list[str]:
        ids = self.side.ids
        return [ids[i] for i in self._visible]
