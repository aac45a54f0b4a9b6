"""The grid's two table models: vendor accounts (left) and Gradient clients (right), thin
adapters over ``GridState``. A drop on a client asks the grid to map; a drop on the accounts
pane asks it to unmap (the grid turns either into one undo step)."""

from __future__ import annotations

from collections.abc import Callable

from gradient_desktop.ui.mapping.icons import state_color, state_icon
from gradient_desktop.ui.mapping.pane_model import (
    ACCOUNT_MIME,
    CLIENT_MIME,
    DECORATION,
    DISPLAY,
    FAILED_COLOR,
    FONT,
    FOREGROUND,
    ID_ROLE,
    LEFT_FILTERS,
    RIGHT_FILTERS,
    SERVED,
    STATE_COLORS,
    STATE_ROLE,
    SUGGESTION_COLOR,
    TEXT_MIME,
    TOOLTIP,
    PaneModel,
    decode_ids,
    encode_ids,
)
from gradient_desktop.ui.mapping.state import CONFLICT, MAPPED, STALE, SUGGESTED, UNMAPPED, Side
from gradient_desktop.ui.qt import QtCore, QtGui

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
    """Vendor accounts: id, name, description, mapped to, state, sync."""

    COLUMNS = ("Account ID", "Name", "Description", "Mapped to", "State", "Sync")
    COL_ID, COL_NAME, COL_DESC, COL_TARGET, COL_STATE, COL_SYNC = range(6)
    PRESORTED = COL_NAME
    FILTERS = LEFT_FILTERS
    MIME = ACCOUNT_MIME
    unmap_requested = QtCore.Signal(list)  # account ids

    @property
    def side(self) -> Side:
        return self.state.left

    def row_state(self, row: int) -> str:
        return self.state.left_state(self.state.left.ids[row])

    def sort_key(self, column: int) -> Callable[[int], object]:
        side, st = self.state.left, self.state
        if column == self.COL_ID:
            return side.ids.__getitem__
        if column == self.COL_DESC:
            return lambda i: side.descs[i].lower()
        if column == self.COL_TARGET:
            return lambda i: (
                st.target_name(st.mapping[side.ids[i]]).lower()
                if side.ids[i] in st.mapping
                else "\uffff"
            )
        if column == self.COL_STATE:
            return lambda i: st.left_state(side.ids[i])
        if column == self.COL_SYNC:
            return lambda i: st.sync_label(side.ids[i])
        return lambda i: side.names[i].lower()

    def data(self, index: QtCore.QModelIndex, role: int = DISPLAY) -> object:
        # Hot path: a paint asks ~7 roles for each visible cell; plain text columns answer
        # DisplayRole with one list lookup and every other role with None, at once.
        col = index.column()
        if role == DISPLAY:
            r = index.row()
            if r < 0:
                return None
            row = self._visible[r]
            if col == 1:
                return self.state.left.names[row]
            if col == 0:
                return self.state.left.ids[row]
            if col == 2:
                return self.state.left.descs[row]
        elif col < 3 and role != ID_ROLE and role != STATE_ROLE:
            return None
        if role not in SERVED or not index.isValid():
            return None
        st = self.state
        rid = st.left.ids[self._visible[index.row()]]
        if role == ID_ROLE:
            return rid
        if role == STATE_ROLE:
            return st.left_state(rid)
        if col == self.COL_TARGET:
            target = st.mapping.get(rid)
            hit = st.suggestion(rid) if target is None else None
            if role == DISPLAY:
                if target is not None:
                    return st.target_name(target)
                return f"{st.target_name(hit[0])}  ({hit[1]} %)" if hit else ""
            if role == FOREGROUND and hit:
                return SUGGESTION_COLOR
            if role == FONT and hit:
                return _ITALIC
            if role == TOOLTIP and hit:
                return f"Suggested ({hit[1]} % confident); Enter accepts it."
            return None
        if col == self.COL_STATE:
            if role == DISPLAY:
                return st.left_state(rid)
            if role == DECORATION:
                return state_icon(st.left_state(rid))
            if role == FOREGROUND:
                return state_color(st.left_state(rid))
            if role == TOOLTIP:
                return _STATE_TIPS.get(st.left_state(rid))
            return None
        if col == self.COL_SYNC:
            if role == DISPLAY:
                return st.sync_label(rid)
            if role == TOOLTIP:
                return st.sync_error.get(rid) or _SYNC_TIPS.get(st.sync_label(rid))
            if role == FOREGROUND and st.sync.get(rid) == "failed":
                return FAILED_COLOR
        return None

    def canDropMimeData(
        self,
        data: QtCore.QMimeData,
        action: Qt.DropAction,
        row: int,
        column: int,
        parent: QtCore.QModelIndex,
    ) -> bool:
        return bool(self._dropped_accounts(data))

    def dropMimeData(
        self,
        data: QtCore.QMimeData,
        action: Qt.DropAction,
        row: int,
        column: int,
        parent: QtCore.QModelIndex,
    ) -> bool:
        """A drop on the accounts pane unmaps: dragged accounts, or every account of dragged
        clients ("drag it back")."""
        if action == Qt.DropAction.IgnoreAction:
            return True
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

    COLUMNS = ("Name", "Client ID", "Mapped", "State")
    COL_NAME, COL_ID, COL_COUNT, COL_STATE = range(4)
    PRESORTED = COL_NAME
    FILTERS = RIGHT_FILTERS
    MIME = CLIENT_MIME
    map_requested = QtCore.Signal(list, str)  # account ids, target id

    @property
    def side(self) -> Side:
        return self.state.right

    def row_state(self, row: int) -> str:
        return self.state.right_state(self.state.right.ids[row])

    def sort_key(self, column: int) -> Callable[[int], object]:
        side, st = self.state.right, self.state
        if column == self.COL_ID:
            return side.ids.__getitem__
        if column == self.COL_COUNT:
            return lambda i: st.target_count.get(side.ids[i], 0)
        if column == self.COL_STATE:
            return lambda i: st.right_state(side.ids[i])
        return lambda i: side.names[i].lower()

    def data(self, index: QtCore.QModelIndex, role: int = DISPLAY) -> object:
        col = index.column()  # hot path first, as in AccountsModel.data
        if role == DISPLAY:
            r = index.row()
            if r < 0:
                return None
            row = self._visible[r]
            if col == 0:
                return self.state.right.names[row]
            if col == 1:
                return self.state.right.ids[row]
        elif col < 3 and role != ID_ROLE and role != STATE_ROLE:
            return None
        if role not in SERVED or not index.isValid():
            return None
        st = self.state
        rid = st.right.ids[self._visible[index.row()]]
        if role == ID_ROLE:
            return rid
        if role == STATE_ROLE:
            return st.right_state(rid)
        if col == self.COL_COUNT:
            n = st.target_count.get(rid, 0) if role == DISPLAY else 0
            return str(n) if n else None
        if col == self.COL_STATE:
            if role == DISPLAY:
                note = st.right_note.get(rid)
                state = st.right_state(rid)
                return f"{state} · {note}" if note else state
            if role == DECORATION:
                return state_icon(st.right_state(rid))
            if role == FOREGROUND:
                return state_color(st.right_state(rid))
            if role == TOOLTIP:
                return _CLIENT_TIPS.get(st.right_state(rid))
        return None

    def flags(self, index: QtCore.QModelIndex) -> Qt.ItemFlag:
        flags = super().flags(index)
        if not index.isValid():
            # Drops land on a client, never between rows.
            return flags & ~Qt.ItemFlag.ItemIsDropEnabled
        return flags

    def _target(self, row: int, parent: QtCore.QModelIndex) -> str | None:
        r = parent.row() if parent.isValid() else row
        if 0 <= r < len(self._visible):
            return self.id_at(r)
        return None

    def canDropMimeData(
        self,
        data: QtCore.QMimeData,
        action: Qt.DropAction,
        row: int,
        column: int,
        parent: QtCore.QModelIndex,
    ) -> bool:
        if self._target(row, parent) is None:
            return False
        return bool(decode_ids(data, ACCOUNT_MIME, self.state.left.pos))

    def dropMimeData(
        self,
        data: QtCore.QMimeData,
        action: Qt.DropAction,
        row: int,
        column: int,
        parent: QtCore.QModelIndex,
    ) -> bool:
        """Accounts dropped on a client are mapped to it (the grid makes it one undo step)."""
        if action == Qt.DropAction.IgnoreAction:
            return True
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


_ITALIC = QtGui.QFont()
_ITALIC.setItalic(True)
_STATE_TIPS = {
    MAPPED: "Mapped to this Gradient client.",
    UNMAPPED: "Not mapped: drag it onto a client, or select a client and press Ctrl+M.",
    SUGGESTED: "A suggested client is waiting: Enter accepts it.",
    CONFLICT: "Another account is mapped to the same client; unmap one of them (Delete).",
    STALE: "The client no longer exists in Gradient; map the account to another client.",
}
_CLIENT_TIPS = {
    STALE: "Gone from Gradient since the last sync; its accounts need a new client.",
    CONFLICT: "More than one account is mapped here, and each client may have only one.",
}
_SYNC_TIPS = {
    "saved": "Saved here; being sent to Gradient.",
    "saved · sent on publish": "Saved here; Gradient gets it when the accounts are published.",
    "syncing…": "Being sent to Gradient.",
    "synced": "Gradient has this mapping.",
}
