"""The sandbox's partner lifecycle (disconnect, reconnect, key rotation, a new organisation)
and alert dispatch with its debug status."""

from __future__ import annotations

import time

import httpx

from gradient_desktop.sandbox.models import NEVER_SYNCED
from gradient_desktop.sandbox.seed import PARTNER_DEMO, demo_vendor_customers
from gradient_desktop.sandbox.server import SandboxServer
from tests.sandbox.helpers import API, GUID, OBJECT_ID, add_mapped_account, api_client, sku_ids


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
