"""Property-based tests: whatever a server (or what sits in front of it) answers, the API client
ends in a result or a typed ``ApiError`` with a sentence for the user — never another exception,
never a key in the message.

Responses come from an ``httpx.MockTransport`` (the one seam ``ClientOptions.transport`` offers
for tests): valid wire objects with fields dropped, added or replaced by random JSON, random
JSON documents, raw bytes, HTML pages, bodies in a false ``Content-Encoding``, any status code
with odd ``Retry-After`` and ``Content-Type`` headers, and transport failures.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradient_desktop.api import ApiError, ClientOptions, Credentials, VendorApiClient
from tests.reliability.helpers import FIGURES, FULL

VENDOR = "fuzz-vendor-key-7Qx2"
PARTNER = "fuzz-partner-key-9Kp4"
CREDS = Credentials(VENDOR, PARTNER)
SETTINGS = settings(
    max_examples=int(os.environ.get("GD_FUZZ_EXAMPLES", 2_000 if FULL else 120)),
    deadline=None,
    derandomize=not FULL,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

OID = "65a4fb18ce97b5bdf073eed1"
SKU = {
    "_id": OID,
    "name": "Backup",
    "description": "d",
    "category": "backup",
    "subcategory": "cloud backup",
}
VENDOR_BODY = {"_id": OID, "name": "Northwind", "description": "", "skus": [SKU]}
INTEGRATION = {
    "organizationId": OID,
    "name": "Contoso",
    "vendorId": OID,
    "vendorName": "N",
    "integrationId": OID,
    "status": "active",
    "lastSyncedAt": None,
}
ACCOUNT = {"id": "acc-1", "name": "Acme", "description": "", "isMapped": True}
ORG_SERVICE = {"id": "svc-1", "name": "S", "category": "backup", "subcategory": "cloud backup"}
CLIENTS = {"data": [{"id": "c1", "name": "Acme"}], "meta": {"limit": 100, "nextId": None}}
ALERT = {"messageId": "m1", "alertId": "a1", "correlationID": OID}
ALERT_STATUS = {"messageId": "m1", "status": "success", "ticketId": "1"}
COUNT = {"status": 201, "message": "Created service unit count"}

#: Valid answers a fuzzed response starts from (wrapped or not in an envelope).
SHAPES = [
    VENDOR_BODY,
    INTEGRATION,
    [ACCOUNT],
    ACCOUNT,
    [ORG_SERVICE],
    CLIENTS,
    ALERT,
    ALERT_STATUS,
    COUNT,
    {"status": 200, "data": INTEGRATION, "message": "ok"},
]

Op = Callable[[VendorApiClient], Awaitable[Any]]
OPERATIONS: dict[str, Op] = {
    "get_vendor": lambda c: c.get_vendor(),
    "update_vendor": lambda c: c.update_vendor(name="N"),
    "create_service": lambda c: c.create_service("S", "d", "backup", "cloud backup"),
    "get_service": lambda c: c.get_service(OID),
    "get_integration": lambda c: c.get_integration(),
    "set_status": lambda c: c.set_status("active"),
    "list_accounts": lambda c: c.list_accounts(),
    "create_accounts": lambda c: c.create_accounts([{"id": "a", "name": "A"}]),
    "update_account": lambda c: c.update_account("a", name="B"),
    "list_org_services": lambda c: c.list_org_services(),
    "create_org_services": lambda c: c.create_org_services([{"id": "s", "name": "S"}]),
    "list_clients": lambda c: c.list_clients(),
    "set_count": lambda c: c.set_count(OID, "a", 3, no_build=True, idempotency_key="k1"),
    "add_count": lambda c: c.add_count(OID, "a", 3),
    "add_count_keyed": lambda c: c.add_count(OID, "a", 3, idempotency_key="k2"),
    "set_count_all_clients": lambda c: c.set_count_all_clients(OID, 4),
    "dispatch_alert": lambda c: c.dispatch_alert(
        "a", {"alertId": "a1", "title": "t", "description": "d"}
    ),
    "get_alert_status": lambda c: c.get_alert_status("m1"),
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


@st.composite
def mutated_shape(draw: st.DrawFn) -> Any:
    """A valid wire object with one or more fields dropped, added or given a random value."""
    shape = json.loads(json.dumps(draw(st.sampled_from(SHAPES))))
    target = shape
    if isinstance(target, list) and target:
        target = target[0]
    if isinstance(target, dict) and "data" in target and isinstance(target["data"], (dict, list)):
        target = target["data"] if draw(st.booleans()) else target
        if isinstance(target, list) and target:
            target = target[0]
    if isinstance(target, dict):
        for _ in range(draw(st.integers(1, 3))):
            keys = list(target)
            action = draw(st.sampled_from(["drop", "add", "replace"]))
            if action == "drop" and keys:
                target.pop(draw(st.sampled_from(keys)))
            elif action == "replace" and keys:
                target[draw(st.sampled_from(keys))] = draw(json_values)
            else:
                target[draw(st.text(max_size=10))] = draw(json_values)
    return shape


STATUSES = st.sampled_from(
    [
        200,
        201,
        202,
        204,
        206,
        301,
        302,
        304,
        307,
        400,
        401,
        403,
        404,
        405,
        408,
        409,
        410,
        413,
        418,
        422,
        429,
        451,
        500,
        501,
        502,
        503,
        504,
        599,
    ]
) | st.integers(100, 599)

HEADER_VALUES = st.sampled_from(
    [
        "0",
        "1",
        "-5",
        "1e309",
        "nan",
        "inf",
        "Wed, 21 Oct 2015 07:28:00 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "soon",
        "",
        "86400",
        "3.5",
    ]
)


@st.composite
def responses(draw: st.DrawFn) -> tuple[int, dict[str, str], bytes] | type[Exception]:
    kind = draw(
        st.sampled_from(
            ["shape", "shape", "shape", "json", "bytes", "html", "truncated", "gzip", "transport"]
        )
    )
    if kind == "transport":
        return draw(
            st.sampled_from(
                [
                    httpx.ConnectError,
                    httpx.ReadError,
                    httpx.WriteError,
                    httpx.RemoteProtocolError,
                    httpx.ReadTimeout,
                    httpx.ConnectTimeout,
                    httpx.PoolTimeout,
                    httpx.ProxyError,
                    httpx.LocalProtocolError,
                    httpx.UnsupportedProtocol,
                ]
            )
        )
    status = draw(STATUSES)
    headers = {
        "content-type": draw(
            st.sampled_from(
                [
                    "application/json",
                    "application/json; charset=utf-8",
                    "text/html",
                    "text/plain",
                    "application/octet-stream",
                    "application/problem+json",
                ]
            )
        )
    }
    if draw(st.booleans()):
        headers["retry-after"] = draw(HEADER_VALUES)
    if kind == "shape":
        body = json.dumps(draw(mutated_shape())).encode()
    elif kind == "json":
        body = json.dumps(draw(json_values)).encode()
    elif kind == "bytes":
        body = draw(st.binary(max_size=200))
    elif kind == "html":
        body = b"<html><body><h1>Sign in to the Wi-Fi</h1></body></html>"
    elif kind == "truncated":
        full = json.dumps(draw(mutated_shape())).encode()
        body = full[: draw(st.integers(0, max(0, len(full) - 1)))]
    else:  # claims gzip, is not
        headers["content-encoding"] = "gzip"
        body = json.dumps(COUNT).encode()
    if draw(st.booleans()):
        headers["location"] = "https://evil.example/steal"
    return status, headers, body


def _options(handler: Callable[[httpx.Request], httpx.Response]) -> ClientOptions:
    return ClientOptions(
        transport=httpx.MockTransport(handler),
        max_retries=1,
        backoff_base=0.001,
        backoff_cap=0.001,
        retry_after_cap=0.001,
        deadline=5.0,
        rate_limit_per_s=None,
    )


def _check_error(exc: ApiError) -> None:
    text = str(exc)
    assert text.strip(), "an error without a message"
    assert exc.user_hint and exc.user_hint in text
    assert "Traceback" not in text
    for secret in (VENDOR, PARTNER, CREDS.token()):
        assert secret not in text and secret not in repr(exc)


@pytest.mark.slow
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@SETTINGS
@given(answer=responses())
def test_any_server_answer_ends_in_a_result_or_a_typed_error_with_a_user_message(
    operation: str, answer: tuple[int, dict[str, str], bytes] | type[Exception]
) -> None:
    FIGURES["fuzz: server responses generated"] += 1

    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, type):
            raise answer("injected transport failure", request=request)
        status, headers, body = answer
        return httpx.Response(status, headers=headers, content=body)

    async def main() -> None:
        async with VendorApiClient("https://gradient.example", CREDS, _options(handler)) as c:
            try:
                await OPERATIONS[operation](c)
            except ApiError as exc:
                _check_error(exc)

    asyncio.run(main())


def test_a_huge_retry_after_cannot_freeze_the_client() -> None:
    """``Retry-After: 3600`` paused every later call for an hour (limiter uncapped)."""
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "3600"}, json={"message": "x"})
        return httpx.Response(200, json=INTEGRATION)

    async def main() -> None:
        options = ClientOptions(
            transport=httpx.MockTransport(handler), retry_after_cap=0.2, rate_limit_per_s=None
        )
        async with VendorApiClient("https://gradient.example", CREDS, options) as c:
            integration = await asyncio.wait_for(c.get_integration(), 5)
            assert integration.status == "active"

    asyncio.run(main())
    assert len(calls) == 2


# ------------------------------------------------------------------ the sandbox as the target
# The sandbox publishes no OpenAPI document (so no schemathesis); this is the same idea by
# hand: any body, content type and query on its write routes gets a 2xx or a JSON 4xx.

SANDBOX_ROUTES = [
    ("POST", "/service/{sku}/count"),
    ("PATCH", "/service/{sku}/count/add"),
    ("PATCH", "/service/{sku}/count/subtract"),
    ("POST", "/service/{sku}/count/all"),
    ("POST", "/organization/accounts"),
    ("PATCH", "/organization/accounts"),
    ("PATCH", "/organization/accounts/acc-1"),
    ("POST", "/organization/services"),
    ("PATCH", "/organization"),
    ("PATCH", "/organization/status/{status}"),
    ("POST", "/service"),
    ("PATCH", ""),
    ("POST", "/alerting/acc-1"),
    ("GET", "/organization/clients"),
]


@pytest.fixture(scope="module")
def fuzz_sandbox() -> Any:
    from gradient_desktop.sandbox.server import SandboxOptions, SandboxServer

    with SandboxServer(SandboxOptions(seed="demo", rate_limit=None)) as sb:
        yield sb


@pytest.mark.slow
@SETTINGS
@given(
    route=st.sampled_from(SANDBOX_ROUTES),
    body=st.one_of(
        json_values.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=200),
        mutated_shape().map(lambda v: json.dumps(v).encode()),
    ),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "", "application/x-www-form-urlencoded"]
    ),
    query=st.dictionaries(
        st.sampled_from(["no_build", "search", "previousId", "x"]), st.text(max_size=8), max_size=2
    ),
    status=st.sampled_from(["active", "pending", "Active", "bogus", "%00"]),
)
def test_the_sandbox_answers_any_request_with_a_2xx_or_a_json_4xx_never_a_500(
    fuzz_sandbox: Any,
    route: tuple[str, str],
    body: bytes,
    content_type: str,
    query: dict[str, str],
    status: str,
) -> None:
    from gradient_desktop.sandbox.seed import PARTNER_DEMO, VENDOR_KEY

    FIGURES["fuzz: sandbox requests generated"] += 1
    method, path = route
    sku = fuzz_sandbox.state.vendor(VENDOR_KEY)["skus"][0]["id"]
    token = base64.b64encode(f"{VENDOR_KEY}:{PARTNER_DEMO}".encode()).decode()
    headers = {"GRADIENT-TOKEN": token}
    if content_type:
        headers["Content-Type"] = content_type
    url = fuzz_sandbox.base_url + "/api/vendor-api" + path.format(sku=sku, status=status)
    with httpx.Client(timeout=10) as http:
        r = http.request(
            method, url, params=query, content=body if method != "GET" else None, headers=headers
        )
    assert r.status_code < 500, (r.status_code, r.text[:200])
    if r.status_code >= 400:
        assert isinstance(r.json().get("message"), (str, list))
