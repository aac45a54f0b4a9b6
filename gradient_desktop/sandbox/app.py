"""The sandbox's Starlette app: Gradient's Vendor API plus `/_sandbox/...` admin routes.

This module is the HTTP plumbing every API route shares, in the order a request meets it:
token check (401), per-token rate window (429), simulated latency, injected 503, body parsing
(400), `Idempotency-Key` replay, the route handler itself, then the injected "applied but
answered 500". Route handlers (`routes_api.py`, `routes_counts.py`) are plain synchronous
functions over `SandboxState`; they are fast and hold the state lock only briefly, so running
them on the event loop is cheaper than a thread pool hop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .models import SandboxError
from .options import SandboxOptions
from .state import SandboxState
from .validation import parse_body

API_PREFIX = "/api/vendor-api"
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
UNAUTHORIZED = SandboxError(401, "Unauthorized", error=None)


@dataclass
class ApiContext:
    """What a route handler gets: the authenticated caller, the parsed request, the world."""

    request: Request
    state: SandboxState
    options: SandboxOptions
    vendor_key: str
    partner_key: str
    body: Any

    @property
    def params(self) -> dict[str, str]:
        return self.request.path_params

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)


Handler = Callable[[ApiContext], tuple[int, Any]]


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json_bytes(payload), status_code=status, headers=headers, media_type="application/json"
    )


def error_response(err: SandboxError, headers: dict[str, str] | None = None) -> Response:
    return json_response(err.status, err.body(), headers)


def parse_token(header: str | None) -> tuple[str, str] | None:
    """GRADIENT-TOKEN = base64("vendorKey:partnerKey"); None when it cannot be read."""
    if not header:
        return None
    try:
        decoded = base64.b64decode(header.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    vendor_key, sep, partner_key = decoded.partition(":")
    if not sep or not vendor_key or not partner_key:
        return None
    return vendor_key, partner_key


class Faults:
    """The fault switches' dice: one seeded RNG so a failing run can be replayed."""

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.rng = random.Random(options.random_seed)
        #: Answers lost on purpose so far (``lose_answer_rate``), for test reports.
        self.lost_answers = 0

    def reseed(self) -> None:
        self.rng = random.Random(self.options.random_seed)

    def roll(self, probability: float) -> bool:
        return probability > 0 and self.rng.random() < probability


class App:
    """Holds state, options and fault dice for one app; `api()` wraps route handlers."""

    def __init__(self, state: SandboxState, options: SandboxOptions) -> None:
        self.state = state
        self.options = options
        self.faults = Faults(options)

    def api(self, handler: Handler, *, legacy: bool = False) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                return await self._serve(request, handler, legacy)
            except SandboxError as err:  # e.g. the key was disconnected mid-request
                return error_response(err)

        endpoint.__name__ = handler.__name__
        return endpoint

    async def _serve(self, request: Request, handler: Handler, legacy: bool) -> Response:
        opts, state = self.options, self.state
        if legacy and not opts.legacy:  # legacy routes vanish when the switch is off
            raise HTTPException(404)
        # Header names are case-insensitive; Starlette's Headers already folds them.
        creds = parse_token(request.headers.get("gradient-token"))
        if creds is None or not state.authenticate(*creds):
            await self._latency()
            return error_response(UNAUTHORIZED)
        vendor_key, partner_key = creds
        if not state.admit(partner_key, opts.rate_limit):
            headers = {"Retry-After": "1"} if opts.retry_after else None
            return error_response(
                SandboxError(429, "ThrottlerException: Too Many Requests"), headers
            )
        await self._latency()
        if self.faults.roll(opts.fail_rate):
            return error_response(SandboxError(503, "Service Unavailable"))

        raw = await request.body()
        try:
            body = parse_body(raw, request.headers.get("content-type", ""))
        except SandboxError as err:
            return error_response(err)

        write = request.method in WRITE_METHODS
        # Gradient documents no Idempotency-Key (vendor-api.md §13): ignored unless switched on.
        idem_key = (
            request.headers.get("idempotency-key")
            if write and opts.honour_idempotency_key
            else None
        )
        scope = fingerprint = ""
        if idem_key:
            # Scope by organisation, so a rotated partner key still finds its earlier writes.
            scope = state.organization_id(partner_key)
            # `no_build` says whether to rebuild billing, not what to write: a count first sent
            # with no_build=true and repeated as a batch's last row (without it, e.g. after a
            # crash) is the same write, so it is replayed, not refused; the replay header tells
            # the client no rebuild happened (push_counts then recovers it).
            query = "&".join(
                p for p in request.url.query.split("&") if p.partition("=")[0] != "no_build"
            )
            fingerprint = hashlib.sha256(
                b"\0".join(
                    [
                        request.method.encode(),
                        request.url.path.encode(),
                        query.encode(),
                        raw,
                    ]
                )
            ).hexdigest()
            stored = state.idempotent_get(scope, idem_key)
            if stored is not None:
                if stored[0] != fingerprint:
                    return error_response(
                        SandboxError(
                            422, "Idempotency-Key was already used for a different request"
                        )
                    )
                return Response(
                    stored[2],
                    status_code=stored[1],
                    media_type="application/json",
                    headers={"Idempotent-Replayed": "true"},
                )

        ctx = ApiContext(request, state, opts, vendor_key, partner_key, body)
        try:
            status, payload = handler(ctx)
        except SandboxError as err:
            return error_response(err)  # failures are not stored: a retry runs again
        content = json_bytes(payload)
        if idem_key:
            state.idempotent_put(scope, idem_key, fingerprint, status, content)
        if write and self.faults.roll(opts.fail_after_apply_rate):
            # Applied and remembered, but the caller can't know: "outcome unknown".
            return error_response(SandboxError(500, "Internal server error", error=None))
        if write and self.faults.roll(opts.lose_answer_rate):
            return self._lost_answer(status, content)
        return Response(content, status_code=status, media_type="application/json")

    def _lost_answer(self, status: int, content: bytes) -> Response:
        """Applied, but the answer cannot be read: a proxy's HTML page, JSON cut short, or the
        connection dropped mid-body (as when a network fails after the server acted)."""
        self.faults.lost_answers += 1
        kind = self.faults.rng.randrange(3)
        if kind == 0:
            page = b"<!doctype html><html><body><h1>Welcome</h1></body></html>"
            return Response(page, status_code=200, media_type="text/html")
        if kind == 1:
            return Response(
                content[: max(1, len(content) // 2)],
                status_code=status,
                media_type="application/json",
            )
        return _DroppedResponse(content, status_code=status, media_type="application/json")

    async def _latency(self) -> None:
        if self.options.latency_ms > 0:
            await asyncio.sleep(self.options.latency_ms / 1000)


class _DroppedResponse(Response):
    """Declares the whole body's length, sends half of it and ends: the server closes the
    connection and the client sees it lost mid-answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2]})
        # Not reached with uvicorn: it refuses the short body by raising, logs it and closes the
        # connection - exactly the fault wanted. Swallowing that error would leave the client
        # waiting for the rest of the body until its read timeout instead.
        raise ConnectionAbortedError("sandbox: answer dropped on purpose (lose_answer_rate)")


class RequestLog:
    """ASGI middleware: logs method, path (no query), status and duration of API calls only.

    Never headers: the GRADIENT-TOKEN carries both keys.
    """

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            self.state.log_request(
                scope["method"], scope["path"], status, (time.perf_counter() - started) * 1000
            )


async def _http_exception(request: Request, exc: Exception) -> Response:
    """Unknown route / wrong method, worded like NestJS: "Cannot GET /api/…"."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status in (404, 405):
        return error_response(SandboxError(404, f"Cannot {request.method} {request.url.path}"))
    return error_response(SandboxError(status, str(getattr(exc, "detail", "")) or "Error"))


async def _server_error(request: Request, exc: Exception) -> Response:
    return error_response(SandboxError(500, "Internal server error", error=None))


def create_app(state: SandboxState, options: SandboxOptions | None = None) -> Starlette:
    """The ASGI app for `state`; `options` is read live, so fault changes apply immediately."""
    from .routes_admin import admin_routes
    from .routes_alerts import alert_routes
    from .routes_api import api_routes
    from .routes_billing import billing_routes
    from .routes_counts import count_routes

    core = App(state, options or SandboxOptions())
    routes: list[BaseRoute] = [*api_routes(core), *count_routes(core), *admin_routes(core)]
    routes += alert_routes(core)  # routes 18, 19 and the alert admin routes
    routes += billing_routes(core)  # the partner's billing dashboard (routes_billing.py)
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_exception, Exception: _server_error},
    )
    app.add_middleware(RequestLog, state=state)
    app.state.sandbox = core
    return app


def route(path: str, endpoint: Callable[[Request], Any], method: str) -> Route:
    return Route(path, endpoint, methods=[method])
