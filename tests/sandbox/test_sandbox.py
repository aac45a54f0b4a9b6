"""Tests of the Gradient sandbox over real sockets with plain httpx.

Deliberately not through `gradient_desktop.api`: the sandbox is the yardstick the API client is
measured against, so it is checked against the contract (docs/ARCHITECTURE.md and
vendor-api.md) on its own.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from gradient_desktop.sandbox.models import NEVER_SYNCED, SUBCATEGORIES, SandboxError
from gradient_desktop.sandbox.names import normalize
from gradient_desktop.sandbox.seed import (
    PARTNER_DEMO,
    PARTNER_SMALL,
    VENDOR_KEY,
    demo_vendor_customers,
    make_large_partner,
    make_state,
)
from gradient_desktop.sandbox.server import SandboxOptions, SandboxServer
from gradient_desktop.sandbox.state import SandboxState

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


@pytest.fixture
def sb() -> Iterator[SandboxServer]:
    with running_sandbox() as server:
        yield server


@pytest.fixture
def api(sb: SandboxServer) -> Iterator[httpx.Client]:
    with api_client(sb) as c:
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


# --- auth -----------------------------------------------------------------------------------


def test_auth_rejects_missing_malformed_and_mismatched_tokens(sb: SandboxServer) -> None:
    url = sb.base_url + API + "/organization"
    bad_tokens = [
        None,
        "not base64!",
        base64.b64encode(b"no-colon").decode(),
        token("wrong-partner"),
        token(PARTNER_DEMO, "wrong-vendor"),
        "Bearer " + token(),
    ]
    for bad in bad_tokens:
        headers = {} if bad is None else {"GRADIENT-TOKEN": bad}
        r = httpx.get(url, headers=headers)
        assert r.status_code == 401, bad
        assert r.json() == {"statusCode": 401, "message": "Unauthorized"}
    # Header names are case-insensitive; both halves valid -> 200.
    for name in ("GRADIENT-TOKEN", "Gradient-Token", "gradient-token"):
        assert httpx.get(url, headers={name: token()}).status_code == 200


# --- vendor and SKUs --------------------------------------------------------------------------


def test_vendor_profile_envelope_and_fields(api: httpx.Client) -> None:
    r = api.get(API)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == 200 and body["message"] == "Success - Retrieved Vendor"
    vendor = body["data"]
    assert vendor["name"] == "Northwind Cloud Backup"
    assert OBJECT_ID.match(vendor["id"]) and vendor["_id"] == vendor["id"]
    for field in (
        "integrationType",
        "isDistributor",
        "externalIntegrationStatus",
        "modules",
        "mappingResponsibilities",
        "attributes",
        "createdAt",
        "updatedAt",
    ):
        assert field in vendor
    names = [s["name"] for s in vendor["skus"]]
    assert names == ["Cloud Backup – Server", "Cloud Backup – Workstation", "Email Archiving"]
    for sku in vendor["skus"]:
        assert sku["_id"] == sku["id"] and OBJECT_ID.match(sku["id"])
        assert sku["subcategory"] in SUBCATEGORIES


def test_patch_vendor_updates_and_rejects_empty_or_mistyped_bodies(api: httpx.Client) -> None:
    r = api.patch(API, json={"description": "New text", "ignored": 1})
    assert r.status_code == 200
    assert r.json()["message"] == "Success - Updated Vendor"
    assert r.json()["data"]["description"] == "New text"
    assert api.get(API).json()["data"]["description"] == "New text"
    for bad in ({}, {"unknown": "x"}, None):
        r = api.patch(API, json=bad) if bad is not None else api.patch(API)
        assert r.status_code == 400
        assert r.json()["error"] == "Bad Request"
    r = api.patch(API, json={"name": 42})
    assert r.status_code == 400 and r.json()["message"] == ["name must be a string"]


def test_create_service_returns_bare_vendor_and_validates_enums(api: httpx.Client) -> None:
    body = {
        "name": "DNS Shield",
        "description": "DNS filtering",
        "category": "security",
        "subcategory": "DNS filtering",
    }
    r = api.post(f"{API}/service", json=body)
    assert r.status_code == 201
    vendor = r.json()
    assert "status" not in vendor and vendor["skus"][-1]["name"] == "DNS Shield"
    assert len(sku_ids(api)) == 4
    for field, value in (
        ("category", "Security"),
        ("subcategory", "dns filtering"),
        ("category", "nope"),
    ):
        r = api.post(f"{API}/service", json={**body, field: value})
        assert r.status_code == 400
        assert any(field in m for m in r.json()["message"])
    r = api.post(f"{API}/service", json={"name": "x"})
    assert r.status_code == 400 and "description must be a string" in r.json()["message"]
    assert len(sku_ids(api)) == 4  # nothing half-created


def test_get_and_patch_one_service(api: httpx.Client) -> None:
    first = sku_ids(api)[0]
    r = api.get(f"{API}/service/{first}")
    assert r.status_code == 200
    assert [s["id"] for s in r.json()["data"]["skus"]] == [first]
    r = api.patch(f"{API}/service/{first}", json={"description": "Per server"})
    assert r.status_code == 200 and r.json()["data"]["skus"][0]["description"] == "Per server"
    assert api.patch(f"{API}/service/{first}", json={"category": "Backup"}).status_code == 400
    assert api.patch(f"{API}/service/{first}", json={}).status_code == 400
    # One peer PATCHes form-encoded; accepted like JSON.
    r = api.patch(f"{API}/service/{first}", data={"supportContact": "help@example.com"})
    assert (
        r.status_code == 200 and r.json()["data"]["skus"][0]["supportContact"] == "help@example.com"
    )
    r = api.get(f"{API}/service/not-an-id")
    assert r.status_code == 400 and r.json()["message"] == "You have provided an invalid Id type"
    r = api.get(f"{API}/service/{'0' * 24}")
    assert r.status_code == 404 and r.json()["statusCode"] == 404


# --- integration ------------------------------------------------------------------------------


def test_integration_status_changes_and_validation(api: httpx.Client, sb: SandboxServer) -> None:
    integration = api.get(f"{API}/organization").json()
    assert integration["name"] == "Contoso Managed Services"
    assert integration["status"] == "inactive" and integration["lastSyncedAt"] == NEVER_SYNCED
    assert integration["vendorName"] == "Northwind Cloud Backup"
    assert set(integration) == {
        "organizationId",
        "name",
        "vendorId",
        "vendorName",
        "integrationId",
        "status",
        "lastSyncedAt",
    }
    r = api.patch(f"{API}/organization/status/pending", json={})
    assert r.status_code == 200
    assert r.json()["message"] == "Success - Updated Integration Status"
    assert r.json()["data"]["status"] == "pending"
    for bad in ("Pending", "bogus"):
        r = api.patch(f"{API}/organization/status/{bad}")
        assert r.status_code == 400 and r.json()["error"] == "Bad Request"
    assert api.patch(f"{API}/organization/status/disabled").status_code == 200  # legacy value
    sb.options.legacy = False
    assert api.patch(f"{API}/organization/status/disabled").status_code == 400
    # Legacy PATCH /organization (§2.10) vanishes with the switch ...
    assert api.patch(f"{API}/organization", json={"name": "X"}).status_code == 404
    sb.options.legacy = True
    r = api.patch(f"{API}/organization", json={"name": "Contoso MSP", "status": "pending"})
    assert r.status_code == 200 and r.json()["data"]["name"] == "Contoso MSP"
    assert api.patch(f"{API}/organization", json={}).status_code == 400


# --- accounts ---------------------------------------------------------------------------------


def test_accounts_create_list_filter_and_update(api: httpx.Client, sb: SandboxServer) -> None:
    items = [{"id": f"c{i}", "name": f"Customer {i}", "description": "d"} for i in range(1, 6)]
    r = api.post(f"{API}/organization/accounts", json=items)
    assert r.status_code == 201
    assert r.json()[0] == {
        "id": "c1",
        "name": "Customer 1",
        "description": "d",
        "isMapped": False,
        "isActive": True,
        "isArrears": False,
    }
    all_ids = [a["id"] for a in api.get(f"{API}/organization/accounts").json()]
    assert all_ids == ["c1", "c2", "c3", "c4", "c5"]
    for query in (
        "accountIds=c1&accountIds=c3",
        "accountIds[]=c1&accountIds[]=c3",
        "accountIds=c1,c3",
    ):
        got = api.get(f"{API}/organization/accounts?{query}").json()
        assert [a["id"] for a in got] == ["c1", "c3"], query
    sb.state.map_account(PARTNER_DEMO, "c2", next(iter(sb.state.client_names(PARTNER_DEMO))))
    mapped = api.get(f"{API}/organization/accounts", params={"returnUnmapped": "false"}).json()
    assert [a["id"] for a in mapped] == ["c2"] and mapped[0]["isMapped"] is True
    assert (
        api.get(f"{API}/organization/accounts", params={"returnUnmapped": "maybe"}).status_code
        == 400
    )

    r = api.patch(f"{API}/organization/accounts/c1", json={"name": "Renamed", "isArrears": True})
    assert r.status_code == 200 and r.json()["name"] == "Renamed" and r.json()["isArrears"] is True
    r = api.patch(
        f"{API}/organization/accounts",
        json=[{"id": "c3", "isActive": False}, {"id": "c4", "name": "Four"}],
    )
    assert r.status_code == 200 and [a["id"] for a in r.json()] == ["c3", "c4"]
    assert r.json()[0]["isActive"] is False and r.json()[1]["name"] == "Four"
    assert api.patch(f"{API}/organization/accounts/nope", json={"name": "x"}).status_code == 404
    assert api.patch(f"{API}/organization/accounts/c1", json={}).status_code == 400
    r = api.patch(
        f"{API}/organization/accounts", json=[{"id": "c1", "name": "ok"}, {"id": "zz", "name": "x"}]
    )
    assert r.status_code == 404
    assert (
        sb.state.accounts(PARTNER_DEMO, ["c1"])[0]["name"] == "Renamed"
    )  # bulk was all-or-nothing


def test_account_posts_reject_duplicates_and_non_arrays(
    api: httpx.Client, sb: SandboxServer
) -> None:
    url = f"{API}/organization/accounts"
    assert api.post(url, json=[{"id": "a", "name": "A"}]).status_code == 201
    r = api.post(url, json=[{"id": "b", "name": "B"}, {"id": "a", "name": "A again"}])
    assert r.status_code == 409
    assert r.json()["message"] == "A resource with this Id already exists."
    assert (
        api.post(url, json=[{"id": "c", "name": "C"}, {"id": "c", "name": "C"}]).status_code == 409
    )
    assert [a["id"] for a in api.get(url).json()] == ["a"]  # the failed batches left nothing
    r = api.post(url, json=[{"id": 7, "name": "x"}, {"name": "no id"}])
    assert r.status_code == 400 and "0.id must be a string" in r.json()["message"]
    r = api.post(url, content=b'[{"id": "x", ', headers={"content-type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["message"]
    # CIPP posts one new tenant as a single object; Gradient accepts it (vendor-api.md §13).
    r = api.post(url, json={"id": "single", "name": "Single"})
    assert r.status_code == 201 and r.json()[0]["id"] == "single"


def test_client_oid_maps_accounts_vendor_side(api: httpx.Client, sb: SandboxServer) -> None:
    clients = api.get(f"{API}/organization/clients").json()["clients"]
    url = f"{API}/organization/accounts"
    r = api.post(
        url,
        json=[
            {"id": "v1", "name": "V1", "clientOId": clients[0]["id"]},
            {"id": "v2", "name": "V2"},
        ],
    )
    assert [a["isMapped"] for a in r.json()] == [True, False]
    assert sb.state.client_of(PARTNER_DEMO, "v1") == clients[0]["id"]
    r = api.patch(f"{url}/v2", json={"clientOId": clients[1]["id"]})
    assert r.status_code == 200 and r.json()["isMapped"] is True
    r = api.patch(f"{url}/v1", json={"clientOId": None})
    assert r.json()["isMapped"] is False
    assert api.patch(f"{url}/v1", json={"clientOId": "no-such-client"}).status_code == 404
    # A count addressed by clientOId lands on the account mapped to that client.
    first_sku = sku_ids(api)[0]
    r = api.post(
        f"{API}/service/{first_sku}/count", json={"clientOId": clients[1]["id"], "unitCount": 3}
    )
    assert r.status_code == 201
    assert sb.state.counts(PARTNER_DEMO)[(first_sku, "v2")]["unitCount"] == 3
    r = api.post(
        f"{API}/service/{first_sku}/count", json={"clientOId": clients[5]["id"], "unitCount": 3}
    )
    assert (
        r.status_code == 404
        and r.json()["message"] == f"No account map found with id: {clients[5]['id']}"
    )


# --- organisation services ----------------------------------------------------------------------


def test_org_services_crud_conflict_and_mapping(api: httpx.Client, sb: SandboxServer) -> None:
    url = f"{API}/organization/services"
    items = [
        {"id": "svc-1", "name": "Backup S", "description": "s"},
        {"id": "svc-2", "name": "Backup M", "description": "m"},
    ]
    r = api.post(url, json=items)
    assert r.status_code == 201 and [s["isMapped"] for s in r.json()] == [False, False]
    r = api.post(url, json=[{"id": "svc-1", "name": "dup", "description": ""}])
    assert r.status_code == 409 and r.json()["message"] == "A resource with this Id already exists."
    assert api.post(url, json=[{"id": "svc-3", "name": "no description"}]).status_code == 400
    r = api.post(
        "/_sandbox/map-service",
        json={"partnerKey": PARTNER_DEMO, "serviceId": "svc-2", "product": "P"},
    )
    assert r.status_code == 200
    assert [s["id"] for s in api.get(url, params={"returnUnmapped": "false"}).json()] == ["svc-2"]
    assert [s["id"] for s in api.get(url, params={"serviceIds": "svc-1"}).json()] == ["svc-1"]
    r = api.patch(f"{url}/svc-1", json={"name": "Backup Small"})
    assert r.status_code == 200 and r.json()["name"] == "Backup Small"
    r = api.patch(url, json=[{"id": "svc-2", "description": "medium"}])
    assert r.status_code == 200 and r.json()[0]["description"] == "medium"
    assert api.patch(f"{url}/nope", json={"name": "x"}).status_code == 404
    # Counts accept the vendor-chosen id of a mapped organisation service.
    add_mapped_account(api, sb)
    assert (
        api.post(f"{API}/service/svc-2/count", json={"accountId": "a1", "unitCount": 2}).status_code
        == 201
    )
    r = api.post(f"{API}/service/svc-1/count", json={"accountId": "a1", "unitCount": 2})
    assert r.status_code == 404 and r.json()["message"] == "No account map found with id: a1"


# --- clients --------------------------------------------------------------------------------


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


def test_clients_keyset_paging_and_search(api: httpx.Client, sb: SandboxServer) -> None:
    first = api.get(f"{API}/organization/clients").json()
    assert set(first) == {"meta", "clients"}
    assert set(first["meta"]) == {"total", "count", "limit", "previousId", "nextId"}
    assert first["meta"]["limit"] == 100 and set(first["clients"][0]) == {"id", "name"}
    clients, total, calls = page_all(api)
    assert total == 200 and calls == 2 and len({c["id"] for c in clients}) == 200
    assert all(GUID.match(c["id"]) for c in clients)
    acme = api.get(f"{API}/organization/clients", params={"search": "aCmE"}).json()
    assert "Acme Corporation" in [c["name"] for c in acme["clients"]]
    assert all("acme" in c["name"].lower() for c in acme["clients"])
    sb.options.clients_page_limit = 7  # search results page too
    dental, total, calls = page_all(api, "dental")
    assert total == len(dental) == sum("dental" in c["name"].lower() for c in clients)
    assert calls == total // 7 + 1
    # A deleted client's id still works as a cursor (keyset on id).
    cursor = clients[6]["id"]
    r = api.post("/_sandbox/clients/delete", json={"partnerKey": PARTNER_DEMO, "clientId": cursor})
    assert r.status_code == 200
    after = api.get(f"{API}/organization/clients", params={"previousId": cursor}).json()
    assert after["clients"][0]["id"] == clients[7]["id"] and after["meta"]["total"] == 199


def test_fifty_thousand_clients_build_fast_and_page_fast() -> None:
    state = make_state()
    started = time.perf_counter()
    make_large_partner(state, "bench-partner", 50_000)
    assert time.perf_counter() - started < 5.0
    with (
        SandboxServer(SandboxOptions(rate_limit=None), state=state) as sb,
        api_client(sb, "bench-partner") as api,
    ):
        started = time.perf_counter()
        clients, total, calls = page_all(api)
        elapsed = time.perf_counter() - started
        assert total == 50_000 and calls == 500 and len({c["id"] for c in clients}) == 50_000
        # Server-side work per page is a bisect and a slice (~0.3 ms here), not a scan of 50k.
        assert statistics.median(r["ms"] for r in state.requests()) < 5
        assert elapsed < 20
        hits = api.get(f"{API}/organization/clients", params={"search": "dental"}).json()
        assert hits["meta"]["total"] > 100 and hits["meta"]["count"] == 100


# --- counts ---------------------------------------------------------------------------------


def test_set_count_stores_value_and_404s_unmapped_pairs(
    api: httpx.Client, sb: SandboxServer
) -> None:
    skus = sku_ids(api)
    add_mapped_account(api, sb, "a1")
    api.post(f"{API}/organization/accounts", json=[{"id": "a2", "name": "Unmapped"}])
    r = api.post(f"{API}/service/{skus[0]}/count", json={"accountId": "a1", "unitCount": 12.5})
    assert r.status_code == 201 and r.json() == {
        "status": 201,
        "message": "Created service unit count",
    }
    assert sb.state.counts(PARTNER_DEMO)[(skus[0], "a1")]["unitCount"] == 12.5
    assert api.get(f"{API}/organization").json()["lastSyncedAt"] != NEVER_SYNCED
    assert (
        api.post(
            f"{API}/service/{skus[0]}/count", json={"accountId": "a1", "unitCount": 0}
        ).status_code
        == 201
    )
    for account in ("a2", "ghost"):
        r = api.post(f"{API}/service/{skus[0]}/count", json={"accountId": account, "unitCount": 1})
        assert r.status_code == 404
        assert r.json()["message"] == f"No account map found with id: {account}"
    sb.state.unmap_service(PARTNER_DEMO, skus[1])
    r = api.post(f"{API}/service/{skus[1]}/count", json={"accountId": "a1", "unitCount": 1})
    assert r.status_code == 404 and r.json()["message"] == "No account map found with id: a1"
    rows = api.get("/_sandbox/counts", params={"partnerKey": PARTNER_DEMO}).json()["counts"]
    assert rows == [
        {"serviceId": skus[0], "accountId": "a1", "unitCount": 0, "updatedAt": rows[0]["updatedAt"]}
    ]


def test_count_validation_errors(api: httpx.Client, sb: SandboxServer) -> None:
    sku = sku_ids(api)[0]
    add_mapped_account(api, sb)
    url = f"{API}/service/{sku}/count"
    r = api.post(f"{API}/service/12345/count", json={"accountId": "a1", "unitCount": 1})
    assert r.status_code == 400 and r.json()["message"] == "You have provided an invalid Id type"
    r = api.post(f"{API}/service/{'a' * 24}/count", json={"accountId": "a1", "unitCount": 1})
    assert r.status_code == 404
    for bad in ("12", None, True, [], {"n": 1}):
        r = api.post(url, json={"accountId": "a1", "unitCount": bad})
        assert r.status_code == 400, bad
        assert r.json()["message"][0].startswith("unitCount must be a number")
    r = api.post(url, json={"accountId": "a1", "unitCount": -1})
    assert r.status_code == 400 and r.json()["message"] == ["unitCount must not be less than 0"]
    for raw in (b'{"accountId": "a1", "unitCount": NaN}', b'{"accountId": "a1", "unitCount": 1'):
        r = api.post(url, content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 400
    assert api.post(url, json={"unitCount": 1}).status_code == 400  # no account reference
    assert sb.state.counts(PARTNER_DEMO) == {}


def test_no_build_controls_rebuilds(api: httpx.Client, sb: SandboxServer) -> None:
    sku = sku_ids(api)[0]
    add_mapped_account(api, sb)
    url = f"{API}/service/{sku}/count"
    for value in ("true", "TRUE", "1", "True"):
        assert (
            api.post(
                url, params={"no_build": value}, json={"accountId": "a1", "unitCount": 1}
            ).status_code
            == 201
        )
    assert sb.state.rebuilds(PARTNER_DEMO) == 0
    for params in ({"no_build": "false"}, {"no_build": "0"}, {}):
        assert (
            api.post(url, params=params, json={"accountId": "a1", "unitCount": 2}).status_code
            == 201
        )
    assert sb.state.rebuilds(PARTNER_DEMO) == 3
    r = api.post(url, params={"no_build": "yes"}, json={"accountId": "a1", "unitCount": 2})
    assert r.status_code == 400 and r.json()["message"] == ["no_build must be a boolean value"]
    body = api.get("/_sandbox/rebuilds", params={"partnerKey": PARTNER_DEMO}).json()
    assert body["rebuilds"] == 3 and len(body["timestamps"]) == 3
    times = sb.state.rebuild_times(PARTNER_DEMO)
    assert times == sorted(times) and abs(times[-1] - time.time()) < 5


def test_legacy_add_subtract_and_all(api: httpx.Client, sb: SandboxServer) -> None:
    sku = sku_ids(api)[0]
    add_mapped_account(api, sb, "a1")
    url = f"{API}/service/{sku}/count"
    r = api.patch(f"{url}/add", json={"accountId": "a1", "unitCount": 5})
    assert r.status_code == 200 and r.json()["unitCount"] == 5
    assert (
        api.patch(
            f"{url}/add", params={"no_build": "true"}, json={"accountId": "a1", "unitCount": 2}
        ).json()["unitCount"]
        == 7
    )
    assert (
        api.patch(f"{url}/subtract", json={"accountId": "a1", "unitCount": 3}).json()["unitCount"]
        == 4
    )
    assert (
        api.patch(f"{url}/subtract", json={"accountId": "a1", "unitCount": 10}).json()["unitCount"]
        == 0
    )
    assert api.patch(f"{url}/add", json={"accountId": "a1", "unitCount": 0}).status_code == 400
    assert api.patch(f"{url}/add", json={"accountId": "nope", "unitCount": 1}).status_code == 404
    assert sb.state.rebuilds(PARTNER_DEMO) == 3  # add, subtract, subtract (one had no_build)

    api.post(
        f"{API}/organization/accounts", json=[{"id": "a2", "name": "B"}, {"id": "a3", "name": "C"}]
    )
    sb.state.map_account(PARTNER_DEMO, "a2", next(iter(sb.state.client_names(PARTNER_DEMO))))
    r = api.post(f"{url}/all", json={"unitCount": 9})
    assert r.status_code == 201 and r.json()["affected"] == 2
    counts = sb.state.counts(PARTNER_DEMO)
    assert counts[(sku, "a1")]["unitCount"] == 9 and counts[(sku, "a2")]["unitCount"] == 9
    assert (sku, "a3") not in counts
    assert sb.state.rebuilds(PARTNER_DEMO) == 4  # one rebuild for the whole "all" call

    sb.options.legacy = False
    assert api.patch(f"{url}/add", json={"accountId": "a1", "unitCount": 1}).status_code == 404
    assert api.post(f"{url}/all", json={"unitCount": 1}).status_code == 404


def test_auto_activate_only_from_pending_and_switchable(
    api: httpx.Client, sb: SandboxServer
) -> None:
    sku = sku_ids(api)[0]
    add_mapped_account(api, sb)
    count = {"accountId": "a1", "unitCount": 1}
    api.post(f"{API}/service/{sku}/count", json=count)
    assert api.get(f"{API}/organization").json()["status"] == "inactive"
    api.patch(f"{API}/organization/status/pending")
    sb.options.auto_activate = False
    api.post(f"{API}/service/{sku}/count", json=count)
    assert api.get(f"{API}/organization").json()["status"] == "pending"
    sb.options.auto_activate = True
    api.post(f"{API}/service/{sku}/count", json=count)
    assert api.get(f"{API}/organization").json()["status"] == "active"


# --- idempotency and faults -------------------------------------------------------------------


def test_idempotency_key_is_ignored_by_default(api: httpx.Client, sb: SandboxServer) -> None:
    # No public source says Gradient honours the header: by default neither does the sandbox,
    # so a client that relied on it doubles counts here, as it would on Gradient.
    sku = sku_ids(api)[0]
    add_mapped_account(api, sb)
    url = f"{API}/service/{sku}/count/add"
    for _ in range(2):
        r = api.patch(
            url, json={"accountId": "a1", "unitCount": 5}, headers={"Idempotency-Key": "k"}
        )
        assert r.status_code == 200 and "Idempotent-Replayed" not in r.headers
    assert sb.state.counts(PARTNER_DEMO)[(sku, "a1")]["unitCount"] == 10


def test_lost_answers_are_applied_but_unreadable() -> None:
    with running_sandbox(lose_answer_rate=1.0) as sb, api_client(sb) as api:
        sku = sku_ids(api)[0]
        add_mapped_account(api, sb)
        kinds = set()
        for n in range(12):
            try:
                r = api.post(f"{API}/service/{sku}/count", json={"accountId": "a1", "unitCount": n})
            except httpx.TransportError:
                kinds.add("dropped")
                continue
            try:
                r.json()
                kinds.add("readable")
            except ValueError:
                kinds.add("html" if r.headers["content-type"].startswith("text/html") else "cut")
            assert sb.state.counts(PARTNER_DEMO)[(sku, "a1")]["unitCount"] == n  # applied
        assert kinds == {"html", "cut", "dropped"}


def test_idempotency_key_replays_without_reapplying_when_switched_on() -> None:
    with running_sandbox(honour_idempotency_key=True) as sb, api_client(sb) as api:
        _replays(api, sb)


def _replays(api: httpx.Client, sb: SandboxServer) -> None:
    sku = sku_ids(api)[0]
    add_mapped_account(api, sb)
    url = f"{API}/service/{sku}/count/add"
    headers = {"Idempotency-Key": "k-1"}
    first = api.patch(url, json={"accountId": "a1", "unitCount": 5}, headers=headers)
    again = api.patch(url, json={"accountId": "a1", "unitCount": 5}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert sb.state.counts(PARTNER_DEMO)[(sku, "a1")]["unitCount"] == 5
    assert sb.state.rebuilds(PARTNER_DEMO) == 1
    r = api.patch(url, json={"accountId": "a1", "unitCount": 6}, headers=headers)
    assert r.status_code == 422  # same key, different request
    # Account creation replays as 201 instead of a 409 for the second attempt.
    accounts = f"{API}/organization/accounts"
    one = api.post(accounts, json=[{"id": "n1", "name": "N"}], headers={"Idempotency-Key": "k-2"})
    two = api.post(accounts, json=[{"id": "n1", "name": "N"}], headers={"Idempotency-Key": "k-2"})
    assert one.status_code == two.status_code == 201 and one.json() == two.json()
    assert api.post(accounts, json=[{"id": "n1", "name": "N"}]).status_code == 409


def test_fail_after_apply_then_replay_reveals_the_outcome() -> None:
    with running_sandbox(honour_idempotency_key=True) as sb, api_client(sb) as api:
        _fail_after_apply(api, sb)


def _fail_after_apply(api: httpx.Client, sb: SandboxServer) -> None:
    sku = sku_ids(api)[0]
    add_mapped_account(api, sb)
    r = api.post("/_sandbox/faults", json={"failAfterApplyRate": 1.0})
    assert r.status_code == 200 and r.json()["fail_after_apply_rate"] == 1.0
    url = f"{API}/service/{sku}/count/add"
    headers = {"Idempotency-Key": "outbox-row-17"}
    r = api.patch(url, json={"accountId": "a1", "unitCount": 4}, headers=headers)
    assert r.status_code == 500 and r.json() == {
        "statusCode": 500,
        "message": "Internal server error",
    }
    assert sb.state.counts(PARTNER_DEMO)[(sku, "a1")]["unitCount"] == 4  # applied nonetheless
    api.post("/_sandbox/faults", json={"fail_after_apply_rate": 0})
    r = api.patch(url, json={"accountId": "a1", "unitCount": 4}, headers=headers)
    assert r.status_code == 200 and r.json()["unitCount"] == 4
    assert sb.state.counts(PARTNER_DEMO)[(sku, "a1")]["unitCount"] == 4  # not added twice


def test_fail_rate_gives_503_before_processing() -> None:
    with running_sandbox(fail_rate=1.0) as sb, api_client(sb) as api:
        r = api.post(f"{API}/organization/accounts", json=[{"id": "x", "name": "X"}])
        assert r.status_code == 503 and r.json()["statusCode"] == 503
        assert sb.state.accounts(PARTNER_DEMO) == []
        api.post("/_sandbox/faults", json={"fail_rate": 0.5, "random_seed": 7})
        first = [api.get(f"{API}/organization").status_code for _ in range(30)]
        api.post("/_sandbox/faults", json={"random_seed": 7})  # same seed, same dice
        second = [api.get(f"{API}/organization").status_code for _ in range(30)]
        assert first == second and {200, 503} == set(first)
        assert api.post("/_sandbox/faults", json={"fail_rate": 2}).status_code == 400
        assert api.post("/_sandbox/faults", json={"bogus": 1}).status_code == 400


def test_rate_limit_429_with_retry_after_and_max_rps() -> None:
    with running_sandbox(rate_limit=5) as sb, api_client(sb) as api:
        statuses = [api.get(f"{API}/organization") for _ in range(8)]
        assert [r.status_code for r in statuses] == [200] * 5 + [429] * 3
        limited = statuses[-1]
        assert limited.headers["Retry-After"] == "1" and limited.json()["statusCode"] == 429
        with api_client(sb, PARTNER_SMALL) as other:  # the budget is per token
            assert other.get(f"{API}/organization").status_code == 200
        assert sb.state.max_rps_seen(PARTNER_DEMO) == 5
        time.sleep(1.05)
        assert api.get(f"{API}/organization").status_code == 200
        api.post("/_sandbox/faults", json={"retry_after": False})
        for _ in range(6):
            r = api.get(f"{API}/organization")
        assert r.status_code == 429 and "Retry-After" not in r.headers
        assert (
            api.get("/_sandbox/max-rps", params={"partnerKey": PARTNER_DEMO}).json()["maxRpsSeen"]
            == 5
        )


def test_latency_is_async_and_does_not_serialise_requests() -> None:
    async def burst(base_url: str) -> float:
        async with httpx.AsyncClient(base_url=base_url, headers={"GRADIENT-TOKEN": token()}) as c:
            started = time.perf_counter()
            rs = await asyncio.gather(*(c.get(f"{API}/organization") for _ in range(10)))
            assert all(r.status_code == 200 for r in rs)
            return time.perf_counter() - started

    with running_sandbox(latency_ms=300) as sb:
        elapsed = asyncio.run(burst(sb.base_url))
        assert 0.3 <= elapsed < 1.5  # ten sequential sleeps would take 3 s
        assert sb.state.max_rps_seen(PARTNER_DEMO) == 10


# --- lifecycle --------------------------------------------------------------------------------


def test_disconnect_then_reconnect_with_a_new_key(api: httpx.Client, sb: SandboxServer) -> None:
    sku = sku_ids(api)[0]
    add_mapped_account(api, sb)
    api.post(f"{API}/service/{sku}/count", json={"accountId": "a1", "unitCount": 3})
    org_id = api.get(f"{API}/organization").json()["organizationId"]
    r = api.post("/_sandbox/disconnect", json={"partnerKey": PARTNER_DEMO})
    assert r.status_code == 200
    assert api.get(f"{API}/organization").status_code == 401
    assert sb.state.counts(PARTNER_DEMO) == {} and sb.state.accounts(PARTNER_DEMO) == []
    r = api.post("/_sandbox/connect", json={"organizationName": "Contoso Managed Services"})
    assert r.status_code == 200 and r.json()["created"] is False
    new_key = r.json()["partnerKey"]
    assert new_key != PARTNER_DEMO
    assert api.get(f"{API}/organization").status_code == 401  # old key stays dead
    with api_client(sb, new_key) as fresh:
        integration = fresh.get(f"{API}/organization").json()
        assert integration["organizationId"] == org_id
        assert integration["status"] == "inactive" and integration["lastSyncedAt"] == NEVER_SYNCED
        assert fresh.get(f"{API}/organization/accounts").json() == []
        assert fresh.get(f"{API}/organization/clients").json()["meta"]["total"] == 200
        # Service mappings went with the disconnect: the MSP has to map again.
        r = fresh.post(f"{API}/organization/accounts", json=[{"id": "a1", "name": "Acme"}])
        assert r.status_code == 201
        api.post(
            "/_sandbox/map",
            json={
                "partnerKey": new_key,
                "accountId": "a1",
                "clientId": fresh.get(f"{API}/organization/clients").json()["clients"][0]["id"],
            },
        )
        assert (
            fresh.post(
                f"{API}/service/{sku}/count", json={"accountId": "a1", "unitCount": 1}
            ).status_code
            == 404
        )
        api.post("/_sandbox/auto-map", json={"partnerKey": new_key})
        assert (
            fresh.post(
                f"{API}/service/{sku}/count", json={"accountId": "a1", "unitCount": 1}
            ).status_code
            == 201
        )
    assert demo_vendor_customers(new_key, sb.state) == demo_vendor_customers(PARTNER_DEMO)


def test_rotate_key_keeps_accounts_and_connect_creates_new_org(
    api: httpx.Client, sb: SandboxServer
) -> None:
    api.post(f"{API}/organization/accounts", json=[{"id": "keep", "name": "Keep"}])
    new_key = api.post("/_sandbox/rotate-key", json={"partnerKey": PARTNER_DEMO}).json()[
        "partnerKey"
    ]
    assert api.get(f"{API}/organization").status_code == 401
    with api_client(sb, new_key) as rotated:
        assert [a["id"] for a in rotated.get(f"{API}/organization/accounts").json()] == ["keep"]
    r = api.post("/_sandbox/connect", json={"organizationName": "Tailspin Toys MSP", "clients": 12})
    assert r.json()["created"] is True
    with api_client(sb, r.json()["partnerKey"]) as newbie:
        assert newbie.get(f"{API}/organization").json()["name"] == "Tailspin Toys MSP"
        assert newbie.get(f"{API}/organization/clients").json()["meta"]["total"] == 12
    assert api.post("/_sandbox/disconnect", json={"partnerKey": "nope"}).status_code == 404


# --- alerts -----------------------------------------------------------------------------------


def test_alert_dispatch_and_debug_status(api: httpx.Client, sb: SandboxServer) -> None:
    add_mapped_account(api, sb)
    api.post(f"{API}/organization/accounts", json=[{"id": "lonely", "name": "Unmapped"}])
    alert = {
        "title": "Backup failed",
        "description": "Job 12 failed",
        "alertId": "al-1",
        "priority": 3,
        "status": 1,
    }
    r = api.post(f"{API}/alerting/a1", json=alert)
    assert r.status_code == 201
    sent = r.json()
    assert (
        GUID.match(sent["messageId"])
        and sent["alertId"] == "al-1"
        and OBJECT_ID.match(sent["correlationID"])
    )
    assert api.get(f"{API}/alerting/debug/{sent['messageId']}").json()["status"] == "pending"
    failed_id = api.post(f"{API}/alerting/lonely", json={**alert, "alertId": "al-2"}).json()[
        "messageId"
    ]
    time.sleep(0.08)
    ok = api.get(f"{API}/alerting/debug/{sent['messageId']}").json()
    assert ok["status"] == "success" and ok["ticketId"]
    failed = api.get(f"{API}/alerting/debug/{failed_id}").json()
    assert failed["status"] == "failed" and failed["errors"] == [
        "No account map found with id: lonely"
    ]
    assert api.get(f"{API}/alerting/debug/unknown").status_code == 404
    r = api.post(f"{API}/alerting/a1", json={**alert, "priority": 5})
    assert r.status_code == 400 and r.json()["message"] == [
        "priority must be an integer between 1 and 4"
    ]
    assert api.post(f"{API}/alerting/a1", json={"title": "t"}).status_code == 400


# --- admin, logging, plumbing -----------------------------------------------------------------


def test_admin_state_request_log_and_unknown_routes(api: httpx.Client, sb: SandboxServer) -> None:
    api.get(API)
    api.get(f"{API}/nope")
    summary = api.get("/_sandbox/state").json()
    assert summary["vendors"][0]["vendorKey"] == VENDOR_KEY and summary["vendors"][0]["skus"] == 3
    orgs = {o["partnerKey"]: o for o in summary["organizations"]}
    assert orgs[PARTNER_DEMO]["clients"] == 200 and orgs[PARTNER_SMALL]["clients"] == 25
    assert orgs[PARTNER_DEMO]["mappedServices"] == 3 and summary["options"]["rate_limit"] is None
    log = api.get("/_sandbox/requests").json()["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", API, 200),
        ("GET", f"{API}/nope", 404),
    ]
    assert all(set(e) == {"at", "method", "path", "status", "ms"} for e in log)
    assert token() not in json.dumps(log)
    r = api.get(f"{API}/nope")
    assert r.json() == {
        "statusCode": 404,
        "message": f"Cannot GET {API}/nope",
        "error": "Not Found",
    }
    r = api.post(
        "/_sandbox/map", json={"partnerKey": PARTNER_DEMO, "accountId": "ghost", "clientId": "x"}
    )
    assert r.status_code == 404
    assert api.post("/_sandbox/map", json={"partnerKey": PARTNER_DEMO}).status_code == 400
    assert api.post("/_sandbox/requests/clear", json={}).json() == {"requests": []}


def test_server_stops_promptly_with_open_keepalive_connections() -> None:
    server = SandboxServer(SandboxOptions(rate_limit=None)).start()
    port = server.port
    with api_client(server) as api:
        assert api.get(f"{API}/organization").status_code == 200  # leaves a keep-alive connection
        started = time.perf_counter()
        server.stop()
        assert time.perf_counter() - started < 2.0
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}{API}", timeout=1)


def test_state_methods_usable_directly() -> None:
    state = make_state()
    sku = state.vendor(VENDOR_KEY)["skus"][0]["id"]
    state.create_accounts(PARTNER_SMALL, [{"id": "x", "name": "X"}])
    with pytest.raises(SandboxError) as err:
        state.set_count(PARTNER_SMALL, sku, 1, account_id="x")
    assert (
        err.value.status == 404 and err.value.body()["message"] == "No account map found with id: x"
    )
    client = next(iter(state.client_names(PARTNER_SMALL)))
    state.map_account(PARTNER_SMALL, "x", client)
    state.set_count(PARTNER_SMALL, sku, 2, account_id="x", no_build=True)
    assert (
        state.counts(PARTNER_SMALL)[(sku, "x")]["unitCount"] == 2
        and state.rebuilds(PARTNER_SMALL) == 0
    )
    assert (
        state.delete_client(PARTNER_SMALL, client) == 1
        and state.client_of(PARTNER_SMALL, "x") is None
    )
    with pytest.raises(SandboxError):
        state.set_status(PARTNER_SMALL, "Active")


# --- seeds ------------------------------------------------------------------------------------


def test_seeds_are_deterministic_and_vendor_customers_realistic() -> None:
    a, b = make_state(), make_state()
    assert a.client_names(PARTNER_DEMO) == b.client_names(PARTNER_DEMO)
    assert a.vendor(VENDOR_KEY)["skus"] == b.vendor(VENDOR_KEY)["skus"]
    assert a.client_count(PARTNER_SMALL) == 25
    assert a.integration(PARTNER_SMALL)["name"] == "Fabrikam IT Partners"
    empty = make_state("empty")
    assert empty.vendor(VENDOR_KEY)["skus"] == [] and empty.client_count(PARTNER_DEMO) == 200
    with pytest.raises(ValueError):
        make_state("full")

    clients = set(a.client_names(PARTNER_DEMO).values())
    assert "Acme Corporation" in clients
    customers = demo_vendor_customers(PARTNER_DEMO)
    assert customers == demo_vendor_customers(PARTNER_DEMO)
    assert customers[0] == {**customers[0], "id": "cust-0001", "name": "ACME Corp."}
    assert [c["id"] for c in customers] == [f"cust-{i:04d}" for i in range(1, len(customers) + 1)]
    keys = {normalize(n) for n in clients}
    same_company = [c for c in customers if normalize(c["name"]) in keys]
    assert 170 <= len(same_company) <= 190  # ~90 % of the 200 clients
    assert len(customers) - len(same_company) >= 3  # customers the MSP does not have
    spelled_differently = [c for c in same_company if c["name"] not in clients]
    assert len(spelled_differently) > len(same_company) // 2
    # The simulated MSP maps exactly the customers it has.
    a.create_accounts(PARTNER_DEMO, customers)
    assert a.auto_map(PARTNER_DEMO)["accounts"] == len(same_company)
    with pytest.raises(KeyError):
        demo_vendor_customers("not-a-demo-key")


def test_python_dash_m_runs_in_foreground_and_imports_no_qt(tmp_path: Any) -> None:
    if sys.platform == "win32":
        pytest.skip("SIGINT delivery to a child differs on Windows")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "gradient_desktop.sandbox",
            "--port",
            "0",
            "--latency-ms",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", first)
        assert match, first
        banner = "".join(proc.stdout.readline() for _ in range(4))
        assert PARTNER_DEMO in banner and token() in banner
        r = httpx.get(f"{match.group(0)}{API}", headers={"GRADIENT-TOKEN": token()}, timeout=5)
        assert r.status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
        stderr = proc.stderr.read() if proc.stderr else ""
        imported = {line.split("|")[-1].strip() for line in stderr.splitlines() if "|" in line}
        assert not {m for m in imported if m.split(".")[0] in ("PySide6", "qasync", "pyqtgraph")}
        assert "uvicorn" in imported
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_state_is_thread_safe_under_concurrent_writes() -> None:
    import threading

    state: SandboxState = make_state()
    sku = state.vendor(VENDOR_KEY)["skus"][0]["id"]
    state.create_accounts(PARTNER_DEMO, [{"id": "t", "name": "T"}])
    state.map_account(PARTNER_DEMO, "t", next(iter(state.client_names(PARTNER_DEMO))))

    def adder() -> None:
        for _ in range(500):
            state.set_count(PARTNER_DEMO, sku, 1, account_id="t", mode="add", no_build=True)

    threads = [threading.Thread(target=adder) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state.counts(PARTNER_DEMO)[(sku, "t")]["unitCount"] == 2000


def test_admin_routes_are_guarded_beyond_loopback_and_need_json() -> None:
    with running_sandbox() as sb, httpx.Client(base_url=sb.base_url, timeout=10) as c:
        # A web page can POST a form or text/plain without a preflight: refused.
        r = c.post(
            "/_sandbox/faults", content=b'{"fail_rate": 1}', headers={"content-type": "text/plain"}
        )
        assert r.status_code == 415 and sb.options.fail_rate == 0
        sb.options.host = "0.0.0.0"  # as if bound beyond loopback, without a token
        assert c.get("/_sandbox/state").status_code == 403
        sb.options.admin_token = "s3cret"
        assert c.get("/_sandbox/state").status_code == 401
        ok = c.get("/_sandbox/state", headers={"X-Sandbox-Admin-Token": "s3cret"})
        assert ok.status_code == 200


def test_more_clients_than_the_name_lists_hold_still_finish() -> None:
    from gradient_desktop.sandbox.names import company_names, normalize

    names = company_names(random.Random(5), 60_000)
    assert len({normalize(n) for n in names}) == 60_000


def test_the_documented_switch_table_is_the_declared_one() -> None:
    from pathlib import Path

    from gradient_desktop.sandbox.options import add_arguments, markdown_table

    doc = (Path(__file__).parents[2] / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    section = doc.split("<!-- sandbox-options:start -->")[1].split("<!-- sandbox-options:end -->")[
        0
    ]
    assert section.strip() == markdown_table()
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)  # one flag per declared field, parsed back into the same options
    from gradient_desktop.sandbox.options import options_from_args

    opts = options_from_args(
        parser.parse_args(["--honour-idempotency-key", "--no-legacy", "--lose-answer-rate", "0.2"])
    )
    assert (
        opts.honour_idempotency_key
        and not opts.legacy
        and opts.lose_answer_rate == 0.2
        and opts.port == 8765
    )
