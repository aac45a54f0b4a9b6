"""The partner's billing data in the sandbox: PSA agreements, service cards and their history.

Plain dataclasses with a JSON form (``dump``/``load``), held by each `Organisation` as
``org.billing``. The rules that change them live in `state_billing.py`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

#: "Not given" in an edit, as opposed to None ("clear my edit").
UNSET: Any = object()
#: Card states, as the partner's billing dashboard names them.
CARD_STATES = ("matched", "needs_review", "approved", "dismissed")
#: Samples kept per service for the "vendor vs PSA" chart.
MAX_SAMPLES = 40


@dataclass
class AgreementLine:
    """One recurring service on a PSA agreement, mapped from a vendor service."""

    service_id: str
    product: str
    quantity: float
    unit_price: float
    unit_cost: float


@dataclass
class Agreement:
    """A PSA client's agreement (contract) with its recurring services and its change history."""

    id: str
    client_id: str
    name: str
    lines: dict[str, AgreementLine] = field(default_factory=dict)  # by vendor service id
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Card:
    """A service card: one mapped account × service, the vendor's count against the PSA's."""

    account_id: str
    service_id: str
    vendor_quantity: float
    vendor_updated_at: str
    state: str = "needs_review"
    # What the partner typed before approving (None: take the vendor quantity / current price).
    edit_quantity: float | None = None
    edit_price: float | None = None
    # Once reviewed (approved or dismissed): the month (YYYY-MM) and the vendor value reviewed,
    # so the same value does not bring the card back that month.
    reviewed_month: str | None = None
    reviewed_value: float | None = None
    reviewed_at: str | None = None

    @property
    def id(self) -> str:
        return card_id(self.account_id, self.service_id)


def card_id(account_id: str, service_id: str) -> str:
    return f"{account_id}|{service_id}"


@dataclass
class BillingBook:
    """Everything billing-related an organisation holds."""

    agreements: dict[str, Agreement] = field(default_factory=dict)  # by PSA client id
    cards: dict[str, Card] = field(default_factory=dict)  # by card id
    # service id -> [{at, vendor, psa}], oldest first, bounded: the chart's data.
    samples: dict[str, deque[dict[str, Any]]] = field(default_factory=dict)
    next_agreement: int = 10_001

    def agreement_for(self, client_id: str) -> Agreement:
        """The client's agreement; a new, empty one when the PSA has none yet."""
        agreement = self.agreements.get(client_id)
        if agreement is None:
            agreement = Agreement(
                f"AGR-{self.next_agreement}", client_id, "Managed Services Agreement"
            )
            self.next_agreement += 1
            self.agreements[client_id] = agreement
        return agreement

    def dump(self) -> dict[str, Any]:
        return {
            "agreements": [
                {**asdict(a), "lines": [asdict(line) for line in a.lines.values()]}
                for a in self.agreements.values()
            ],
            "cards": [asdict(c) for c in self.cards.values()],
            "samples": {s: list(v) for s, v in self.samples.items()},
            "nextAgreement": self.next_agreement,
        }

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> BillingBook:
        book = cls()
        if not data:
            return book
        for a in data.get("agreements", []):
            lines = {ln["service_id"]: AgreementLine(**ln) for ln in a["lines"]}
            agreement = Agreement(a["id"], a["client_id"], a["name"], lines, list(a["history"]))
            book.agreements[agreement.client_id] = agreement
        for c in data.get("cards", []):
            card = Card(**c)
            book.cards[card.id] = card
        book.samples = {s: deque(v, maxlen=MAX_SAMPLES) for s, v in data.get("samples", {}).items()}
        book.next_agreement = int(data.get("nextAgreement", book.next_agreement))
        return book


def first_of_next_month(today: date | None = None) -> date:
    """Gradient's default effective date of an approval."""
    today = today or datetime.now(UTC).date()
    return date(today.year + today.month // 12, today.month % 12 + 1, 1)


def month_of(stamp: str | None = None) -> str:
    """The billing month (YYYY-MM) of an ISO time stamp, or of now."""
    return (stamp or datetime.now(UTC).isoformat())[:7]


def non_negative(value: Any, name: str) -> float:
    """A quantity or price from a JSON body; the sandbox answers 400 otherwise."""
    from .models import SandboxError  # models imports this module: no cycle at import time

    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise SandboxError(400, f"{name} must be a number of 0 or more")
    return float(value)
