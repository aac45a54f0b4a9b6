"""The grid's two table models: vendor accounts (left) and Gradient clients (right), thin
adapters over ``GridState``. A drop on a client asks the grid to map; a drop on the accounts
pane asks it to unmap (the grid turns either into one undo step)."""

from __future__ import annotations

from gradient_desktop.ui.mapping.columns import ACCOUNT_COLUMNS, CLIENT_COLUMNS
from gradient_desktop.ui.mapping.pane_model import (
    ACCOUNT_MIME,
    CLIENT_MIME,
    LEFT_FILTERS,
    RIGHT_FILTERS,
    STATE_COLORS,
    STATE_ROLE,
    TEXT_MIME,
    PaneModel,
    decode_ids,
    encode_ids,
)
from gradient_desktop.ui.mapping.state import Side
from gradient_desktop.ui.qt import ModelIndex, QtCore

Qt = QtCore.Qt
__all__ = [
    "ACCOUNT_MIME",
    "CLIENT_MIME",
    "STATE_COLORS",
    "STATE_ROLE",
    "TEXT_MIME",
    "AccountsModel",
    "ClientsModel",
    "encode_ids",
]


class AccountsModel(PaneModel):
    """Vendor accounts: id, name, description, mapped to, why suggested, state, sync."""

    COLUMNS = ACCOUNT_COLUMNS
    FILTERS = LEFT_FILTERS
    MIME = ACCOUNT_MIME
    unmap_requested = QtCore.Signal(list)  # account ids

    @property
    def side(self) -> Side:
        return self.state.left

    def row_state(self, row: int) -> str:
        return self.state.left_state(self.state.left.ids[row])

    def accepts_drop(self, data: QtCore.QMimeData, row: int, parent: ModelIndex) -> bool:
        return bool(self._dropped_accounts(data))

    def drop(self, data: QtCore.QMimeData, row: int, parent: ModelIndex) -> bool:
        """A drop on the accounts pane unmaps: dragged accounts, or every account of dragged
        clients ("drag it back")."""
        ids = [i for i in self._dropped_accounts(data) if i in self.state.mapping]
        if not ids:
            return False
        self.unmap_requested.emit(ids)
        return True

    def _dropped_accounts(self, data: QtCore.QMimeData) -> list[str]:
        if data.hasFormat(CLIENT_MIME):
            clients = set(decode_ids(data, CLIENT_MIME, None))
            return [s for s, t in self.state.mapping.items() if t in clients]
        return decode_ids(data, ACCOUNT_MIME, self.state.left.pos)


class ClientsModel(PaneModel):
    """Gradient clients (or partner services): name, id, mapped count, state."""

    COLUMNS = CLIENT_COLUMNS
    FILTERS = RIGHT_FILTERS
    MIME = CLIENT_MIME
    map_requested = QtCore.Signal(list, str)  # account ids, target id

    @property
    def side(self) -> Side:
        return self.state.right

    def row_state(self, row: int) -> str:
        return self.state.right_state(self.state.right.ids[row])

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        flags = super().flags(index)
        if not index.isValid():
            # Drops land on a client, never between rows.
            return flags & ~Qt.ItemFlag.ItemIsDropEnabled
        return flags

    def _target(self, row: int, parent: ModelIndex) -> str | None:
        r = parent.row() if parent.isValid() else row
        if 0 <= r < len(self._visible):
            return self.id_at(r)
        return None

    def accepts_drop(self, data: QtCore.QMimeData, row: int, parent: ModelIndex) -> bool:
        if self._target(row, parent) is None:
            return False
        return bool(decode_ids(data, ACCOUNT_MIME, self.state.left.pos))

    def drop(self, data: QtCore.QMimeData, row: int, parent: ModelIndex) -> bool:
        """Accounts dropped on a client are mapped to it (the grid makes it one undo step)."""
        target = self._target(row, parent)
        ids = [
            i
            for i in decode_ids(data, ACCOUNT_MIME, self.state.left.pos)
            if i in self.state.left.pos
        ]
        if target is None or not ids:
            return False
        self.map_requested.emit(ids, target)
        return True
