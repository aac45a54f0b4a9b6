"""Fixtures of the service tests: one AppContext per test on the test's own home folder, and a
real local HTTP JSON server for HTTP sources (usage and alerts)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from gradient_desktop.services.context import AppContext
from tests.setup_helpers import open_ctx


@pytest.fixture
def ctx() -> Iterator[AppContext]:
    """An AppContext on this test's home folder (its demo sandbox without added latency)."""
    c = open_ctx()
    yield c
    c.close()


class SourceHandler(BaseHTTPRequestHandler):
    """Serves ``pages`` (path with query -> JSON) to a client with the bearer ``token``."""

    pages: ClassVar[dict[str, Any]] = {}
    token = "tok-123"
    delay = 0.0

    def do_GET(self) -> None:
        time.sleep(self.delay)
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps(self.pages.get(self.path, {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the time-out test)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_source() -> Iterator[tuple[str, type[SourceHandler]]]:
    handler = type("H", (SourceHandler,), {"pages": {}, "delay": 0.0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()
    thread.join()
