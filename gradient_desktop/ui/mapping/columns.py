"""The grid's columns, named once: header, width, sort key, and what a cell shows in each role.

Both table models (``models.py``) read their columns from here; nothing else refers to a
column by its position. A ``Column`` whose ``roles`` is None is plain text: the models answer
every role but DisplayRole with None at once (a paint asks ~7 roles of each visible cell).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gradient_desktop.ui import theme
from gradient_desktop.ui.mapping.icons import state_color, state_icon
from gradient_desktop.ui.mapping.pane_model import (
    DECORATION,
    FAILED_COLOR,
    FONT,
    FOREGROUND,
    SUGGESTION_COLOR,
    TOOLTIP,
)
from gradient_desktop.ui.mapping.state import (
    CONFLICT,
    MAPPED,
    STALE,
    SUGGESTED,
    UNMAPPED,
    GridState,
)
from gradient_desktop.ui.qt import QtGui

#: (state, row position) → the cell's text / the row's sort key.
Cell = Callable[[GridState, int], object]
#: (state, row id, role) → the cell's value in a role other than DisplayRole.
Roles = Callable[[GridState, str, int], object]


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str
    width: int
    display: Cell
    sort: Cell
    roles: Roles | None = None


def with_headers(columns: Sequence[Column], **headers: str) -> tuple[Column, ...]:
    """The same columns with some headers renamed (services mode: "Service ID", "Unit")."""
    return tuple(
        dataclasses.replace(c, header=headers[c.key]) if c.key in headers else c for c in columns
    )


# -- accounts (left) -------------------------------------------------------------------------------


def _target_text(st: GridState, i: int) -> str:
    rid = st.left.ids[i]
    target = st.mapping.get(rid)
    if target is not None:
        return st.target_name(target)
    hit = st.suggestion(rid)
    return f"{st.target_name(hit[0])}  ({hit[1]} %)" if hit else ""


def _target_roles(st: GridState, rid: str, role: int) -> object:
    hit = st.suggestion(rid) if rid not in st.mapping else None
    if not hit:
        return None
    if role == FOREGROUND:
        return theme.color(SUGGESTION_COLOR)
    if role == FONT:
        return _ITALIC
    if role == TOOLTIP:
        why = st.suggestion_reason(rid)
        return f"Suggested ({hit[1]} % confident): {why}. Enter accepts it."
    return None


def _why_text(st: GridState, i: int) -> str:
    rid = st.left.ids[i]
    return st.suggestion_reason(rid) if st.suggestion(rid) else ""


def _why_roles(st: GridState, rid: str, role: int) -> object:
    if role == TOOLTIP and st.suggestion(rid):
        return f"Why this client was suggested: {st.suggestion_reason(rid)}."
    return None


def _left_state_roles(st: GridState, rid: str, role: int) -> object:
    state = st.left_state(rid)
    if role == DECORATION:
        return state_icon(state)
    if role == FOREGROUND:
        return state_color(state)
    if role == TOOLTIP:
        return _STATE_TIPS.get(state)
    return None


def _sync_roles(st: GridState, rid: str, role: int) -> object:
    if role == TOOLTIP:
        return st.sync_error.get(rid) or _SYNC_TIPS.get(st.sync_label(rid))
    if role == FOREGROUND and st.sync.get(rid) == "failed":
        return theme.color(FAILED_COLOR)
    return None


ACCOUNT_COLUMNS: tuple[Column, ...] = (
    Column("id", "Account ID", 84, lambda st, i: st.left.ids[i], lambda st, i: st.left.ids[i]),
    Column(
        "name", "Name", 210, lambda st, i: st.left.names[i], lambda st, i: st.left.names[i].lower()
    ),
    Column(
        "desc",
        "Description",
        130,
        lambda st, i: st.left.descs[i],
        lambda st, i: st.left.descs[i].lower(),
    ),
    Column(
        "target",
        "Mapped to",
        210,
        _target_text,
        lambda st, i: (
            st.target_name(st.mapping[st.left.ids[i]]).lower()
            if st.left.ids[i] in st.mapping
            else "\uffff"
        ),
        _target_roles,
    ),
    Column("why", "Why suggested", 280, _why_text, lambda st, i: _why_text(st, i), _why_roles),
    Column(
        "state",
        "State",
        96,
        lambda st, i: st.left_state(st.left.ids[i]),
        lambda st, i: st.left_state(st.left.ids[i]),
        _left_state_roles,
    ),
    Column(
        "sync",
        "Sync",
        90,
        lambda st, i: st.sync_label(st.left.ids[i]),
        lambda st, i: st.sync_label(st.left.ids[i]),
        _sync_roles,
    ),
)

# -- clients (right) -------------------------------------------------------------------------------


def _right_state_text(st: GridState, i: int) -> str:
    rid = st.right.ids[i]
    note = st.right_note.get(rid)
    state = st.right_state(rid)
    return f"{state} · {note}" if note else state


def _right_state_roles(st: GridState, rid: str, role: int) -> object:
    state = st.right_state(rid)
    if role == DECORATION:
        return state_icon(state)
    if role == FOREGROUND:
        return state_color(state)
    if role == TOOLTIP:
        return _CLIENT_TIPS.get(state)
    return None


def _count_text(st: GridState, i: int) -> str | None:
    n = st.target_count.get(st.right.ids[i], 0)
    return str(n) if n else None


CLIENT_COLUMNS: tuple[Column, ...] = (
    Column(
        "name",
        "Name",
        230,
        lambda st, i: st.right.names[i],
        lambda st, i: st.right.names[i].lower(),
    ),
    Column("id", "Client ID", 84, lambda st, i: st.right.ids[i], lambda st, i: st.right.ids[i]),
    Column(
        "count",
        "Mapped",
        64,
        _count_text,
        lambda st, i: st.target_count.get(st.right.ids[i], 0),
    ),
    Column(
        "state",
        "State",
        108,
        _right_state_text,
        lambda st, i: st.right_state(st.right.ids[i]),
        _right_state_roles,
    ),
)

_ITALIC = QtGui.QFont()
_ITALIC.setItalic(True)
_STATE_TIPS = {
    MAPPED: "Mapped to this Gradient client.",
    UNMAPPED: "Not mapped: drag it onto a client, or select a client and press Ctrl+M.",
    SUGGESTED: "Not mapped yet; a suggested client is waiting: Enter accepts it.",
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
