"""Value types of the usage editor (services/usage.py): a staged edit (a ``CountRow`` plus
what staging knew), what the ledger knows of a cell, the grid's snapshot, drift rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from gradient_desktop.counts import Cell, CountRow, Op, apply_op
from gradient_desktop.services import csvio
from gradient_desktop.store.models import PartnerService


@dataclass(frozen=True)
class StagedEdit:
    """One staged change of a cell: the count row that will be queued (its count in the
    service's unit: what goes on the wire), the total known when it was staged (``old``;
    None: never pushed) and where it came from (typed, import, drift, all clients)."""

    row: CountRow
    old: float | None
    source: str = "manual"

    @property
    def cell(self) -> Cell:
        return self.row.cell

    @property
    def new(self) -> float | None:
        return apply_op(self.old, self.row.op, self.row.unit_count)

    def signed(self) -> float:
        r = self.row
        return -r.unit_count if r.op == Op.SUBTRACT else r.unit_count

    def as_json(self) -> dict[str, object]:
        r = self.row
        return {
            "service_id": r.service_id,
            "account_id": r.account_id,
            "unit_count": r.unit_count,
            "op": r.op.value,
            "old": self.old,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, doc: dict[str, object]) -> StagedEdit:
        # Files written before the one count type said "amount" for the count.
        count = doc["unit_count"] if "unit_count" in doc else doc["amount"]
        row = CountRow(str(doc["service_id"]), str(doc["account_id"]), count, doc["op"])  # type: ignore[arg-type]
        old = doc.get("old")
        return cls(row, None if old is None else float(old), str(doc.get("source", "manual")))  # type: ignore[arg-type]


@dataclass(frozen=True)
class AccountRef:
    account_id: str
    name: str
    client_name: str


@dataclass(frozen=True)
class CellInfo:
    """What the ledger knows about one cell (not a count: its state): the last acknowledged
    total, the latest row's state and error, the total once the queue has landed."""

    total: float | None = None
    at: datetime | None = None
    state: str | None = None
    error: str | None = None
    projected: float | None = None


@dataclass
class Snapshot:
    accounts: list[AccountRef]
    services: list[PartnerService]
    cells: dict[Cell, CellInfo]  # (service_id, account_id) -> what the ledger knows


@dataclass
class ImportResult:
    edits: list[StagedEdit] = field(default_factory=list)
    errors: list[csvio.RowError] = field(default_factory=list)
    rows: int = 0


@dataclass(frozen=True)
class DriftRow:
    """A cell whose count in a fresh source differs from the last acknowledged one."""

    service_id: str
    account_id: str
    pushed: float | None
    source: float
