"""Billing routes: unit counts (route 17 and the legacy add / subtract / all of §2.10).
Alerts (routes 18, 19) are in `routes_alerts.py`.

Counts answer `{status, message}`. A 404 "No account map found with id: X" is the normal
answer for an account or service the MSP has not mapped (§2.7), not an error of the sandbox.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from .app import API_PREFIX, ApiContext, App, route
from .validation import count_body, parse_bool

Result = tuple[int, Any]


def _no_build(ctx: ApiContext) -> bool:
    return parse_bool(ctx.query("no_build"), "no_build", False)


def _count(ctx: ApiContext, mode: str) -> dict[str, Any]:
    service_id = ctx.params["service_id"]
    no_build = _no_build(ctx)
    body = count_body(ctx.body, positive=mode != "set")
    return ctx.state.set_count(
        ctx.partner_key,
        service_id,
        body["unitCount"],
        account_id=body.get("accountId"),
        client_id=body.get("clientOId"),
        no_build=no_build,
        auto_activate=ctx.options.auto_activate,
        mode=mode,
    )


def set_count(ctx: ApiContext) -> Result:
    _count(ctx, "set")
    return 201, {"status": 201, "message": "Created service unit count"}


def add_count(ctx: ApiContext) -> Result:
    stored = _count(ctx, "add")
    return 200, {
        "status": 200,
        "message": "Added to service unit count",
        "unitCount": stored["unitCount"],
    }


def subtract_count(ctx: ApiContext) -> Result:
    stored = _count(ctx, "subtract")
    return 200, {
        "status": 200,
        "message": "Subtracted from service unit count",
        "unitCount": stored["unitCount"],
    }


def set_count_all(ctx: ApiContext) -> Result:
    no_build = _no_build(ctx)
    body = count_body(ctx.body, need_account=False)
    affected = ctx.state.set_count_all(
        ctx.partner_key,
        ctx.params["service_id"],
        body["unitCount"],
        no_build=no_build,
        auto_activate=ctx.options.auto_activate,
    )
    return 201, {
        "status": 201,
        "message": "Created service unit count for all clients",
        "affected": affected,
    }


def count_routes(app: App) -> list[Route]:
    p = f"{API_PREFIX}/service/{{service_id}}/count"
    return [
        route(p, app.api(set_count), "POST"),
        route(f"{p}/add", app.api(add_count, legacy=True), "PATCH"),
        route(f"{p}/subtract", app.api(subtract_count, legacy=True), "PATCH"),
        route(f"{p}/all", app.api(set_count_all, legacy=True), "POST"),
    ]
