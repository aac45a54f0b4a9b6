"""Admin routes under `/_sandbox/...`: the sandbox playing the MSP, and test inspection.

Guarded by ``_guard``: loopback only unless ``--admin-token`` is given; JSON in and out, errors
in the same NestJS shape as the API. Not logged in the request log, so tests that count API
calls are not disturbed by their own inspection.
"""

from __future__ import annotations

import hmac
import random
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gradient_desktop.hosts import is_loopback_host

from .app import App, error_response, json_response
from .models import SandboxError, iso
from .names import company_names
from .validation import parse_body

AdminHandler = Callable[[App, dict[str, Any], Request], Any]


def _guard(app: App, request: Request) -> None:
    """Who may use the admin routes: with ``--admin-token``, only a caller sending it; without,
    only a sandbox bound to loopback (the routes hand out every partner key). A POST must be
    JSON, which a web page cannot send across origins without a preflight."""
    token = app.options.admin_token
    if token:
        given = request.headers.get("x-sandbox-admin-token", "")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise SandboxError(
                401, "The sandbox admin routes need the X-Sandbox-Admin-Token header."
            )
    elif not is_loopback_host(app.options.host):
        raise SandboxError(
            403,
            "The sandbox listens beyond this machine: start it with --admin-token to use these routes.",
        )
    if request.method == "POST" and not request.headers.get("content-type", "").startswith(
        "application/json"
    ):
        raise SandboxError(415, "Sandbox admin requests must be sent as application/json.")


def _admin(app: App, handler: AdminHandler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            _guard(app, request)
            body = parse_body(await request.body(), request.headers.get("content-type", "")) or {}
            if not isinstance(body, dict):
                raise SandboxError(400, "Request body must be a JSON object")
            if request.method == "GET":
                body = {**dict(request.query_params), **body}
            return json_response(200, handler(app, body, request))
        except SandboxError as err:
            return error_response(err)

    endpoint.__name__ = handler.__name__
    return endpoint


def _need(body: dict[str, Any], *names: str) -> list[str]:
    missing = [n for n in names if not isinstance(body.get(n), str) or not body[n]]
    if missing:
        raise SandboxError(400, [f"{n} must be a non-empty string" for n in missing])
    return [body[n] for n in names]


def state_summary(app: App, body: dict[str, Any], request: Request) -> Any:
    return {
        **app.state.summary(),
        "options": app.options.faults(),
        "requests": len(app.state.requests()),
    }


def counts(app: App, body: dict[str, Any], request: Request) -> Any:
    (key,) = _need(body, "partnerKey")
    rows = [{"serviceId": s, "accountId": a, **v} for (s, a), v in app.state.counts(key).items()]
    return {"partnerKey": key, "counts": rows}


def rebuilds(app: App, body: dict[str, Any], request: Request) -> Any:
    (key,) = _need(body, "partnerKey")
    times = app.state.rebuild_times(key)
    return {"partnerKey": key, "rebuilds": len(times), "timestamps": [iso(t) for t in times]}


def max_rps(app: App, body: dict[str, Any], request: Request) -> Any:
    (key,) = _need(body, "partnerKey")
    return {"partnerKey": key, "maxRpsSeen": app.state.max_rps_seen(key)}


def map_account(app: App, body: dict[str, Any], request: Request) -> Any:
    key, account_id, client_id = _need(body, "partnerKey", "accountId", "clientId")
    return app.state.map_account(key, account_id, client_id)


def unmap_account(app: App, body: dict[str, Any], request: Request) -> Any:
    key, account_id = _need(body, "partnerKey", "accountId")
    return app.state.unmap_account(key, account_id)


def map_service(app: App, body: dict[str, Any], request: Request) -> Any:
    key, service_id = _need(body, "partnerKey", "serviceId")
    product = body.get("product")
    return app.state.map_service(key, service_id, product if isinstance(product, str) else None)


def unmap_service(app: App, body: dict[str, Any], request: Request) -> Any:
    key, service_id = _need(body, "partnerKey", "serviceId")
    app.state.unmap_service(key, service_id)
    return {"serviceId": service_id, "product": None}


def auto_map(app: App, body: dict[str, Any], request: Request) -> Any:
    (key,) = _need(body, "partnerKey")
    return app.state.auto_map(key)


def disconnect(app: App, body: dict[str, Any], request: Request) -> Any:
    (key,) = _need(body, "partnerKey")
    app.state.disconnect(key)
    return {"partnerKey": key, "disconnected": True}


def connect(app: App, body: dict[str, Any], request: Request) -> Any:
    """Reconnect an organisation (by partnerKey / organizationId / organizationName) or create
    one; a new organisation gets `clients` generated PSA clients (default 25)."""

    def opt(name: str) -> str | None:
        value = body.get(name)
        return value if isinstance(value, str) and value else None

    result = app.state.connect(
        organization_name=opt("organizationName"),
        partner_key=opt("partnerKey"),
        organization_id=opt("organizationId"),
        vendor_key=opt("vendorKey"),
    )
    if result["created"]:
        n = body.get("clients", 25)
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= 100_000:
            raise SandboxError(400, ["clients must be an integer between 0 and 100000"])
        _add_generated_clients(app, result["partnerKey"], n)
    return result


def rotate_key(app: App, body: dict[str, Any], request: Request) -> Any:
    (key,) = _need(body, "partnerKey")
    return {"oldPartnerKey": key, "partnerKey": app.state.rotate_key(key)}


def delete_client(app: App, body: dict[str, Any], request: Request) -> Any:
    key, client_id = _need(body, "partnerKey", "clientId")
    return {"clientId": client_id, "unmappedAccounts": app.state.delete_client(key, client_id)}


def _add_generated_clients(
    app: App, key: str, n: int, names: list[str] | None = None
) -> list[dict[str, str]]:
    names = names if names is not None else company_names(random.Random(f"added:{key}:{n}"), n)
    pairs = [(app.state.new_guid(), name) for name in names]
    app.state.add_clients(key, pairs)
    return [{"id": cid, "name": name} for cid, name in pairs]


def add_clients(app: App, body: dict[str, Any], request: Request) -> Any:
    """`{partnerKey, names: [...]}` or `{partnerKey, count: n}` (generated names)."""
    (key,) = _need(body, "partnerKey")
    names = body.get("names")
    if names is not None and not (
        isinstance(names, list) and all(isinstance(n, str) and n for n in names)
    ):
        raise SandboxError(400, ["names must be an array of non-empty strings"])
    count = body.get("count", 0)
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 100_000:
        raise SandboxError(400, ["count must be an integer between 0 and 100000"])
    return {"clients": _add_generated_clients(app, key, len(names) if names else count, names)}


def faults(app: App, body: dict[str, Any], request: Request) -> Any:
    """GET: current switches. POST: change some (snake_case or camelCase names)."""
    if request.method == "POST":
        try:
            app.options.update(body)
        except ValueError as exc:
            raise SandboxError(400, [str(exc)]) from None
        if any(k in body for k in ("random_seed", "randomSeed")):
            app.faults.reseed()
    return app.options.faults()


def request_log(app: App, body: dict[str, Any], request: Request) -> Any:
    rows = app.state.requests()
    limit = body.get("limit")
    if limit is not None:
        if not str(limit).isdigit():
            raise SandboxError(400, ["limit must be a non-negative integer"])
        rows = rows[-int(limit) :] if int(limit) else []
    return {"requests": rows}


def clear_requests(app: App, body: dict[str, Any], request: Request) -> Any:
    app.state.clear_requests()
    return {"requests": []}


def admin_routes(app: App) -> list[Route]:
    table: list[tuple[str, AdminHandler, list[str]]] = [
        ("state", state_summary, ["GET"]),
        ("counts", counts, ["GET"]),
        ("rebuilds", rebuilds, ["GET"]),
        ("max-rps", max_rps, ["GET"]),
        ("map", map_account, ["POST"]),
        ("unmap", unmap_account, ["POST"]),
        ("map-service", map_service, ["POST"]),
        ("unmap-service", unmap_service, ["POST"]),
        ("auto-map", auto_map, ["POST"]),
        ("disconnect", disconnect, ["POST"]),
        ("connect", connect, ["POST"]),
        ("rotate-key", rotate_key, ["POST"]),
        ("clients/delete", delete_client, ["POST"]),
        ("clients/add", add_clients, ["POST"]),
        ("faults", faults, ["GET", "POST"]),
        ("requests", request_log, ["GET"]),
        ("requests/clear", clear_requests, ["POST"]),
    ]
    return [
        Route(f"/_sandbox/{path}", _admin(app, handler), methods=methods)
        for path, handler, methods in table
    ]
