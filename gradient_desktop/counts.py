"""The one shape of a unit count, from the typed cell or file row to the HTTP request.

A count travels as ``CountRow`` through every layer (staging, file parsing, sync, the outbox,
the wire policy, the API client); its operation is the ``Op`` enum, its cell is keyed
``(service_id, account_id)`` - the order of the request (``/service/{service_id}/count`` with
``accountId`` in the body) and of the ledger's index - everywhere. The running-total rule
(``apply_op``: set replaces, add/subtract move a known total, floored at 0 as Gradient floors
it) lives here too, so the staging grid, the sync's diff and the outbox project totals alike.

This module is the bottom of the layers contract (pyproject.toml): the API client, the store
and the services all import it; it imports nothing of the package.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Cell", "CountRow", "Op", "apply_op", "clamped", "parse_op"]


class Op(StrEnum):
    """What a count row does to its cell's total (stored and compared as these words)."""

    SET = "set"
    ADD = "add"
    SUBTRACT = "subtract"


#: A cell of the count grid: ``(service_id, account_id)``, in this order everywhere.
Cell = tuple[str, str]

_BY_WORD = {o.value: o for o in Op}
_MAX_KEY = 255


def parse_op(text: object) -> Op:
    """``Op`` from a word as users write it (any case, blank = set); ValueError otherwise."""
    word = str(text if text is not None else "").strip().lower() or "set"
    op = _BY_WORD.get(word)
    if op is None:
        raise ValueError(f"Unknown operation {word!r}: use set, add or subtract.")
    return op


@dataclass(frozen=True, slots=True)
class CountRow:
    """One unit count for one account × service: ``set`` the total to ``unit_count`` or
    ``add``/``subtract`` it. Checked when made, so a bad row is refused before anything is
    queued or sent; ids are kept as text and the count as a finite float >= 0.

    ``key`` is the row's idempotency key once the outbox has given it one (stable across
    retries and resumes); ``None`` lets the API client make a fresh one per request, ``""``
    sends none. Gradient is not known to honour it: nothing depends on it (vendor-api.md §13).
    """

    service_id: str
    account_id: str
    unit_count: float
    op: Op = Op.SET
    key: str | None = None

    def __post_init__(self) -> None:
        # The common case (str ids, a float, an Op) costs three type checks and no copy.
        op = self.op
        if type(op) is not Op:
            if op not in _BY_WORD:
                raise ValueError(f"Unknown operation {op!r}: use set, add or subtract.")
            object.__setattr__(self, "op", _BY_WORD[op])
        count = self.unit_count
        if type(count) is not float:
            try:
                if isinstance(count, bool):
                    raise TypeError
                count = float(count)  # int, Decimal, or digits read from a file or the db
            except (TypeError, ValueError):
                raise ValueError(f"Unit count {count!r} must be a number.") from None
            object.__setattr__(self, "unit_count", count)
        if not math.isfinite(count):
            raise ValueError(f"Unit count {count!r} must be a finite number >= 0.")
        if count < 0:
            raise ValueError(f"Unit count {count!r} for account {self.account_id!r} is below 0.")
        service, account = self.service_id, self.account_id
        if type(service) is not str or type(account) is not str:
            # Ids read from SQLite or JSON may be numbers: text, so cells compare equal.
            service = "" if service is None else str(service)
            account = "" if account is None else str(account)
            object.__setattr__(self, "service_id", service)
            object.__setattr__(self, "account_id", account)
        if not service or not account:
            raise ValueError("Every count row needs a service id and an account id.")
        key = self.key
        if key and (len(key) > _MAX_KEY or not (key.isascii() and key.isprintable())):
            raise ValueError("A row key must be printable ASCII, at most 255 characters.")

    @property
    def cell(self) -> Cell:
        """``(service_id, account_id)``: the one key order of a count."""
        return (self.service_id, self.account_id)

    def with_key(self, key: str | None) -> CountRow:
        return CountRow(self.service_id, self.account_id, self.unit_count, self.op, key)


def apply_op(total: float | None, op: str, count: float) -> float | None:
    """The total after ``op``: set replaces, add/subtract adjust a known total (else None).

    Gradient keeps a count at 0 or above (a subtract below 0 lands as 0), so projections floor
    the same way; ``clamped`` tells whether that happened.
    """
    if op == Op.SET:
        return count
    if total is None:
        return None
    return total + count if op == Op.ADD else max(0.0, total - count)


def clamped(total: float | None, op: str, count: float) -> bool:
    """True when ``op`` on ``total`` would go below 0 and is floored (see ``apply_op``)."""
    return op == Op.SUBTRACT and total is not None and total - count < 0
