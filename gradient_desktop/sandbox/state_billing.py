"""The partner's billing reconciliation in the sandbox: service cards and PSA agreements.

What a partner does with our counts in Synthesize (the seed's second lane): every mapped
account × service gets a *service card* comparing the vendor's last count with the quantity on
the client's PSA agreement. A card needs review only when the two differ; once it is approved or
dismissed for the month it stays quiet unless the vendor's value changes again (or a new month
starts). Approving writes the quantity (and a price the partner edited) to the PSA agreement and
records the change in that agreement's history. Mixed into `SandboxState`; public methods take
the lock, ``_billing_on_count`` is called by the count path with the lock held.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import date
from typing import TYPE_CHECKING, Any

from .billing_models import (
    CARD_STATES,
    MAX_SAMPLES,
    UNSET,
    AgreementLine,
    BillingBook,
    Card,
    first_of_next_month,
    month_of,
    non_negative,
)
from .models import Organisation, SandboxError, Vendor, iso


class BillingMixin:
    """Service cards, approvals and agreement history; see module docstring."""

    if TYPE_CHECKING:  # provided by SandboxState
        lock: threading.Lock
        vendors: dict[str, Vendor]

        def _org(self, partner_key: str) -> Organisation: ...

    # --- snapshot -----------------------------------------------------------------------------

    @staticmethod
    def _billing_snapshot(org: Organisation) -> dict[str, Any]:
        return {"billing": org.billing.dump()}

    @classmethod
    def _billing_restore(cls, org: Organisation, data: dict[str, Any]) -> None:
        org.billing = BillingBook.load(data.get("billing"))
        if "billing" not in data:  # saved before the billing lane existed
            from .seed_billing import backfill_demo_agreements

            backfill_demo_agreements(org)
            # The counts it holds were received: the partner's page shows them as cards.
            for (service_id, account_id), count in org.counts.items():
                account = org.accounts.get(account_id)
                line = cls._line(org, account.client_id if account else None, service_id)
                value = float(count["unitCount"])
                card = Card(account_id, service_id, value, count["updatedAt"])
                if value == (line.quantity if line is not None else 0.0):
                    card.state = "matched"
                org.billing.cards[card.id] = card

    # --- building (seeds, tests) --------------------------------------------------------------

    def set_agreement_line(
        self,
        partner_key: str,
        client_id: str,
        service_id: str,
        quantity: float,
        unit_price: float,
        unit_cost: float = 0.0,
        product: str | None = None,
    ) -> str:
        """Put a recurring service on a client's PSA agreement (created if missing); returns
        the agreement id. Seeds use it; it records no history (it is the starting contract)."""
        with self.lock:
            org = self._org(partner_key)
            if client_id not in org.clients:
                raise SandboxError(404, f"Client not found with id: {client_id}")
            agreement = org.billing.agreement_for(client_id)
            name = product or org.service_products.get(service_id) or service_id
            agreement.lines[service_id] = AgreementLine(
                service_id, name, float(quantity), float(unit_price), float(unit_cost)
            )
            return agreement.id

    # --- the hook on the count path -------------------------------------------------------------

    def _billing_on_count(
        self, org: Organisation, service_id: str, account_id: str, value: float, stamp: str
    ) -> None:
        """A count was recorded (lock held): create or update its service card. O(1), since
        large pushes call it once per row."""
        book = org.billing
        account = org.accounts.get(account_id)
        client_id = account.client_id if account is not None else None
        line = self._line(org, client_id, service_id)
        psa = line.quantity if line is not None else 0.0
        self._sample_touch(org, service_id)
        card = book.cards.get(f"{account_id}|{service_id}")
        if card is None:
            card = Card(account_id, service_id, value, stamp)
            card.state = "matched" if value == psa else "needs_review"
            book.cards[card.id] = card
            return
        changed = value != card.vendor_quantity
        card.vendor_quantity, card.vendor_updated_at = value, stamp
        reviewed_now = (
            card.state in ("approved", "dismissed")
            and card.reviewed_value == value
            and card.reviewed_month == month_of(stamp)
        )
        if reviewed_now:
            return  # reconciled this month at this value: it does not come back
        if value == psa:
            card.state = "matched"
            card.edit_quantity = card.edit_price = None
        elif card.state != "needs_review" or changed:
            card.state = "needs_review"
            card.edit_quantity = None  # an edit was about the previous value

    @staticmethod
    def _line(org: Organisation, client_id: str | None, service_id: str) -> AgreementLine | None:
        if client_id is None:
            return None
        agreement = org.billing.agreements.get(client_id)
        return agreement.lines.get(service_id) if agreement is not None else None

    # --- chart samples ------------------------------------------------------------------------

    def _sample_touch(self, org: Organisation, service_id: str, kind: str = "push") -> None:
        """Counts of one push share a sample (a push ends with the billing rebuild its last
        row asks for); its totals are taken once the push is over. An approval always starts
        its own sample."""
        samples = org.billing.samples.setdefault(service_id, deque(maxlen=MAX_SAMPLES))
        rebuilds = len(org.rebuild_times)
        last = samples[-1] if samples else None
        if (
            last
            and kind == "push" == last.get("kind", "push")
            and last.get("rebuilds") == rebuilds  # no rebuild since: the same push
        ):
            last["open"] = True
            return
        self._sample_close(org, service_id)
        samples.append(
            {"at": iso(), "rebuilds": rebuilds, "open": True, "kind": kind, "vendor": 0, "psa": 0}
        )

    def _sample_close(self, org: Organisation, service_id: str) -> None:
        samples = org.billing.samples.get(service_id)
        if samples and samples[-1].get("open"):
            vendor = psa = 0.0
            for card, line, _client in self._cards_of(org):
                if card.service_id == service_id:
                    vendor += card.vendor_quantity
                    psa += line.quantity if line is not None else 0.0
            samples[-1].update(vendor=vendor, psa=psa, open=False)

    def _cards_of(self, org: Organisation) -> list[tuple[Card, AgreementLine | None, str]]:
        """Cards the partner sees now: a mapped account × mapped service with a count (a
        disconnect deletes accounts and counts, and with them the cards)."""
        rows = []
        for card in org.billing.cards.values():
            account = org.accounts.get(card.account_id)
            if (
                account is None
                or account.client_id is None
                or card.service_id not in org.service_products
                or (card.service_id, card.account_id) not in org.counts
            ):
                continue
            line = self._line(org, account.client_id, card.service_id)
            rows.append((card, line, account.client_id))
        return rows

    # --- reading ------------------------------------------------------------------------------

    def _list_price(self, org: Organisation, service_id: str) -> tuple[float, float]:
        for agreement in org.billing.agreements.values():
            line = agreement.lines.get(service_id)
            if line is not None:
                return line.unit_price, line.unit_cost
        return 0.0, 0.0

    def _service_name(self, org: Organisation, service_id: str) -> str:
        if service_id in org.services:
            return org.services[service_id].name
        sku = self.vendors[org.vendor_key].sku(service_id)
        return sku["name"] if sku else service_id

    def _card_wire(
        self, org: Organisation, card: Card, line: AgreementLine | None, client_id: str
    ) -> dict[str, Any]:
        psa = line.quantity if line is not None else 0.0
        price, cost = (
            (line.unit_price, line.unit_cost)
            if line is not None
            else self._list_price(org, card.service_id)
        )
        quantity = card.edit_quantity if card.edit_quantity is not None else card.vendor_quantity
        new_price = card.edit_price if card.edit_price is not None else price
        agreement = org.billing.agreements.get(client_id)
        return {
            "id": card.id,
            "accountId": card.account_id,
            "accountName": org.accounts[card.account_id].name,
            "clientId": client_id,
            "clientName": org.clients.names.get(client_id, client_id),
            "serviceId": card.service_id,
            "serviceName": self._service_name(org, card.service_id),
            "product": org.service_products[card.service_id],
            "agreementId": agreement.id if agreement is not None else None,
            "vendorQuantity": card.vendor_quantity,
            "vendorUpdatedAt": card.vendor_updated_at,
            "psaQuantity": psa,
            "difference": card.vendor_quantity - psa,
            "unitPrice": price,
            "unitCost": cost,
            "proposedQuantity": quantity,
            "proposedPrice": new_price,
            # What approving would change on the monthly invoice.
            "monthlyDifference": round(quantity * new_price - psa * price, 2)
            if card.state == "needs_review"
            else 0.0,
            "edited": card.edit_quantity is not None or card.edit_price is not None,
            "state": card.state,
            "reviewedAt": card.reviewed_at,
        }

    def billing_cards(self, partner_key: str, state: str | None = None) -> list[dict[str, Any]]:
        """The partner's service cards, optionally only those in `state`."""
        if state is not None and state not in CARD_STATES:
            raise SandboxError(400, f"state must be one of: {', '.join(CARD_STATES)}")
        with self.lock:
            org = self._org(partner_key)
            return [
                self._card_wire(org, card, line, client)
                for card, line, client in self._cards_of(org)
                if state is None or card.state == state
            ]

    def billing_agreements(
        self, partner_key: str, client_id: str | None = None
    ) -> list[dict[str, Any]]:
        """PSA agreements (all, or one client's) with their lines and history, newest first."""
        with self.lock:
            org = self._org(partner_key)
            agreements = [
                a
                for a in org.billing.agreements.values()
                if client_id is None or a.client_id == client_id
            ]
            return [
                {
                    "id": a.id,
                    "name": a.name,
                    "clientId": a.client_id,
                    "clientName": org.clients.names.get(a.client_id, a.client_id),
                    "lines": [
                        {
                            "serviceId": ln.service_id,
                            "product": ln.product,
                            "quantity": ln.quantity,
                            "unitPrice": ln.unit_price,
                            "unitCost": ln.unit_cost,
                        }
                        for ln in a.lines.values()
                    ],
                    "history": list(reversed(a.history)),
                }
                for a in agreements
            ]

    def billing_chart(self, partner_key: str) -> list[dict[str, Any]]:
        """Per mapped service: vendor and PSA totals after each of the last pushes/approvals."""
        with self.lock:
            org = self._org(partner_key)
            out = []
            for service_id in org.service_products:
                self._sample_close(org, service_id)
                samples = org.billing.samples.get(service_id, ())
                out.append(
                    {
                        "serviceId": service_id,
                        "serviceName": self._service_name(org, service_id),
                        "samples": [
                            {
                                "at": s["at"],
                                "kind": s.get("kind", "push"),
                                "vendor": s["vendor"],
                                "psa": s["psa"],
                            }
                            for s in samples
                        ],
                    }
                )
            return out

    # --- the partner's actions ----------------------------------------------------------------

    def _cards_by_id(self, org: Organisation, card_ids: list[str]) -> list[tuple[Card, str]]:
        """(card, client) for each id, in order; 404 for an id the partner cannot see."""
        visible = {card.id: (card, client) for card, _line, client in self._cards_of(org)}
        missing = next((cid for cid in card_ids if cid not in visible), None)
        if missing is not None:
            raise SandboxError(404, f"Service card not found with id: {missing}")
        return [visible[cid] for cid in card_ids]

    def _reviewable(self, org: Organisation, card_ids: list[str]) -> list[tuple[Card, str]]:
        picked = self._cards_by_id(org, card_ids)
        for card, _client in picked:
            if card.state != "needs_review":
                raise SandboxError(
                    409, f"Service card {card.id} is {card.state}, not waiting for review"
                )
        return picked

    def billing_edit(
        self, partner_key: str, card_id: str, *, quantity: Any = UNSET, price: Any = UNSET
    ) -> dict[str, Any]:
        """The partner types a quantity and/or price before approving (None resets it)."""
        with self.lock:
            org = self._org(partner_key)
            ((card, client),) = self._reviewable(org, [card_id])
            if quantity is not UNSET:
                card.edit_quantity = (
                    None if quantity is None else non_negative(quantity, "quantity")
                )
            if price is not UNSET:
                card.edit_price = None if price is None else non_negative(price, "price")
            return self._card_wire(org, card, self._line(org, client, card.service_id), client)

    def billing_approve(
        self, partner_key: str, card_ids: list[str], effective_date: str | None = None
    ) -> list[dict[str, Any]]:
        """Approve cards: each one's PSA agreement line takes the (edited) quantity and price
        from `effective_date` (default: the first of next month); all or nothing."""
        try:
            effective = (
                date.fromisoformat(effective_date) if effective_date else first_of_next_month()
            )
        except ValueError:
            raise SandboxError(400, "effectiveDate must be a date like 2025-02-01") from None
        with self.lock:
            org = self._org(partner_key)
            picked = self._reviewable(org, card_ids)
            stamp = iso()
            for card, client in picked:
                self._sample_close(org, card.service_id)
                agreement = org.billing.agreement_for(client)
                line = agreement.lines.get(card.service_id)
                new_line = line is None
                if line is None:  # the PSA did not bill this service yet: a new recurring line
                    price, cost = self._list_price(org, card.service_id)
                    line = AgreementLine(
                        card.service_id, org.service_products[card.service_id], 0.0, price, cost
                    )
                    agreement.lines[card.service_id] = line
                quantity = (
                    card.edit_quantity if card.edit_quantity is not None else card.vendor_quantity
                )
                price = card.edit_price if card.edit_price is not None else line.unit_price
                agreement.history.append(
                    {
                        "at": stamp,
                        "effectiveDate": effective.isoformat(),
                        "serviceId": card.service_id,
                        "product": line.product,
                        "accountName": org.accounts[card.account_id].name,
                        "vendorQuantity": card.vendor_quantity,
                        "quantityFrom": line.quantity,
                        "quantityTo": quantity,
                        "priceFrom": line.unit_price,
                        "priceTo": price,
                        "action": "approved",
                        "newLine": new_line,  # undo takes the line off again
                    }
                )
                line.quantity, line.unit_price = quantity, price
                self._reviewed(card, "approved", stamp)
            for service_id in {card.service_id for card, _client in picked}:
                self._sample_touch(org, service_id, "approval")
                self._sample_close(org, service_id)
            return [
                self._card_wire(org, card, self._line(org, client, card.service_id), client)
                for card, client in picked
            ]

    def billing_dismiss(self, partner_key: str, card_ids: list[str]) -> list[dict[str, Any]]:
        """Dismiss cards: the PSA agreement stays as it is; quiet for the month at this value."""
        with self.lock:
            org = self._org(partner_key)
            picked = self._reviewable(org, card_ids)
            stamp = iso()
            for card, _client in picked:
                self._reviewed(card, "dismissed", stamp)
            return [
                self._card_wire(org, card, self._line(org, client, card.service_id), client)
                for card, client in picked
            ]

    @staticmethod
    def _reviewed(card: Card, state: str, stamp: str) -> None:
        card.state = state
        card.reviewed_month, card.reviewed_value, card.reviewed_at = (
            month_of(stamp),
            card.vendor_quantity,
            stamp,
        )
        card.edit_quantity = card.edit_price = None
