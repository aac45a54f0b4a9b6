"""The sandbox's unit-count routes: set, validation, ``no_build`` and rebuilds, the legacy
add/subtract/all routes, and auto-activation."""

from __future__ import annotations

import time

import httpx

from gradient_desktop.sandbox.models import NEVER_SYNCED
from gradient_desktop.sandbox.seed import PARTNER_DEMO
from gradient_desktop.sandbox.server import SandboxServer
from tests.sandbox.helpers import API, add_mapped_account, sku_ids


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
