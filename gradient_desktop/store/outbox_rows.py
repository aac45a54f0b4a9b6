"""Value types of the outbox: a requested write (``PushRow``), a stored row handed to the
sender (``OutboxItem``), a point of a (service, account) history, and the running-total rule."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gradient_desktop.store.models import OutboxOp, OutboxState

_OPS = frozenset(o.value for o in OutboxOp)


@dataclass(frozen=True, slots=True)
class PushRow:
    """One requested write: ``set`` the count to ``unit_count``, or ``add``/``subtract`` it."""

    service_id: str
    account_id: str
    unit_count: float
    op: str = OutboxOp.SET.value


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A snapshot of one outbox row, safe to hand to another thread."""

    id: int
    partner_id: int
    batch_id: str
    op: str
    service_id: str
    account_id: str
    unit_count: float
    expected_total: float | None
    idempotency_key: str
    state: str
    attempts: int
    last_error: str | None
    actor: str | None
    created_at: datetime
    sent_at: datetime | None

    @property
    def needs_resolution(self) -> bool:
        """The outcome of an earlier attempt is unknown (see store/outbox.py, point 3)."""
        return self.state in (OutboxState.SENDING.value, OutboxState.UNKNOWN.value)

    @property
    def absolute(self) -> float | None:
        """The total this row leaves on the server: its count for a ``set``, its projected
        ``expected_total`` for an add/subtract (None when no starting total was known)."""
        return self.unit_count if self.op == OutboxOp.SET.value else self.expected_total


@dataclass(frozen=True, slots=True)
class EnqueueResult:
    """What ``Outbox.enqueue`` did: the batch, how many rows it wrote (0 for a ``repeat`` of a
    source already queued) and the cells whose subtract was floored at 0
    (``(service_id, account_id, amount below 0)``)."""

    batch_id: str
    rows: int
    repeat: bool = False
    floored: list[tuple[str, str, float]] = field(default_factory=list)


class UnknownTotalError(ValueError):
    """An add/subtract on a cell whose current total the ledger does not know."""

    def __init__(self, cells: list[tuple[str, str]]) -> None:
        self.cells = list(dict.fromkeys(cells))
        shown = ", ".join(f"account {a} × service {s}" for s, a in self.cells[:3])
        more = f" and {len(self.cells) - 3} more" if len(self.cells) > 3 else ""
        super().__init__(
            f"Cannot add to or subtract from {shown}{more}: the app does not know the current "
            "total yet. Set an absolute count first, or import the current totals; nothing "
            "was queued."
        )


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One row of a (service, account) history; ``total`` = acknowledged total after it."""

    id: int
    batch_id: str
    op: str
    unit_count: float
    state: str
    total: float | None
    created_at: datetime
    sent_at: datetime | None
    actor: str | None
    last_error: str | None


def validate_row(r: PushRow | Mapping[str, Any] | Sequence[Any]) -> PushRow:
    """A ``PushRow`` from a PushRow, a mapping or a ``(service, account, count[, op])`` tuple,
    with ids as text and the count as float; ``ValueError`` says what is wrong."""
    if isinstance(r, PushRow):
        row = r
    elif isinstance(r, Mapping):
        row = PushRow(r["service_id"], r["account_id"], r["unit_count"], r.get("op", "set"))
    else:
        row = PushRow(*r)
    if row.op not in _OPS:
        raise ValueError(f"Unknown operation {row.op!r}; expected one of set, add, subtract.")
    count = float(row.unit_count)
    if not math.isfinite(count) or count < 0:
        raise ValueError(
            f"Unit count {row.unit_count!r} for account {row.account_id!r} must be a number >= 0."
        )
    if row.service_id in (None, "") or row.account_id in (None, ""):
        raise ValueError("Every row needs a service id and an account id.")
    # Ids come back from SQLite as text: normalise now so totals keys match what is stored.
    return PushRow(str(row.service_id), str(row.account_id), count, row.op)


def apply_op(total: float | None, op: str, count: float) -> float | None:
    """The total after ``op``: set replaces, add/subtract adjust a known total (else None).

    Gradient keeps a count at 0 or above (a subtract below 0 lands as 0), so the ledger floors
    its projection the same way; ``clamped`` tells whether that happened.
    """
    if op == "set":
        return count
    if total is None:
        return None
    return total + count if op == "add" else max(0.0, total - count)


def clamped(total: float | None, op: str, count: float) -> bool:
    """True when ``op`` on ``total`` would go below 0 and is floored (see ``apply_op``)."""
    return op == "subtract" and total is not None and total - count < 0
