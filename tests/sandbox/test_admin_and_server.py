"""The sandbox's admin routes and plumbing: state summary, request log, unknown routes, the
admin guard, stopping with open connections, ``python -m``, and the documented switch table."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from gradient_desktop.sandbox.seed import PARTNER_DEMO, PARTNER_SMALL, VENDOR_KEY
from gradient_desktop.sandbox.server import SandboxOptions, SandboxServer
from tests.sandbox.helpers import API, api_client, running_sandbox, token


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
