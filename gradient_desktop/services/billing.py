"""The partner's view of billing reconciliation (the seed's second lane), for sandbox partners.

What an MSP sees on Synthesize's Billing page once our counts arrive: a service card per mapped
account × service (our count beside the PSA agreement's quantity), which the partner edits,
approves or dismisses; an approval updates the PSA agreement. Gradient offers no API for any of
this, so it exists only where the sandbox plays the partner: the demo and sandboxes on this
machine. Qt-free; the page and the integration check call it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from gradient_desktop.api.sandbox_admin import SandboxBillingClient
from gradient_desktop.hosts import is_loopback_host
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.wording import plural, verb
from gradient_desktop.store.models import Partner

STATE_LABELS = {
    "needs_review": "Needs review",
    "matched": "Matched",
    "approved": "Approved",
    "dismissed": "Dismissed",
}
#: Said wherever the page acts, so nobody mistakes it for a feature of their real partners.
SYNTHESIZE_NOTE = (
    "This is the partner's side, played by the sandbox. On a real partner, the MSP reviews and "
    "approves these service cards in Synthesize (Billing page); Gradient offers vendors no way "
    "to do it for them."
)


def _when(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


@dataclass(frozen=True)
class ServiceCard:
    id: str
    account_id: str
    account_name: str
    client_id: str
    client_name: str
    service_id: str
    service_name: str
    product: str
    agreement_id: str | None
    vendor_quantity: float
    vendor_updated_at: datetime | None
    psa_quantity: float
    difference: float
    unit_price: float
    unit_cost: float
    proposed_quantity: float
    proposed_price: float
    monthly_difference: float
    edited: bool
    state: str

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> ServiceCard:
        return cls(
            d["id"],
            d["accountId"],
            d["accountName"],
            d["clientId"],
            d["clientName"],
            d["serviceId"],
            d["serviceName"],
            d["product"],
            d.get("agreementId"),
            float(d["vendorQuantity"]),
            _when(d.get("vendorUpdatedAt")),
            float(d["psaQuantity"]),
            float(d["difference"]),
            float(d["unitPrice"]),
            float(d["unitCost"]),
            float(d["proposedQuantity"]),
            float(d["proposedPrice"]),
            float(d["monthlyDifference"]),
            bool(d.get("edited")),
            d["state"],
        )

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)


@dataclass
class CardGroup:
    """Cards of one client (or one service), with the money approving them would change."""

    key: str
    title: str
    cards: list[ServiceCard] = field(default_factory=list)

    @property
    def needs_review(self) -> int:
        return sum(1 for c in self.cards if c.state == "needs_review")

    @property
    def monthly_difference(self) -> float:
        return round(sum(c.monthly_difference for c in self.cards), 2)


@dataclass(frozen=True)
class Totals:
    cards: int
    needs_review: int
    monthly_difference: float  # what approving every card needing review adds (or removes)
    increases: float
    decreases: float


def group_cards(cards: list[ServiceCard], by: str = "client") -> list[CardGroup]:
    """Groups by ``client`` or ``service``, sorted by title; cards within by the other name."""
    groups: dict[str, CardGroup] = {}
    for card in cards:
        key, title = (
            (card.client_id, card.client_name)
            if by == "client"
            else (card.service_id, card.service_name)
        )
        groups.setdefault(key, CardGroup(key, title)).cards.append(card)
    for group in groups.values():
        group.cards.sort(key=lambda c: c.service_name if by == "client" else c.client_name.lower())
    return sorted(groups.values(), key=lambda g: g.title.lower())


def totals(cards: list[ServiceCard]) -> Totals:
    diffs = [c.monthly_difference for c in cards if c.state == "needs_review"]
    return Totals(
        len(cards),
        len(diffs),
        round(sum(diffs), 2),
        round(sum(d for d in diffs if d > 0), 2),
        round(sum(d for d in diffs if d < 0), 2),
    )


def totals_text(t: Totals) -> str:
    return (
        f"{t.needs_review:,} of {plural(t.cards, 'card')} {verb(t.needs_review, 'needs')} review · "
        "approving them changes the "
        f"monthly billing by {money(t.monthly_difference, signed=True)} "
        f"({money(t.increases, signed=True)} up, {money(t.decreases)} down)"
    )


def empty_text(review_only: bool) -> str:
    """What an empty page means, and what to do about it."""
    if review_only:
        return (
            "No service cards need review: every count matches the PSA, or was approved or "
            "dismissed this month."
        )
    return (
        "No counts have reached the partner's billing page yet: push usage for mapped accounts "
        "on the Usage page."
    )


def parse_number(text: str, what: str) -> float:
    """A quantity or price as typed ("12", "8.50", "$1,200"); ValueError says what to type."""
    cleaned = text.strip().replace("$", "").replace(",", "")
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"Type the {what} as a number, e.g. 12 or 8.50.") from None
    if value < 0 or value != value:  # negative or NaN
        raise ValueError(f"The {what} cannot be negative; type 0 or more.")
    return value


def money(amount: float, signed: bool = False) -> str:
    text = f"${abs(amount):,.2f}"
    if amount < 0:
        return "−" + text
    return ("+" + text) if signed and amount > 0 else text


def quantity(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


@dataclass(frozen=True)
class ChartSeries:
    """Vendor vs PSA totals of one service after each recent push (or approval)."""

    service_id: str
    service_name: str
    times: list[datetime]
    kinds: list[str]
    vendor: list[float]
    psa: list[float]


@dataclass
class Dashboard:
    cards: list[ServiceCard]
    chart: list[ChartSeries]


class BillingService:
    """Reads and changes the sandbox partner's billing; see module docstring."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def available(self, partner: Partner | None) -> bool:
        """The demo and sandboxes on this machine; never a real Gradient address."""
        if partner is None:
            return False
        if self.ctx.is_demo_url(partner.base_url):
            return True
        url = partner.base_url if "://" in partner.base_url else "https://" + partner.base_url
        return is_loopback_host(urlsplit(url).hostname or "")

    def _client(self, partner: Partner) -> SandboxBillingClient:
        if not self.available(partner):
            raise ValueError(
                "The partner's billing view exists only for the demo and local sandboxes; on "
                "a real partner the MSP reviews usage in Synthesize."
            )
        base_url = self.ctx.resolve_base_url(partner.base_url)
        return SandboxBillingClient(base_url, self.ctx.partner_key(partner))

    def _saved(self, partner: Partner) -> None:
        if self.ctx.is_demo_url(partner.base_url):
            self.ctx.demo.save()  # the demo keeps the partner's approvals across runs

    async def cards(self, partner: Partner, needs_review_only: bool = False) -> list[ServiceCard]:
        async with self._client(partner) as client:
            rows = await client.cards("needs_review" if needs_review_only else None)
        return [ServiceCard.from_wire(r) for r in rows]

    async def dashboard(self, partner: Partner, needs_review_only: bool = False) -> Dashboard:
        async with self._client(partner) as client:
            rows = await client.cards("needs_review" if needs_review_only else None)
            chart = await client.chart()
        series = [
            ChartSeries(
                s["serviceId"],
                s["serviceName"],
                [_when(p["at"]) or datetime.min for p in s["samples"]],
                [p.get("kind", "push") for p in s["samples"]],
                [float(p["vendor"]) for p in s["samples"]],
                [float(p["psa"]) for p in s["samples"]],
            )
            for s in chart
        ]
        return Dashboard([ServiceCard.from_wire(r) for r in rows], series)

    async def edit(
        self,
        partner: Partner,
        card_id: str,
        *,
        quantity: float | None = None,
        price: float | None = None,
    ) -> ServiceCard:
        for name, value in (("quantity", quantity), ("price", price)):
            if value is not None and value < 0:
                raise ValueError(f"The {name} cannot be negative; type 0 or more.")
        async with self._client(partner) as client:
            card = ServiceCard.from_wire(await client.edit(card_id, quantity=quantity, price=price))
        self._saved(partner)
        return card

    async def approve(
        self, partner: Partner, card_ids: list[str], effective: date | None = None
    ) -> list[ServiceCard]:
        async with self._client(partner) as client:
            rows = await client.approve(card_ids, effective.isoformat() if effective else None)
        self._saved(partner)
        return [ServiceCard.from_wire(r) for r in rows]

    async def dismiss(self, partner: Partner, card_ids: list[str]) -> list[ServiceCard]:
        async with self._client(partner) as client:
            rows = await client.dismiss(card_ids)
        self._saved(partner)
        return [ServiceCard.from_wire(r) for r in rows]

    async def reopen(self, partner: Partner, card_ids: list[str]) -> list[ServiceCard]:
        """Undo an approval or a dismissal: the cards wait for review again and an approved
        card's PSA agreement line gets back its quantity and price."""
        async with self._client(partner) as client:
            rows = await client.reopen(card_ids)
        self._saved(partner)
        return [ServiceCard.from_wire(r) for r in rows]

    async def agreement(self, partner: Partner, client_id: str) -> dict[str, Any] | None:
        """The client's PSA agreement (lines and history, newest change first), or None."""
        async with self._client(partner) as client:
            found = await client.agreements(client_id)
        return found[0] if found else None


def usage_summary(
    cards: list[ServiceCard], account_ids: set[str] | None = None
) -> tuple[bool, str]:
    """The QA step "usage received", read from the partner's service cards."""
    if account_ids is not None:
        cards = [c for c in cards if c.account_id in account_ids]
    if not cards:
        return False, (
            "No service cards on the partner's billing page yet: push counts for mapped "
            "accounts and services (Usage page), then check again."
        )
    by_state: dict[str, int] = defaultdict(int)
    for c in cards:
        by_state[c.state] += 1
    parts = ", ".join(
        f"{n:,} {verb(n, 'needs')} review" if s == "needs_review" else f"{n:,} {s}"
        for s, n in sorted(by_state.items())
    )
    return (
        True,
        f"The partner's billing page shows {plural(len(cards), 'service card')} with your usage "
        f"({parts}).",
    )
