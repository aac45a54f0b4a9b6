"""Value types of the outbox: a stored row handed to the sender (``OutboxItem``), what an
enqueue did, a point of a cell's history. A requested write is a ``counts.CountRow``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from gradient_desktop.counts import CountRow, Op
from gradient_desktop.store.models import OutboxState


def _utc(value: Any) -> datetime | None:
    """A stored UTC timestamp as an aware datetime (the store keeps them naive, in UTC)."""
    if value is None:
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


class OutboxItem(NamedTuple):
    """A snapshot of one outbox row (a ledger entry: the count plus its state), safe to hand
    to another thread. A named tuple: the claim builds 100k of them from plain rows, and a
    frozen dataclass's ``__init__`` cost as much as reading the rows (bench/ledger.py)."""

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
    #: The two timestamps as the database returned them (for SQLite: text); ``created_at`` and
    #: ``sent_at`` convert on use. The sender never looks at them, and converting 100k of
    #: them up front was a third of the claim's time (bench/ledger.py).
    created_raw: Any
    sent_raw: Any

    @property
    def created_at(self) -> datetime:
        return _utc(self.created_raw)  # type: ignore[return-value]  # never NULL

    @property
    def sent_at(self) -> datetime | None:
        return _utc(self.sent_raw)

    @property
    def needs_resolution(self) -> bool:
        """The outcome of an earlier attempt is unknown (see store/outbox.py, point 3)."""
        return self.state in (OutboxState.SENDING.value, OutboxState.UNKNOWN.value)

    @property
    def absolute(self) -> float | None:
        """The total this row leaves on the server: its count for a ``set``, its projected
        ``expected_total`` for an add/subtract (None when no starting total was known)."""
        return self.unit_count if self.op == Op.SET else self.expected_total


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


def as_row(r: CountRow | Mapping[str, Any] | Sequence[Any]) -> CountRow:
    """A ``CountRow`` from a CountRow, a mapping or a ``(service, account, count[, op])``
    tuple (``CountRow`` checks it; ``ValueError`` says what is wrong)."""
    if isinstance(r, CountRow):
        return r
    if isinstance(r, Mapping):
        return CountRow(r["service_id"], r["account_id"], r["unit_count"], r.get("op", Op.SET))
    return CountRow(*r)
