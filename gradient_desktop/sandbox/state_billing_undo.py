"""Undoing an approval or a dismissal on the partner's billing page (the sandbox's MSP side).

A partner who approved the wrong card takes it back the moment they notice: the card waits for
review again (with the quantity and price they had typed), and an approval's PSA agreement line
returns to the quantity and price it had before, recorded in the agreement's history as
*approval undone* (the PSA keeps a record of both changes). Refused (409) when the card's count
or the agreement line changed since: undoing then would overwrite a newer decision. Mixed into
`SandboxState` after `BillingMixin`, whose helpers it uses.
"""

from __future__ import annotations

from typing import Any

from .billing_models import Card
from .models import Organisation, SandboxError, iso
from .state_billing import BillingMixin


class BillingUndoMixin(BillingMixin):
    """``billing_reopen``; see module docstring."""

    def billing_reopen(self, partner_key: str, card_ids: list[str]) -> list[dict[str, Any]]:
        """Cards approved or dismissed go back to *needs review*; all or nothing."""
        with self.lock:
            org = self._org(partner_key)
            picked = []
            for card, client in self._cards_by_id(org, card_ids):
                cid = card.id
                if card.state not in ("approved", "dismissed"):
                    raise SandboxError(409, f"Service card {cid} is {card.state}: nothing to undo")
                if card.reviewed_value != card.vendor_quantity:
                    raise SandboxError(
                        409, f"Service card {cid} has a newer count since it was reviewed"
                    )
                entry = self._approval_of(org, card, client) if card.state == "approved" else None
                picked.append((card, client, entry))
            stamp = iso()
            for card, client, entry in picked:
                if entry is not None:
                    self._revert_line(org, card, client, entry, stamp)
                line = self._line(org, client, card.service_id)
                psa = line.quantity if line is not None else 0.0
                card.state = "matched" if card.vendor_quantity == psa else "needs_review"
                card.reviewed_month = card.reviewed_value = card.reviewed_at = None
            for service_id in {card.service_id for card, _client, entry in picked if entry}:
                self._sample_touch(org, service_id, "approval")
                self._sample_close(org, service_id)
            return [
                self._card_wire(org, card, self._line(org, client, card.service_id), client)
                for card, client, _entry in picked
            ]

    def _approval_of(self, org: Organisation, card: Card, client: str) -> dict[str, Any]:
        """The history entry the card's approval wrote, checked to be the line's latest change."""
        agreement = org.billing.agreements.get(client)
        line = self._line(org, client, card.service_id)
        entries = [
            h
            for h in (agreement.history if agreement is not None else [])
            if h["serviceId"] == card.service_id
        ]
        last = entries[-1] if entries else None
        if (
            last is None
            or line is None
            or last.get("action") != "approved"
            or last["at"] != card.reviewed_at
            or (line.quantity, line.unit_price) != (last["quantityTo"], last["priceTo"])
        ):
            raise SandboxError(
                409, f"The PSA agreement changed since service card {card.id} was approved"
            )
        return last

    def _revert_line(
        self, org: Organisation, card: Card, client: str, entry: dict[str, Any], stamp: str
    ) -> None:
        agreement = org.billing.agreement_for(client)
        line = agreement.lines[card.service_id]
        agreement.history.append(
            {
                **entry,
                "at": stamp,
                "quantityFrom": entry["quantityTo"],
                "quantityTo": entry["quantityFrom"],
                "priceFrom": entry["priceTo"],
                "priceTo": entry["priceFrom"],
                "action": "undone",
            }
        )
        if entry.get("newLine"):  # the approval put the service on the agreement: take it off
            del agreement.lines[card.service_id]
        else:
            line.quantity, line.unit_price = entry["quantityFrom"], entry["priceFrom"]
        # What the partner had typed before approving comes back with the card.
        if entry["quantityTo"] != card.vendor_quantity:
            card.edit_quantity = entry["quantityTo"]
        if entry["priceTo"] != entry["priceFrom"]:
            card.edit_price = entry["priceTo"]
