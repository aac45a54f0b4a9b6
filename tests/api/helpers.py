"""Helpers the API client tests share: made-up keys (they must never show up in text), fast
retry options, a client on any address, a fresh sandbox partner, the busiest one-second
window of a list of send times."""

from __future__ import annotations

import uuid

from gradient_desktop.api import ClientOptions, Credentials, VendorApiClient
from gradient_desktop.sandbox.seed import PARTNER_DEMO, VENDOR_KEY, make_large_partner
from gradient_desktop.sandbox.server import SandboxServer

VENDOR = "vendor-key-SECRET-1234"
PARTNER = "partner-key-SECRET-5678"
FAST = ClientOptions(backoff_base=0.001, backoff_cap=0.01, rate_limit_per_s=None)


def client_for(
    url: str,
    partner: str = PARTNER_DEMO,
    vendor: str = VENDOR_KEY,
    options: ClientOptions | None = None,
) -> VendorApiClient:
    return VendorApiClient(url, Credentials(vendor, partner), options)


def new_partner(sb: SandboxServer, n_clients: int = 50) -> str:
    """A fresh partner (own rebuild counter, accounts, counts) with every SKU mapped."""
    key = f"test-partner-{uuid.uuid4().hex[:12]}"
    make_large_partner(sb.state, key, n_clients)
    return key


def max_in_window(times: list[float]) -> int:
    """The most send times that fall in any one second (a sliding window)."""
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best
