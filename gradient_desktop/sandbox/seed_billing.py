"""The demo partners' PSA agreements: what the MSP already bills each client, per service.

Realistic on purpose: clients carry most services (nearly all those the vendor bills them), a quarter have a negotiated discount, and
for the clients the vendor bills, about two thirds of the PSA quantities already equal the count
the demo's first usage sync sends (so their cards are *matched*) while the rest are a few units
off (so they *need review*), as a partner who has billed by hand until now would see.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from .billing_models import AgreementLine
from .names import normalize

if TYPE_CHECKING:
    from .models import Organisation
    from .state import SandboxState

#: (unit price, unit cost) per demo SKU, in the order of `seed.DEMO_SKUS`.
DEMO_PRICES: tuple[tuple[float, float], ...] = ((45.00, 27.50), (8.50, 4.10), (3.25, 1.40))
#: How likely a client's agreement carries each demo SKU: nearly always when the vendor bills
#: that client (a few services were never added to the PSA: billing leakage the cards reveal).
DEMO_TAKE_UP = (0.7, 0.9, 0.6)
BILLED_TAKE_UP = 0.95


def demo_usage(account_id: str, service_id: str) -> int:
    """The count the demo's first usage sync pushes for a pair (services.setup.demo_usage_rows
    draws it the same way)."""
    return random.Random(f"usage:{account_id}:{service_id}").randint(1, 60)


def demo_agreement_rows(
    partner_key: str,
    clients: list[tuple[str, str]],
    vendor_customers: list[dict[str, str]],
    sku_ids: list[str],
) -> list[tuple[str, str, int, float, float]]:
    """(client id, SKU id, quantity, unit price, unit cost) of every seeded agreement line."""
    by_name = {normalize(c["name"]): c["id"] for c in vendor_customers}
    rng = random.Random(f"agreements:{partner_key}")
    rows = []
    for client_id, name in clients:
        account_id = by_name.get(normalize(name))
        discount = 0.9 if rng.random() < 0.25 else 1.0
        for sku_id, (price, cost), take_up in zip(sku_ids, DEMO_PRICES, DEMO_TAKE_UP, strict=False):
            if rng.random() >= (take_up if account_id is None else BILLED_TAKE_UP):
                continue
            if account_id is None:
                quantity = rng.randint(1, 40)
            else:
                quantity = demo_usage(account_id, sku_id)
                if rng.random() >= 0.65:
                    quantity = max(0, quantity + rng.choice((-5, -3, -2, -1, 1, 2, 4)))
            rows.append((client_id, sku_id, quantity, round(price * discount, 2), cost))
    return rows


def seed_demo_agreements(
    state: SandboxState,
    partner_key: str,
    clients: list[tuple[str, str]],
    vendor_customers: list[dict[str, str]],
    sku_ids: list[str],
) -> None:
    for client_id, sku_id, quantity, price, cost in demo_agreement_rows(
        partner_key, clients, vendor_customers, sku_ids
    ):
        state.set_agreement_line(partner_key, client_id, sku_id, quantity, price, cost)


def backfill_demo_agreements(org: Organisation) -> None:
    """A demo organisation restored from a snapshot older than the billing lane gets the
    agreements a fresh demo would have, so its cards do not all show a PSA quantity of 0."""
    from .seed import DEMO_PARTNERS, DEMO_PRODUCTS, demo_vendor_customers

    if org.seed_key not in DEMO_PARTNERS or org.billing.agreements:
        return
    by_product = {product: sid for sid, product in org.service_products.items()}
    sku_ids = [by_product[p] for p in DEMO_PRODUCTS if p in by_product]
    if len(sku_ids) != len(DEMO_PRODUCTS):
        return  # the services were remapped since: leave the PSA empty rather than guess
    clients = list(org.clients.names.items())
    customers = demo_vendor_customers(org.seed_key)
    for client_id, sku_id, quantity, price, cost in demo_agreement_rows(
        org.seed_key, clients, customers, sku_ids
    ):
        product = org.service_products[sku_id]
        org.billing.agreement_for(client_id).lines[sku_id] = AgreementLine(
            sku_id, product, float(quantity), price, cost
        )
