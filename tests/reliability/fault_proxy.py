"""A fault-injecting HTTP/1.1 proxy on loopback, in front of the sandbox.

The sandbox's own switches fail requests *cleanly* (a well-formed 503, a 500 after applying).
Real networks are ruder: connections reset half-way, bodies stop short, a captive portal or a
load balancer answers with HTML, a server accepts a request and never answers. This proxy
produces exactly those, per request, from a seeded plan, so a failing run can be replayed.

```python
plan = FaultPlan.random(seed=7, rate=0.05, fault=Fault("reset_after"))
with FaultProxy(sandbox.base_url, plan) as proxy:
    ...  # point the client at proxy.base_url
proxy.stats.by_kind  # what was injected
```

It speaks just enough HTTP/1.1 for httpx: requests with ``Content-Length`` bodies, keep-alive,
responses with ``Content-Length`` (what uvicorn sends). It runs on its own asyncio loop in a
daemon thread, like ``SandboxServer``, so the code under test may use any loop it likes.
Only loopback addresses are ever bound or dialled.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Self
from urllib.parse import urlsplit

__all__ = ["FAULT_KINDS", "Fault", "FaultPlan", "FaultProxy", "ProxyStats", "RequestInfo"]

#: What the proxy can do with one request.
#:
#: * ``pass``: forward, relay the answer (optionally after ``delay`` seconds: a latency spike).
#: * ``reset_before``: RST the connection after the request head, before its body is read;
#:   nothing reaches the server.
#: * ``reset_after``: forward (the server applies it), then RST instead of answering.
#: * ``truncate``: forward, relay the head and half the body, then close (FIN).
#: * ``garbled``: forward, answer with the real status but an HTML body (a mangling proxy).
#: * ``captive``: do not forward; answer 200 with an HTML login page (a captive portal).
#: * ``status``: do not forward; answer ``status`` with ``headers`` and ``body`` (5xx, 429).
#: * ``hang_before``: do not forward; never answer until the client gives up.
#: * ``hang_after``: forward (applied), then never answer until the client gives up.
#: * ``echo``: do not forward; answer ``status`` with the raw request head (headers, token and
#:   all) quoted in the error message, as a careless server or proxy might.
FAULT_KINDS = (
    "pass",
    "reset_before",
    "reset_after",
    "truncate",
    "garbled",
    "captive",
    "status",
    "hang_before",
    "hang_after",
    "echo",
)

_REASONS = {
    200: "OK",
    201: "Created",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_HTML = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>nginx</p></body></html>"
)
_PORTAL = (
    b"<!DOCTYPE html><html><head><title>Sign in to Guest Wi-Fi</title></head>"
    b"<body><form action='/login'><input name='user'></form></body></html>"
)


@dataclass(frozen=True, slots=True)
class Fault:
    """One action of the proxy for one request (see ``FAULT_KINDS``)."""

    kind: str = "pass"
    status: int = 503
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    #: Seconds to wait before acting (a latency spike when ``kind == "pass"``).
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")

    @property
    def label(self) -> str:
        if self.kind == "status":
            return f"status {self.status}"
        if self.kind == "pass" and self.delay:
            return "delay"
        return self.kind


PASS = Fault()


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What the plan sees of a request: its number among API requests, method, path, key."""

    index: int
    method: str
    path: str
    idempotency_key: str | None


class FaultPlan:
    """Decides the fault of each API request; admin routes (``/_sandbox``) always pass."""

    def __init__(self, decide: Callable[[RequestInfo], Fault]) -> None:
        self._decide = decide

    def __call__(self, request: RequestInfo) -> Fault:
        return self._decide(request)

    @classmethod
    def none(cls) -> FaultPlan:
        return cls(lambda _r: PASS)

    @classmethod
    def random(cls, *, seed: int, rate: float, fault: Fault, writes_only: bool = True) -> FaultPlan:
        """Each request independently gets ``fault`` with probability ``rate``."""
        rng = random.Random(seed)

        def decide(r: RequestInfo) -> Fault:
            if writes_only and r.method == "GET":
                return PASS
            return fault if rng.random() < rate else PASS

        return cls(decide)

    @classmethod
    def bursts(cls, *, every: int, length: int, fault: Fault, start: int = 0) -> FaultPlan:
        """Requests ``start + k·every … + length - 1`` get ``fault``: bursts in a row."""

        def decide(r: RequestInfo) -> Fault:
            i = r.index - start
            return fault if i >= 0 and i % every < length else PASS

        return cls(decide)

    @classmethod
    def window(cls, *, first: int, last: int, fault: Fault) -> FaultPlan:
        """Requests ``first`` … ``last`` (inclusive) get ``fault``: an outage."""
        return cls(lambda r: fault if first <= r.index <= last else PASS)

    @classmethod
    def spikes(cls, *, seed: int, rate: float, low: float, high: float) -> FaultPlan:
        """A fraction ``rate`` of requests is held ``low``–``high`` seconds before forwarding."""
        rng = random.Random(seed)

        def decide(_r: RequestInfo) -> Fault:
            if rng.random() < rate:
                return Fault("pass", delay=rng.uniform(low, high))
            return PASS

        return cls(decide)


@dataclass
class ProxyStats:
    """What happened at the proxy: requests, faults injected, idempotency keys seen."""

    requests: int = 0
    forwarded: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    keys: Counter[str] = field(default_factory=Counter)
    #: Requests that carried no idempotency key, by (method, path).
    unkeyed: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def injected(self) -> int:
        return sum(n for kind, n in self.by_kind.items() if kind != "pass")

    @property
    def repeats(self) -> int:
        """Requests re-sent with a key already seen: the client's retries of keyed writes."""
        return sum(n - 1 for n in self.keys.values())


class _Closed(Exception):
    """The client went away."""


class FaultProxy:
    """The proxy on a real loopback socket in a background thread; a context manager."""

    def __init__(self, upstream: str, plan: FaultPlan | None = None) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the fault proxy only fronts a loopback http server")
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.plan = plan or FaultPlan.none()
        self.stats = ProxyStats()
        self.port = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def base_url(self) -> str:
        if not self.port:
            raise RuntimeError("the fault proxy is not running")
        return f"http://127.0.0.1:{self.port}"

    def set_plan(self, plan: FaultPlan) -> None:
        """Swap the plan while running (e.g. end an outage)."""
        with self._lock:
            self.plan = plan

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault proxy did not start")
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stopping.wait()
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(10)
        self._thread = None
        self.port = 0

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- one connection

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                method, path, headers = _parse_head(head)
                length = int(headers.get("content-length", "0"))
                if not path.startswith("/api/"):
                    fault = PASS
                else:
                    with self._lock:
                        info = RequestInfo(
                            self.stats.requests, method, path, headers.get("idempotency-key")
                        )
                        self.stats.requests += 1
                        fault = self.plan(info)
                        self.stats.by_kind[fault.label] += 1
                        if info.idempotency_key:
                            self.stats.keys[info.idempotency_key] += 1
                        elif method != "GET":
                            self.stats.unkeyed[(method, path.split("?")[0])] += 1
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                kind = fault.kind
                if kind == "reset_before":  # mid-request: the body is never read
                    writer.transport.abort()
                    return
                body = await reader.readexactly(length)
                request = head + body
                if kind == "hang_before":
                    await _wait_for_close(reader)
                    return
                if kind == "echo":
                    quoted = json.dumps(
                        {"statusCode": fault.status, "message": head.decode("latin-1")}
                    )
                    writer.write(_response(fault.status, quoted.encode(), "application/json", ()))
                    await writer.drain()
                    continue
                if kind in ("status", "captive"):
                    status = 200 if kind == "captive" else fault.status
                    default = _PORTAL if kind == "captive" else _error_body(status)
                    payload = fault.body if fault.body is not None else default
                    ctype = "text/html" if payload.startswith(b"<") else "application/json"
                    writer.write(_response(status, payload, ctype, fault.headers))
                    await writer.drain()
                    continue
                # Forwarded: the server processes it whatever happens to the answer.
                if upstream is None:
                    upstream = await asyncio.open_connection(self.upstream_host, self.upstream_port)
                upstream[1].write(request)
                await upstream[1].drain()
                with self._lock:
                    self.stats.forwarded += 1
                resp_head = await upstream[0].readuntil(b"\r\n\r\n")
                status, resp_headers = _parse_status(resp_head)
                resp_body = await upstream[0].readexactly(
                    int(resp_headers.get("content-length", "0"))
                )
                if resp_headers.get("connection", "").lower() == "close":
                    upstream[1].close()
                    upstream = None
                if kind == "reset_after":
                    writer.transport.abort()
                    return
                if kind == "hang_after":
                    await _wait_for_close(reader)
                    return
                if kind == "truncate":
                    writer.write(resp_head + resp_body[: len(resp_body) // 2])
                    await writer.drain()
                    writer.close()
                    return
                if kind == "garbled":
                    writer.write(_response(status, _HTML, "text/html", ()))
                else:
                    writer.write(resp_head + resp_body)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            return
        finally:
            if upstream is not None:
                upstream[1].transport.abort()
            writer.transport.abort()
            self._tasks.discard(task)


async def _wait_for_close(reader: asyncio.StreamReader) -> None:
    """Hold the connection open, answering nothing, until the client closes it."""
    try:
        while await reader.read(4096):
            pass
    except ConnectionError:
        pass


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    first, *lines = head.decode("latin-1").split("\r\n")
    method, path, _version = first.split(" ", 2)
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise ConnectionError("chunked request bodies are not supported by the fault proxy")
    return method, path, headers


def _parse_status(head: bytes) -> tuple[int, dict[str, str]]:
    first, *lines = head.decode("latin-1").split("\r\n")
    status = int(first.split(" ", 2)[1])
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return status, headers


def _error_body(status: int) -> bytes:
    if status == 502:
        return _HTML
    reason = _REASONS.get(status, "Error")
    return f'{{"statusCode":{status},"message":"{reason}"}}'.encode()


def _response(
    status: int, body: bytes, content_type: str, headers: tuple[tuple[str, str], ...]
) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines.append(f"content-type: {content_type}")
    lines.append(f"content-length: {len(body)}")
    lines.extend(f"{k}: {v}" for k, v in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
