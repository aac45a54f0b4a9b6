"""The sandbox's fault switches and idempotency: lost answers, fail-after-apply, 503s, the
per-token rate limit, latency, and the Idempotency-Key switch (off by default)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from gradient_desktop.sandbox.app import App
from gradient_desktop.sandbox.seed import PARTNER_DEMO, PARTNER_SMALL
from gradient_desktop.sandbox.server import SandboxServer
from tests.sandbox.helpers import (
    API,
    add_mapped_account,
    api_client,
    running_sandbox,
    sku_ids,
    token,
)


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
        one = api.post(
            accounts, json=[{"id": "n1", "name": "N"}], headers={"Idempotency-Key": "k-2"}
        )
        two = api.post(
            accounts, json=[{"id": "n1", "name": "N"}], headers={"Idempotency-Key": "k-2"}
        )
        assert one.status_code == two.status_code == 201 and one.json() == two.json()
        assert api.post(accounts, json=[{"id": "n1", "name": "N"}]).status_code == 409


def test_fail_after_apply_then_replay_reveals_the_outcome() -> None:
    with running_sandbox(honour_idempotency_key=True) as sb, api_client(sb) as api:
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


def test_latency_is_async_and_does_not_serialise_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Counted, not timed: every request waiting out its latency at once shows the wait neither
    # blocks the server's loop (a time.sleep would let one through at a time) nor queues.
    waiting = most_waiting = 0
    latency = App._latency

    async def counted_latency(self: App) -> None:
        nonlocal waiting, most_waiting
        waiting += 1
        most_waiting = max(most_waiting, waiting)
        try:
            await latency(self)
        finally:
            waiting -= 1

    monkeypatch.setattr(App, "_latency", counted_latency)

    async def burst(base_url: str) -> None:
        async with httpx.AsyncClient(base_url=base_url, headers={"GRADIENT-TOKEN": token()}) as c:
            rs = await asyncio.gather(*(c.get(f"{API}/organization") for _ in range(10)))
            assert all(r.status_code == 200 for r in rs)

    # A long latency, so the ten requests all arrive while the first still waits.
    with running_sandbox(latency_ms=1000) as sb:
        asyncio.run(burst(sb.base_url))
        assert most_waiting == 10
        assert sb.state.max_rps_seen(PARTNER_DEMO) == 10
