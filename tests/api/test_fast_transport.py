"""The lean transport (api/fast_transport.py) and the prebuilt requests (api/_prebuilt.py).

Everything runs on real loopback sockets: the scripted ``FaultServer`` of the client tests for
faults (closes, resets, hangs, odd bodies), the sandbox for the real thing. The client's own
tests (test_api_client.py) run over this transport too; these pin what is particular to it:
keep-alive reuse, a connection the server closed never being reused, the pool's limits, the
size cap, and that the errors keep the meaning the retry rules rely on.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from gradient_desktop.api import ClientOptions, Credentials, VendorApiClient
from gradient_desktop.api._prebuilt import QuietCookiesClient, RequestFactory
from gradient_desktop.api.fast_transport import FastTransport
from gradient_desktop.api.retry import never_reached_server
from gradient_desktop.sandbox.seed import VENDOR_KEY
from tests.api.fault_server import FaultServer, free_port, response

OK = response(200, {"ok": True})


def transport(**limits: object) -> FastTransport:
    return FastTransport(limits=httpx.Limits(**limits), max_body=1024)  # type: ignore[arg-type]


async def get(t: FastTransport, url: str, **kw: object) -> httpx.Response:
    async with httpx.AsyncClient(transport=t, **kw) as client:  # type: ignore[arg-type]
        return await client.get(url)


def test_the_client_uses_the_lean_transport_for_direct_connections() -> None:
    creds = Credentials(VENDOR_KEY, "p")
    client = VendorApiClient("http://127.0.0.1:9", creds)
    assert isinstance(client._http._transport, FastTransport)
    httpx_own = VendorApiClient("http://127.0.0.1:9", creds, ClientOptions(lean_transport=False))
    assert isinstance(httpx_own._http._transport, httpx.AsyncHTTPTransport)


def test_requests_share_keep_alive_connections() -> None:
    async def main() -> None:
        async with FaultServer([OK] * 40) as srv:
            t = transport(max_connections=4)
            async with httpx.AsyncClient(transport=t) as client:
                answers = await asyncio.gather(*(client.get(srv.url + "/x") for _ in range(40)))
            assert [r.json() for r in answers] == [{"ok": True}] * 40
            assert len(srv.requests) == 40
            assert len(srv._writers) <= 4  # connections the server accepted

    asyncio.run(main())


def test_a_connection_the_server_closed_is_not_reused() -> None:
    async def main() -> None:
        # The first answer is followed by a FIN: the next request must use a new connection
        # and succeed, not fail on the dead one.
        async with FaultServer([(OK, "close"), OK]) as srv:
            t = transport()
            async with httpx.AsyncClient(transport=t) as client:
                assert (await client.get(srv.url)).status_code == 200
                await asyncio.sleep(0.05)  # the FIN arrives while the connection is idle
                assert (await client.get(srv.url)).status_code == 200
            assert len(srv._writers) == 2

    asyncio.run(main())


def test_an_answer_without_keep_alive_closes_its_connection() -> None:
    close_me = response(200, {"ok": 1}, headers={"Connection": "close"})
    http10 = b'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"ok":2}'

    async def main() -> None:
        async with FaultServer([close_me, (http10, "close"), OK]) as srv:
            t = transport()
            async with httpx.AsyncClient(transport=t) as client:
                assert (await client.get(srv.url)).json() == {"ok": 1}
                # no length, no chunks: the body ends where the connection does
                assert (await client.get(srv.url)).json() == {"ok": 2}
                assert (await client.get(srv.url)).json() == {"ok": True}
            assert len(srv._writers) == 3

    asyncio.run(main())


def test_chunked_and_gzip_answers_are_decoded() -> None:
    body = json.dumps({"n": list(range(50))}).encode()
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
        + b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[:10], body[10:]))
        + b"0\r\n\r\n"
    )
    zipped = gzip.compress(body)
    gz = response(200, raw=zipped, headers={"Content-Encoding": "gzip"})

    async def main() -> None:
        async with FaultServer([chunked, gz]) as srv:
            t = FastTransport(max_body=1 << 20)
            async with httpx.AsyncClient(transport=t) as client:
                assert (await client.get(srv.url)).content == body
                assert (await client.get(srv.url)).content == body
            assert len(srv._writers) == 1

    asyncio.run(main())


def test_an_answer_over_the_size_cap_is_a_read_error() -> None:
    big = response(200, raw=b"x" * 5000)

    async def main() -> None:
        async with FaultServer([big, OK]) as srv:
            with pytest.raises(httpx.ReadError, match="larger"):
                await get(transport(), srv.url)

    asyncio.run(main())


def test_failures_keep_the_meaning_the_retry_rules_need() -> None:
    async def main() -> None:
        refused = f"http://127.0.0.1:{free_port()}/"
        with pytest.raises(httpx.ConnectError) as info:
            await get(transport(), refused)
        assert never_reached_server(info.value)  # nothing left: safe to retry any write
        async with FaultServer(["close", "reset", "hang"]) as srv:
            with pytest.raises(httpx.RemoteProtocolError) as closed:
                await get(transport(), srv.url)
            # (an abort after reading the request is a FIN or an RST, as the kernel decides)
            with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)) as reset:
                await get(transport(), srv.url)
            with pytest.raises(httpx.ReadTimeout) as hung:
                await get(transport(), srv.url, timeout=httpx.Timeout(5, read=0.2))
            for exc in (closed.value, reset.value, hung.value):
                assert not never_reached_server(exc)  # sent: the outcome is unknown

    asyncio.run(main())


def test_the_pool_waits_for_a_free_connection_and_times_out() -> None:
    async def main() -> None:
        async with FaultServer(["hang", OK]) as srv:
            t = transport(max_connections=1)
            async with httpx.AsyncClient(transport=t, timeout=httpx.Timeout(5, pool=0.2)) as c:
                hung = asyncio.create_task(c.get(srv.url))
                await asyncio.sleep(0.05)
                with pytest.raises(httpx.PoolTimeout) as info:
                    await c.get(srv.url)
                assert never_reached_server(info.value)
                hung.cancel()  # cancelled mid-request: its connection is dropped, slot freed
                with pytest.raises(asyncio.CancelledError):
                    await hung
                assert (await c.get(srv.url)).status_code == 200
            assert len(srv._writers) == 2

    asyncio.run(main())


def test_a_header_that_would_break_its_line_is_refused_before_sending() -> None:
    async def main() -> None:
        async with FaultServer([OK]) as srv:
            async with httpx.AsyncClient(transport=transport()) as client:
                request = client.build_request("GET", srv.url)
                request.headers["X-Bad"] = "a\r\nInjected: 1"
                with pytest.raises(httpx.LocalProtocolError):
                    await client.send(request)
            assert srv.requests == []

    asyncio.run(main())


def test_counts_land_through_the_sandbox_over_few_connections(sandbox: object) -> None:
    from gradient_desktop.sandbox.seed import DEMO_PARTNERS

    partner = next(iter(DEMO_PARTNERS))
    base_url = sandbox.base_url  # type: ignore[attr-defined]

    async def main() -> None:
        options = ClientOptions(rate_limit_per_s=None, max_connections=8)
        async with VendorApiClient(base_url, Credentials(VENDOR_KEY, partner), options) as c:
            vendor = await c.get_vendor()
            assert vendor.skus
            transport_ = c._http._transport
            assert isinstance(transport_, FastTransport)
            await asyncio.gather(*(c.get_integration() for _ in range(50)))
            assert transport_._count <= 8

    asyncio.run(main())


# ---------------------------------------------------------------------- prebuilt requests


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "headers"),
    [
        ("POST", "/api/x/service/a%2Fb/count", {"no_build": "true"}, {"unitCount": 3}, None),
        ("POST", "/api/x/service/s/count", None, {"unitCount": 3.5, "a": "é"}, {"Idem": "k-1"}),
        ("GET", "/api/x", None, None, None),
        ("PATCH", "/api/x/organization/status/active", None, None, None),
        ("POST", "/api/x/service/s/count", None, None, {"Idem": "k-2"}),
        ("GET", "/api/x/clients", {"search": "a b&c", "previousId": "x"}, None, None),
        ("GET", "/api/x/accounts", [("id", "a"), ("id", "b")], None, None),  # not cached
    ],
)
def test_prebuilt_requests_equal_what_httpx_builds(
    method: str,
    path: str,
    params: object,
    body: object,
    headers: dict[str, str] | None,
) -> None:
    client = QuietCookiesClient(
        base_url="http://127.0.0.1:9/",
        headers={"GRADIENT-TOKEN": "t", "Accept": "application/json"},
        timeout=httpx.Timeout(30, connect=5, pool=120),
    )
    factory = RequestFactory(client)
    for _ in range(2):  # the second time from the cache
        ours = factory.build(method, path, params=params, json_body=body, headers=headers)
        theirs = client.build_request(method, path, params=params, json=body, headers=headers)
        assert (ours.method, ours.url, ours.headers.raw) == (
            theirs.method,
            theirs.url,
            theirs.headers.raw,
        )
        assert (ours.read(), ours.extensions) == (theirs.content, theirs.extensions)


def test_a_cookie_a_server_sets_is_still_sent_back() -> None:
    sets = response(200, {"ok": 1}, headers={"Set-Cookie": "lb=node-2; Path=/"})

    async def main() -> None:
        async with FaultServer([sets, OK]) as srv:
            client = QuietCookiesClient(base_url=srv.url, transport=transport())
            factory = RequestFactory(client)
            async with client:
                await client.send(factory.build("GET", "/a"))
                await client.send(factory.build("GET", "/b"))
            assert "cookie" not in srv.requests[0].headers
            assert srv.requests[1].headers["cookie"] == "lb=node-2"

    asyncio.run(main())


def test_a_streamed_request_body_goes_out_chunked(sandbox: object) -> None:
    base_url = sandbox.base_url  # type: ignore[attr-defined]

    async def body() -> AsyncIterator[bytes]:
        yield b'{"latencyMs"'
        yield b": 0}"

    async def main() -> None:
        async with httpx.AsyncClient(transport=FastTransport(), base_url=base_url) as client:
            answer = await client.post(
                "/_sandbox/faults", content=body(), headers={"Content-Type": "application/json"}
            )
            assert answer.request.headers["transfer-encoding"] == "chunked"
            assert answer.status_code == 200, answer.text
            again = await client.get("/_sandbox/state")  # the connection is still in step
            assert again.status_code == 200

    asyncio.run(main())
