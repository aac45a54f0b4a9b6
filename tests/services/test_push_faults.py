"""Faults of the answer, not of the request: a server that answers 429 forever, an answer far
too big, an HTML page or truncated JSON where a count's answer should be (all end as one clear
outcome, never a hang, a traceback or an unbounded read)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from gradient_desktop.api import (
    ClientOptions,
    CountRow,
    Credentials,
    VendorApiClient,
    _base,
    push_counts,
)
from gradient_desktop.api.errors import OutcomeUnknownError, RateLimitError
from gradient_desktop.sandbox.seed import VENDOR_KEY

FAST = dict(
    rate_limit_per_s=None, backoff_base=0.001, backoff_cap=0.002, retry_after_cap=0.0, deadline=5.0
)


def _client(handler) -> VendorApiClient:  # type: ignore[no-untyped-def]
    options = ClientOptions(transport=httpx.MockTransport(handler), **FAST)  # type: ignore[arg-type]
    return VendorApiClient("https://gradient.example", Credentials("v", "p"), options)


def test_a_server_answering_429_forever_stops_the_push_and_says_so() -> None:
    calls = 0

    def always_429(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(429, json={"statusCode": 429}, headers={"Retry-After": "0"})

    async def main() -> object:
        async with _client(always_429) as c:
            rows = [CountRow("s", f"a{i}", 1) for i in range(500)]
            return await push_counts(c, rows, concurrency=4)

    report = asyncio.run(main())
    assert isinstance(report.aborted_by, RateLimitError)
    assert report.cancelled > 400  # stopped early instead of retrying all 500 rows
    assert calls < 200


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"<html>portal</html>", "text/html"),
        (b'{"status": 201, "mess', "application/json"),
        (b"x" * 5000, "application/json"),
    ],
    ids=["html", "truncated-json", "too-big"],
)
def test_unreadable_answers_to_a_count_are_unknown_not_failed(
    body: bytes, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_base, "MAX_RESPONSE_BYTES", 1000)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, content=body, headers={"content-type": kind})

    async def main() -> object:
        async with _client(answer) as c:
            return await c.set_count("s", "a", 5)

    with pytest.raises((OutcomeUnknownError, _base.ApiError)) as err:
        asyncio.run(main())
    # The write may have been applied: a retryable (unknown) outcome, resolved by re-sending.
    assert err.value.retryable or isinstance(err.value, OutcomeUnknownError)


def test_an_account_create_whose_answer_is_lost_is_resolved_by_reading_back(
    tmp_path: object, sandbox: object
) -> None:
    """Account creates are never re-posted blindly: the lost answer is resolved with a GET."""
    from gradient_desktop.sandbox.seed import PARTNER_DEMO
    from gradient_desktop.services.context import AppContext
    from gradient_desktop.services.integration import IntegrationService
    from gradient_desktop.store import open_database

    sb: Any = sandbox
    ctx = AppContext(open_database(Path(str(tmp_path)) / "gd.sqlite3"))
    posts = []

    class Lossy(VendorApiClient):
        async def create_accounts(self, accounts: Any, **kw: Any) -> Any:
            posts.append(len(accounts))
            await super().create_accounts(accounts, **kw)  # applied...
            raise OutcomeUnknownError("no answer", status=502)  # ...but the answer is lost

    async def create_then_resolve() -> set[str]:
        client = Lossy(sb.base_url, Credentials(VENDOR_KEY, PARTNER_DEMO))
        try:
            with pytest.raises(OutcomeUnknownError):
                await client.create_accounts([{"id": "new-1", "name": "New One"}])
            return await IntegrationService._created_after_unknown(client, ["new-1", "never"])
        finally:
            await client.aclose()

    assert asyncio.run(create_then_resolve()) == {"new-1"}
    assert posts == [1]  # posted once, never again
    ctx.close()
