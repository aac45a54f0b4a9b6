"""The client against faults: truncated, reset, hanging and scripted answers from a scripted
server on a real socket (``fault_server.py``), and the sandbox's 503, 429 and lost-answer
switches. What is retried, what is "outcome unknown", what the error says. No pytest-asyncio:
``asyncio.run``."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest

from gradient_desktop.api import (
    AlertRequest,
    ApiError,
    ClientOptions,
    ConflictError,
    Credentials,
    NetworkError,
    NewAccount,
    NewOrgService,
    OutcomeUnknownError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    TimeoutError_,
    ValidationError,
)
from gradient_desktop.sandbox.seed import VENDOR_KEY, make_large_partner
from gradient_desktop.sandbox.server import SandboxOptions, SandboxServer
from tests.api.fault_server import FaultServer, free_port, response
from tests.api.helpers import FAST, PARTNER, VENDOR, client_for


def test_truncated_or_html_body_is_a_response_format_error() -> None:
    async def main() -> None:
        actions = [
            response(200, raw=b'{"status":200,"data":{"id"'),
            response(
                200, raw=b"<html>captive portal</html>", headers={"Content-Type": "text/html"}
            ),
            response(200, {"organizationId": "o"}),
        ]  # Integration without `status`
        async with (
            FaultServer(actions) as srv,
            client_for(srv.url, PARTNER, VENDOR, FAST) as client,
        ):
            with pytest.raises(ResponseFormatError, match="not JSON"):
                await client.get_vendor()
            with pytest.raises(ResponseFormatError, match="text/html"):
                await client.get_vendor()
            with pytest.raises(ResponseFormatError, match="status") as info:
                await client.get_integration()
            assert "SECRET" not in str(info.value)
            assert len(srv.requests) == 3  # a malformed body is not retried

    asyncio.run(main())


def test_get_retries_a_body_cut_short_by_the_peer() -> None:
    async def main() -> None:
        cut = response(200, raw=b'{"status":"act', length=500)  # then the server closes
        async with (
            FaultServer([(cut, "close"), response(200, {"status": "active"})]) as srv,
            client_for(srv.url, PARTNER, VENDOR, FAST) as client,
        ):
            assert (await client.get_integration()).status == "active"
        assert len(srv.requests) >= 2

    asyncio.run(main())


def test_reset_after_sending_an_alert_is_outcome_unknown_not_a_retry() -> None:
    alert = AlertRequest(title="Disk full", description="C: at 99 %", alert_id="a-1")

    async def main() -> None:
        async with (
            FaultServer(["reset"]) as srv,
            client_for(srv.url, PARTNER, VENDOR, FAST) as client,
        ):
            with pytest.raises(OutcomeUnknownError) as info:
                await client.dispatch_alert("acct-1", alert)
            assert len(srv.requests) == 1
            assert "Synthesize" in str(info.value) and "SECRET" not in str(info.value)
            assert isinstance(info.value.cause, NetworkError)

    asyncio.run(main())


def test_idempotency_key_makes_a_write_retryable_with_the_same_key() -> None:
    ok = response(200, {"status": 200, "message": "Added"})

    async def main() -> None:
        async with (
            FaultServer(["reset", response(503, {}), ok]) as srv,
            client_for(srv.url, PARTNER, VENDOR, FAST) as client,
        ):
            result = await client.add_count("svc", "acct/1", 3, idempotency_key="K-1")
        assert result.status == 200
        assert [r.headers["idempotency-key"] for r in srv.requests] == ["K-1"] * 3
        assert json.loads(srv.requests[0].body) == {"unitCount": 3, "accountId": "acct/1"}

    asyncio.run(main())


def test_alert_dispatch_is_never_repeated_after_a_5xx_and_carries_no_key() -> None:
    """Gradient is not known to de-duplicate alerts (§13): a 503 after sending is "unknown"."""
    ok = response(200, {"messageId": "m-1", "alertId": "a-1", "correlationID": "c"})

    async def main() -> None:
        async with (
            FaultServer([response(503, {}), ok, response(429, {}), ok]) as srv,
            client_for(srv.url, PARTNER, VENDOR, FAST) as client,
        ):
            alert = {"title": "t", "description": "d", "alertId": "a-1", "priority": 3}
            with pytest.raises(OutcomeUnknownError):
                await client.dispatch_alert("acct/1", alert)
            assert len(srv.requests) == 1
            # A 429 is a refusal before processing: that one is retried.
            created = await client.dispatch_alert("acct/1", alert)
        assert created.correlation_id == "c" and created.message_id == "m-1"
        assert all("idempotency-key" not in r.headers for r in srv.requests)
        assert srv.requests[0].path == "/api/vendor-api/alerting/acct%2F1"
        assert json.loads(srv.requests[0].body)["priority"] == 3

    asyncio.run(main())


def test_add_count_5xx_is_outcome_unknown_but_429_and_refused_connect_are_retried() -> None:
    async def main() -> None:
        ok = response(200, {"status": 200, "message": "Added"})
        async with (
            FaultServer(
                [response(429, {}, headers={"Retry-After": "0"}), ok, response(500, {})]
            ) as srv,
            client_for(srv.url, PARTNER, VENDOR, FAST) as client,
        ):
            assert (await client.add_count("s1", "a1", 2)).status == 200
            with pytest.raises(OutcomeUnknownError):
                await client.add_count("s1", "a1", 2)
        assert len(srv.requests) == 3
        assert srv.requests[0].path == "/api/vendor-api/service/s1/count/add"
        # Nothing listens: never sent, so retried, then a plain NetworkError (not applied).
        refused = client_for(
            f"http://127.0.0.1:{free_port()}",
            PARTNER,
            VENDOR,
            ClientOptions(max_retries=2, backoff_base=0.001, rate_limit_per_s=None),
        )
        async with refused:
            with pytest.raises(NetworkError) as info:
                await refused.subtract_count("s1", "a1", 1)
        assert not isinstance(info.value, OutcomeUnknownError)
        assert "connect" in str(info.value).lower()

    asyncio.run(main())


def test_conflict_not_retried_and_server_error_retried_until_exhausted() -> None:
    async def main() -> None:
        conflict = response(
            409, {"statusCode": 409, "message": "A resource with this Id already exists."}
        )
        async with FaultServer(
            [conflict] + [response(502, raw=b"<h1>Bad gateway</h1>")] * 9
        ) as srv:
            opts = ClientOptions(max_retries=3, backoff_base=0.001, rate_limit_per_s=None)
            async with client_for(srv.url, PARTNER, VENDOR, opts) as client:
                with pytest.raises(ConflictError, match="already exists"):
                    await client.create_org_services([NewOrgService(id="x", name="X")])
                assert len(srv.requests) == 1
                with pytest.raises(ServerError) as info:
                    await client.list_accounts()
                assert len(srv.requests) == 1 + 4
                assert info.value.status == 502 and info.value.server_message is None

    asyncio.run(main())


def test_retry_after_is_honoured_for_the_whole_client() -> None:
    async def main() -> None:
        slow_down = response(429, {"statusCode": 429}, headers={"Retry-After": "0.4"})
        async with (
            FaultServer([slow_down, response(200, {"status": "active"})]) as srv,
            client_for(srv.url, PARTNER, VENDOR, FAST) as client,
        ):
            started = time.monotonic()
            await client.get_integration()
            assert time.monotonic() - started >= 0.4

    asyncio.run(main())


def test_read_timeout_and_deadline() -> None:
    async def main() -> None:
        async with FaultServer(["hang", "hang", "hang"]) as srv:
            opts = ClientOptions(
                read_timeout=0.2, max_retries=1, backoff_base=0.001, rate_limit_per_s=None
            )
            async with client_for(srv.url, PARTNER, VENDOR, opts) as client:
                with pytest.raises(TimeoutError_):
                    await client.get_vendor()
                assert len(srv.requests) == 2
                with pytest.raises(OutcomeUnknownError):  # sent, then no answer
                    await client.add_count("s", "a", 1)
        async with FaultServer(["hang"]) as srv:
            opts = ClientOptions(deadline=0.3, rate_limit_per_s=None)
            async with client_for(srv.url, PARTNER, VENDOR, opts) as client:
                started = time.monotonic()
                with pytest.raises(TimeoutError_):
                    await client.get_vendor()
                # The 0.3 s deadline cut the call short instead of the 30 s read timeout.
                assert time.monotonic() - started < 5.0

    asyncio.run(main())


def test_server_text_echoing_a_key_is_redacted() -> None:
    async def main() -> None:
        echo = response(400, {"statusCode": 400, "message": [f"bad token {PARTNER}", "x"]})
        async with FaultServer([echo]) as srv, client_for(srv.url, PARTNER, VENDOR, FAST) as client:
            with pytest.raises(ValidationError) as info:
                await client.update_vendor(name="N")
        assert "SECRET" not in str(info.value) and "<redacted>" in str(info.value)
        assert srv.requests[0].headers["gradient-token"] == Credentials(VENDOR, PARTNER).token()
        assert srv.requests[0].headers["user-agent"].startswith("gradient-desktop/")

    asyncio.run(main())


def test_redirects_are_not_followed_and_bad_encodings_are_typed() -> None:
    async def main() -> None:
        moved = response(301, None, headers={"Location": "https://evil.example/steal"})
        bad_gzip = response(200, raw=b"not gzip at all", headers={"Content-Encoding": "gzip"})
        async with (
            FaultServer([moved, bad_gzip]) as srv,
            client_for(srv.url, PARTNER, VENDOR, FAST) as client,
        ):
            with pytest.raises(ApiError, match="redirect") as info:
                await client.get_vendor()
            assert "Gradient address" in info.value.user_hint
            with pytest.raises(ResponseFormatError, match="decode"):
                await client.get_vendor()
            with pytest.raises(ValueError, match="idempotency key"):
                await client.set_count("s", "a", 1, idempotency_key="bad\r\nX-Evil: 1")
            with pytest.raises(TypeError, match="number"):
                await client.set_count("s", "a", "12")  # type: ignore[arg-type]
            with pytest.raises(ValueError, match="finite"):
                await client.set_count("s", "a", float("nan"))
        assert len(srv.requests) == 2  # nothing followed, nothing sent for invalid input

    asyncio.run(main())


def test_rate_limit_error_when_retries_run_out() -> None:
    async def main() -> None:
        limited = response(429, {"statusCode": 429}, headers={"Retry-After": "0"})
        async with FaultServer([limited] * 3) as srv:
            opts = ClientOptions(max_retries=2, rate_limit_per_s=None)
            async with client_for(srv.url, PARTNER, VENDOR, opts) as c:
                with pytest.raises(RateLimitError) as info:
                    await c.get_vendor()
        assert info.value.retryable and info.value.retry_after == 0.0
        assert isinstance(info.value, ApiError) and len(srv.requests) == 3

    asyncio.run(main())


def test_retries_ride_out_injected_503s_and_rate_limits() -> None:
    partner = f"flaky-{uuid.uuid4().hex[:8]}"
    with SandboxServer(
        SandboxOptions(seed="demo", fail_rate=0.3, rate_limit=30, random_seed=7)
    ) as flaky:
        make_large_partner(flaky.state, partner, 10)

        async def main() -> None:
            opts = ClientOptions(
                backoff_base=0.01, backoff_cap=0.05, rate_limit_per_s=None, max_retries=8
            )
            async with client_for(flaky.base_url, partner, options=opts) as c:
                skus = [s.id for s in (await c.get_vendor()).skus[:3]]
                clients = await c.list_clients()
                await c.create_accounts(
                    [
                        NewAccount(id=f"a{i}", name=f"A{i}", client_oid=clients[i].id)
                        for i in range(5)
                    ],
                    idempotency_key="accounts-1",
                )
                # 60 writes at once (each of 15 pairs 4 times), limiter off: the sandbox
                # answers 503s and 429s, the client rides them out.
                await asyncio.gather(
                    *(c.set_count(skus[i % 3], f"a{i % 5}", 10 + i % 15) for i in range(60))
                )
                await asyncio.gather(
                    *(c.add_count(skus[0], "a0", 1, idempotency_key=f"add-{i}") for i in range(20))
                )

        asyncio.run(main())
        statuses = [r["status"] for r in flaky.state.requests()]
        assert 503 in statuses and 429 in statuses
        skus = [s["id"] for s in flaky.state.vendor(VENDOR_KEY)["skus"][:3]]
        counts = flaky.state.counts(partner)
        assert len(counts) == 15
        assert counts[(skus[0], "a0")]["unitCount"] == 10 + 20
        assert counts[(skus[1], "a1")]["unitCount"] == 10 + 1


def test_keyed_adds_apply_exactly_once_when_the_answer_is_lost() -> None:
    partner = f"lossy-{uuid.uuid4().hex[:8]}"
    with SandboxServer(
        SandboxOptions(
            seed="demo", fail_after_apply_rate=0.4, random_seed=3, honour_idempotency_key=True
        )
    ) as lossy:
        make_large_partner(lossy.state, partner, 3)
        client_id = next(iter(lossy.state.client_names(partner)))
        lossy.state.create_accounts(partner, [{"id": "a", "name": "A"}])
        lossy.state.map_account(partner, "a", client_id)
        sku = lossy.state.vendor(VENDOR_KEY)["skus"][0]["id"]

        async def main() -> int:
            unknown = 0
            async with client_for(lossy.base_url, partner, options=FAST) as c:
                for i in range(20):
                    await c.add_count(sku, "a", 1, no_build=True, idempotency_key=f"k{i}")
                for _ in range(20):
                    try:
                        await c.add_count(sku, "a", 100, no_build=True)
                    except OutcomeUnknownError:
                        unknown += 1
            return unknown

        unknown = asyncio.run(main())
        assert 0 < unknown < 20
        # Keyed adds: exactly 20; unkeyed: applied every time, including the unknown ones.
        assert lossy.state.counts(partner)[(sku, "a")]["unitCount"] == 20 + 100 * 20
