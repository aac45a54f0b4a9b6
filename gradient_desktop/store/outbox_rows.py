"""Value types of the outbox: a requested write (``PushRow``), a stored row handed to the
sender (``OutboxItem``), a point of a (service, account) history, and the running-total rule."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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

    def wire_op(self) -> tuple[str, float]:
        """What to send now: ``(op, unit_count)``. The same op goes with this row's idempotency
        key; a resolving ``set`` is a different request and goes with a key derived from it
        (``services.push.wire_key``), since a server refuses one key for two requests."""
        if (
            self.needs_resolution
            and self.op != OutboxOp.SET.value
            and self.expected_total is not None
        ):
            return OutboxOp.SET.value, self.expected_total
        return self.op, self.unit_count


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
    """The total after ``op``: set replaces, add/subtract adjust a known total (else None)."""
    if op == "set":
        return count
    if total is None:
        return None
    return total + count if op == "add" else total - count
