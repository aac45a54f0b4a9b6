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
    ACCOUNT_STATE_TIPS,
    CLIENT_STATE_TIPS,
    DECORATION,
    FAILED_COLOR,
    FONT,
    FOREGROUND,
    SUGGESTION_COLOR,
    SYNC_TIPS,
    TOOLTIP,
)
from gradient_desktop.ui.mapping.state import GridState
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
    #: The sort key; None sorts by the text shown.
    sort: Cell | None = None
    roles: Roles | None = None


def _text(key: str, header: str, width: int, read: Callable[[GridState, int], str]) -> Column:
    """A column of plain text, sorted without regard to case."""
    return Column(key, header, width, read, lambda st, i: read(st, i).lower())


def _account(read: Callable[[GridState, str], object]) -> Cell:
    """A cell read from the account's id (its state, its sync label)."""
    return lambda st, i: read(st, st.left.ids[i])


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


def _target_sort(st: GridState, i: int) -> str:
    target = st.mapping.get(st.left.ids[i])
    return "\uffff" if target is None else st.target_name(target).lower()  # unmapped last


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


def _state_roles(state: str, tips: dict[str, str], role: int) -> object:
    if role == DECORATION:
        return state_icon(state)
    if role == FOREGROUND:
        return state_color(state)
    if role == TOOLTIP:
        return tips.get(state)
    return None


def _left_state_roles(st: GridState, rid: str, role: int) -> object:
    return _state_roles(st.left_state(rid), ACCOUNT_STATE_TIPS, role)


def _sync_roles(st: GridState, rid: str, role: int) -> object:
    if role == TOOLTIP:
        return st.sync_error.get(rid) or SYNC_TIPS.get(st.sync_label(rid))
    if role == FOREGROUND and st.sync.get(rid) == "failed":
        return theme.color(FAILED_COLOR)
    return None


ACCOUNT_COLUMNS: tuple[Column, ...] = (
    Column("id", "Account ID", 84, lambda st, i: st.left.ids[i]),
    _text("name", "Name", 210, lambda st, i: st.left.names[i]),
    _text("desc", "Description", 130, lambda st, i: st.left.descs[i]),
    Column("target", "Mapped to", 210, _target_text, _target_sort, _target_roles),
    Column("why", "Why suggested", 280, _why_text, roles=_why_roles),
    Column("state", "State", 96, _account(GridState.left_state), roles=_left_state_roles),
    Column("sync", "Sync", 90, _account(GridState.sync_label), roles=_sync_roles),
)

# -- clients (right) -------------------------------------------------------------------------------


def _right_state_text(st: GridState, i: int) -> str:
    rid = st.right.ids[i]
    note = st.right_note.get(rid)
    state = st.right_state(rid)
    return f"{state} · {note}" if note else state


def _right_state_roles(st: GridState, rid: str, role: int) -> object:
    return _state_roles(st.right_state(rid), CLIENT_STATE_TIPS, role)


def _right_state_sort(st: GridState, i: int) -> str:
    return st.right_state(st.right.ids[i])


def _count_text(st: GridState, i: int) -> str | None:
    n = _count_sort(st, i)
    return str(n) if n else None


def _count_sort(st: GridState, i: int) -> int:
    return st.target_count.get(st.right.ids[i], 0)


CLIENT_COLUMNS: tuple[Column, ...] = (
    _text("name", "Name", 230, lambda st, i: st.right.names[i]),
    Column("id", "Client ID", 84, lambda st, i: st.right.ids[i]),
    Column("count", "Mapped", 64, _count_text, _count_sort),
    Column("state", "State", 108, _right_state_text, _right_state_sort, _right_state_roles),
)

_ITALIC = QtGui.QFont()
_ITALIC.setItalic(True)
