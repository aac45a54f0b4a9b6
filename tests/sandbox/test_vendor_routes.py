"""The sandbox's vendor, service (SKU) and integration routes, and its token check, over a
real socket with plain httpx."""

from __future__ import annotations

import base64

import httpx

from gradient_desktop.sandbox.models import NEVER_SYNCED, SUBCATEGORIES
from gradient_desktop.sandbox.seed import PARTNER_DEMO
from gradient_desktop.sandbox.server import SandboxServer
from tests.sandbox.helpers import API, OBJECT_ID, sku_ids, token


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
