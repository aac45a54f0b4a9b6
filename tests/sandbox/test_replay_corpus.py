"""The replay corpus (tests/data/replay_corpus.json): every request as Gradient's official SDK,
its template, CIPP and gradient-pp-cli build them - byte for byte, headers included - sent to
the sandbox over a real socket, must get the answer Gradient gives (vendor-api.md §13)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gradient_desktop.sandbox.seed import VENDOR_KEY
from gradient_desktop.sandbox.server import SandboxOptions, SandboxServer
from tests.reliability.helpers import new_partner

CORPUS = json.loads((Path(__file__).parents[1] / "data" / "replay_corpus.json").read_text("utf-8"))
REQUESTS = CORPUS["requests"]


@pytest.fixture(scope="module", params=[False, True], ids=["legacy-off", "legacy-on"])
def world(request: Any) -> Iterator[tuple[SandboxServer, dict[str, str], httpx.Client]]:
    with SandboxServer(SandboxOptions(seed="demo", rate_limit=None, legacy=request.param)) as sb:
        key, skus = new_partner(sb.state, 3, prefix="replay")
        sb.state.create_services(key, [{"id": "org-svc-1", "name": "Org", "description": "d"}])
        values = {
            "sku": skus[0],
            "account": "acc-0",
            "account2": "acc-1",
            "org_service": "org-svc-1",
        }
        token = base64.b64encode(f"{VENDOR_KEY}:{key}".encode()).decode()
        with httpx.Client(base_url=sb.base_url, headers={"GRADIENT-TOKEN": token}, timeout=10) as c:
            yield sb, values, c


def _fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


@pytest.mark.parametrize("case", REQUESTS, ids=[r["id"] for r in REQUESTS])
def test_each_request_gets_the_answer_gradient_gives(case: dict[str, Any], world: Any) -> None:
    sb, values, client = world
    assert case["source"] and case["built_by"]  # every entry says where it was read
    legacy = sb.options.legacy
    if "legacy" in case and case["legacy"] != legacy:
        pytest.skip("this entry is about the sandbox without the legacy routes")
    headers = {}
    if case["content_type"] is not None:
        headers["content-type"] = case["content_type"]
    body = _fill(case["body"], values).encode() if case["body"] is not None else b""
    url = "/api/vendor-api" + _fill(case["path"], values)
    query = _fill(case["query"], values)
    request = client.build_request(
        case["method"], url + ("?" + query if query else ""), content=body, headers=headers
    )
    if case["content_type"] is None:
        request.headers.pop("content-type", None)
    r = client.send(request)
    assert r.status_code == case["expect"], (
        f"{case['id']} ({case['source']}): {r.status_code} {r.text[:300]}"
    )
    if r.status_code < 300:
        r.json()  # a readable JSON answer


def test_the_sandboxs_view_after_the_sdk_requests(world: Any) -> None:
    _sb, _values, client = world
    accounts = client.get("/api/vendor-api/organization/accounts").json()
    by_id = {a["id"]: a for a in accounts}
    # `"id": ""` in an update renamed the account, it did not empty its id; `"clientOId": ""`
    # on counts did not unmap it.
    assert by_id["acc-1"]["name"] == "Renamed By SDK"
    assert {"replay-a1", "replay-a2"} <= set(by_id)
