"""Helpers the sandbox tests share: the API prefix, tokens, a sandbox and a plain httpx client
on it, and the few request sequences many tests start with.

Deliberately not ``gradient_desktop.api``: the sandbox is the yardstick the API client is
measured against, so it is checked against the contract (docs/ARCHITECTURE.md and
vendor-api.md) on its own, with plain httpx."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from gradient_desktop.sandbox.seed import PARTNER_DEMO, VENDOR_KEY
from gradient_desktop.sandbox.server import SandboxOptions, SandboxServer

API = "/api/vendor-api"
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def token(partner_key: str = PARTNER_DEMO, vendor_key: str = VENDOR_KEY) -> str:
    return base64.b64encode(f"{vendor_key}:{partner_key}".encode()).decode()


@contextmanager
def running_sandbox(**options: Any) -> Iterator[SandboxServer]:
    opts = {"rate_limit": None, "alert_delay_ms": 50, **options}
    with SandboxServer(SandboxOptions(**opts)) as sb:
        yield sb


@contextmanager
def api_client(sb: SandboxServer, partner_key: str = PARTNER_DEMO) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sb.base_url, headers={"GRADIENT-TOKEN": token(partner_key)}, timeout=10
    ) as c:
        yield c


def sku_ids(api: httpx.Client) -> list[str]:
    return [s["id"] for s in api.get(API).json()["data"]["skus"]]


def add_mapped_account(api: httpx.Client, sb: SandboxServer, account_id: str = "a1") -> str:
    """Create an account and have the 'MSP' map it to the first client; returns the client id."""
    assert (
        api.post(
            f"{API}/organization/accounts", json=[{"id": account_id, "name": "Acme"}]
        ).status_code
        == 201
    )
    client_id = api.get(f"{API}/organization/clients").json()["clients"][0]["id"]
    r = api.post(
        "/_sandbox/map",
        json={"partnerKey": PARTNER_DEMO, "accountId": account_id, "clientId": client_id},
    )
    assert r.status_code == 200 and r.json()["isMapped"] is True
    return client_id


def page_all(api: httpx.Client, search: str | None = None) -> tuple[list[dict[str, str]], int, int]:
    """Follow previousId until a page comes back short; returns clients, total, request count."""
    seen: list[dict[str, str]] = []
    previous: str | None = None
    calls = 0
    while True:
        params = {k: v for k, v in (("search", search), ("previousId", previous)) if v}
        body = api.get(f"{API}/organization/clients", params=params).json()
        calls += 1
        seen.extend(body["clients"])
        meta = body["meta"]
        assert meta["count"] == len(body["clients"]) and meta["previousId"] == previous
        if meta["nextId"] is None:
            assert len(body["clients"]) <= meta["limit"]
            return seen, meta["total"], calls
        assert meta["nextId"] == body["clients"][-1]["id"]
        previous = meta["nextId"]


def mapped_accounts(
    base_url: str, n: int, *, partner_key: str = PARTNER_DEMO, prefix: str = "acct-"
) -> tuple[list[str], list[str]]:
    """Create ``n`` accounts (``{prefix}0`` …) mapped vendor-side to the partner's first ``n``
    clients, over HTTP as a vendor would; returns the account ids and the vendor's SKU ids."""
    headers = {"GRADIENT-TOKEN": token(partner_key)}
    api = base_url + API
    skus = [s["id"] for s in httpx.get(api, headers=headers).json()["data"]["skus"]]
    clients = httpx.get(f"{api}/organization/clients", headers=headers).json()["clients"][:n]
    accounts = [
        {"id": f"{prefix}{i}", "name": c["name"], "clientOId": c["id"]}
        for i, c in enumerate(clients)
    ]
    r = httpx.post(f"{api}/organization/accounts", headers=headers, json=accounts)
    assert r.status_code == 201, r.text
    return [a["id"] for a in accounts], skus
