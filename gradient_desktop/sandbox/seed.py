"""Deterministic seeds for the sandbox (`demo`, `empty`) and the vendor's own customer list.

Everything derives from fixed random seeds, so the same partner key always yields the same
client ids and names on every machine and run; demo screenshots and tests can rely on that.
"""

from __future__ import annotations

import random
from typing import Any

from .models import new_guid
from .names import company_names, normalize, vendor_spelling
from .state import SandboxState

VENDOR_KEY = "sandbox-vendor-demo"
VENDOR_NAME = "Northwind Cloud Backup"
PARTNER_DEMO = "sandbox-partner-demo"
PARTNER_SMALL = "sandbox-partner-small"

# partner key -> (organisation name, number of PSA clients)
DEMO_PARTNERS: dict[str, tuple[str, int]] = {
    PARTNER_DEMO: ("Contoso Managed Services", 200),
    PARTNER_SMALL: ("Fabrikam IT Partners", 25),
}

DEMO_SKUS: tuple[dict[str, str], ...] = (
    {
        "name": "Cloud Backup – Server",
        "description": "Image-level backup of one server to Northwind cloud storage, billed per protected server.",
        "category": "backup",
        "subcategory": "cloud backup",
        "supportArticle": "https://support.northwind.example/backup-server",
        "supportContact": "support@northwind.example",
    },
    {
        "name": "Cloud Backup – Workstation",
        "description": "File and folder backup of one workstation, billed per protected device.",
        "category": "backup",
        "subcategory": "desktop backup",
        "supportArticle": "https://support.northwind.example/backup-workstation",
        "supportContact": "support@northwind.example",
    },
    {
        "name": "Email Archiving",
        "description": "Compliance archive of one mailbox with 10-year retention, billed per mailbox.",
        "category": "backup",
        "subcategory": "data archiving",
        "supportArticle": "https://support.northwind.example/archiving",
        "supportContact": "support@northwind.example",
    },
)
# PSA products the "MSP" mapped each SKU to, in the demo seed.
DEMO_PRODUCTS = (
    "NW-BKP-SRV Server Backup (monthly)",
    "NW-BKP-WKS Workstation Backup (monthly)",
    "NW-ARC-MBX Mailbox Archiving (monthly)",
)
SEED_TIME = "2024-01-15T09:30:00.000Z"
SEED_EPOCH = 1705311000.0  # SEED_TIME as epoch seconds
from .options import SEEDS  # noqa: E402  (one list, shared with the CLI)


def _demo_clients(partner_key: str) -> list[tuple[str, str]]:
    """The PSA clients of a demo partner: (GUID, name), the same on every run."""
    _org_name, n = DEMO_PARTNERS[partner_key]
    rng = random.Random(f"clients:{partner_key}")
    # The one the docs use as an example, so "ACME Corp." vs "Acme Corporation" is in the demo.
    first = ("Acme Corporation",) if partner_key == PARTNER_DEMO else ()
    names = company_names(rng, n, first=first)
    return [(new_guid(rng), name) for name in names]


def seed_state(state: SandboxState, seed: str = "demo") -> SandboxState:
    """Fill `state` with a seed.

    * `demo`: vendor with 3 SKUs, both demo partners, every SKU mapped to a PSA product.
    * `empty`: same keys, vendor and partners (with their PSA clients), but no SKUs and no
      service mappings: the vendor publishes its catalogue from scratch.
    """
    if seed not in SEEDS:
        raise ValueError(f"unknown seed {seed!r}; choose one of {', '.join(SEEDS)}")
    state.id_time = SEED_EPOCH  # same ids on every run
    try:
        _fill(state, seed)
    finally:
        state.id_time = None
    return state


def _fill(state: SandboxState, seed: str) -> None:
    state.add_vendor(
        VENDOR_KEY,
        VENDOR_NAME,
        "Offsite backup and archiving for managed service providers.",
        created_at=SEED_TIME,
        updated_at=SEED_TIME,
        integration_portal_url="https://portal.northwind.example/gradient",
        vendor_support_page_url="https://support.northwind.example",
    )
    sku_ids: list[str] = []
    if seed == "demo":
        for sku in DEMO_SKUS:
            wire = state.create_sku(VENDOR_KEY, dict(sku))
            sku_ids.append(wire["skus"][-1]["id"])
        with state.lock:  # creating SKUs touched updatedAt; a seed should look settled
            state.vendors[VENDOR_KEY].updated_at = SEED_TIME
    for partner_key, (org_name, _n) in DEMO_PARTNERS.items():
        state.add_organization(VENDOR_KEY, partner_key, org_name, _demo_clients(partner_key))
        # The empty seed has no SKUs, so nothing is mapped: a short zip on purpose.
        for sku_id, product in zip(sku_ids, DEMO_PRODUCTS, strict=False):
            state.map_service(partner_key, sku_id, product)
        if sku_ids:  # the MSP's PSA agreements for those services (the billing lane)
            _seed_agreements(state, partner_key, sku_ids)


def _seed_agreements(state: SandboxState, partner_key: str, sku_ids: list[str]) -> None:
    from .seed_billing import seed_demo_agreements

    customers = demo_vendor_customers(partner_key)
    seed_demo_agreements(state, partner_key, _demo_clients(partner_key), customers, sku_ids)


def make_state(seed: str = "demo", random_seed: int = 1234) -> SandboxState:
    return seed_state(SandboxState(random_seed=random_seed), seed)


_PLANS = (
    "Server Pro",
    "Workstation 25",
    "Workstation 100",
    "Archive 50 GB",
    "Archive Unlimited",
    "Server + Archive bundle",
    "Essentials",
)


def demo_vendor_customers(
    partner_key: str, state: SandboxState | None = None
) -> list[dict[str, Any]]:
    """The vendor's own customer list for a demo partner (what the vendor pushes as accounts).

    The same companies as that partner's PSA clients but spelled the vendor's way ("ACME Corp."
    for "Acme Corporation"), about 90 % of them, plus a few customers the MSP does not have.
    Ids are `cust-0001`, ... Pass `state` to resolve a key issued by a reconnect or rotation.
    """
    if state is not None and partner_key not in DEMO_PARTNERS:
        partner_key = state.seed_key(partner_key)
    if partner_key not in DEMO_PARTNERS:
        raise KeyError(f"not a demo partner key: {partner_key!r}")
    rng = random.Random(f"vendor-customers:{partner_key}")
    clients = _demo_clients(partner_key)
    # Every tenth client is one the vendor does not bill (never Acme, the docs' example).
    missing = set(rng.sample(range(1, len(clients)), k=round(len(clients) * 0.1)))
    names: list[str] = []
    for i, (_cid, name) in enumerate(clients):
        if name == "Acme Corporation":
            names.append("ACME Corp.")
        elif i not in missing:
            names.append(name if rng.random() < 0.1 else vendor_spelling(name, rng))
    taken = {normalize(n) for _cid, n in clients}
    extra = max(2, len(names) // 40)
    only_vendor = [
        n
        for n in company_names(random.Random(f"vendor-only:{partner_key}"), extra * 3)
        if normalize(n) not in taken
    ][:extra]
    # Vendor-only customers sit among the others, as they would in a real export.
    for name in only_vendor:
        names.insert(rng.randrange(len(names) + 1), name)
    return [
        {"id": f"cust-{i:04d}", "name": name, "description": f"Plan: {rng.choice(_PLANS)}"}
        for i, name in enumerate(names, start=1)
    ]


def make_large_partner(
    state: SandboxState,
    partner_key: str,
    n_clients: int,
    *,
    vendor_key: str = VENDOR_KEY,
    name: str | None = None,
) -> str:
    """A partner with `n_clients` PSA clients, for paging benchmarks; returns its organisationId.

    Names need not be unique at this size, which keeps 50,000 clients well under a second. All
    vendor SKUs are mapped, as in the demo seed.
    """
    rng = random.Random(f"large:{partner_key}:{n_clients}")
    names = company_names(rng, n_clients, unique=False)
    getrandbits = rng.getrandbits
    clients = [(new_guid_fast(getrandbits(128)), n) for n in names]
    org_id = state.add_organization(
        vendor_key, partner_key, name or f"Large Partner ({n_clients:,} clients)", clients
    )
    for sku in state.vendor(vendor_key)["skus"]:
        state.map_service(partner_key, sku["id"], f"{sku['name']} (PSA)")
    return org_id


def add_mapped_accounts(state: SandboxState, partner_key: str, accounts: int) -> None:
    """Vendor accounts ``acc-0 … acc-{accounts-1}``, each mapped to one of the partner's first
    clients (for benchmarks and tests that push counts to a large partner)."""
    client_ids = list(state.client_names(partner_key))
    state.create_accounts(
        partner_key, [{"id": f"acc-{i}", "name": f"Account {i}"} for i in range(accounts)]
    )
    for i in range(accounts):
        state.map_account(partner_key, f"acc-{i}", client_ids[i])


def new_guid_fast(bits: int) -> str:
    """A version-4 GUID string from 128 random bits without building a `uuid.UUID`."""
    bits = (bits & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (0x8000 << 48)
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
