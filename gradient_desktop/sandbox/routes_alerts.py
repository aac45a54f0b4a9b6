"""Alerting routes (vendor-api.md §2.8: routes 18 and 19) and the alert admin routes.

The body check is CreateAlertingDto as Gradient's own and other public integrations send it
(§13): the SDK's `"dueDateTime": null` and `"serviceId": ""` (an unset string) are accepted, and
so is gradient-pp-cli's `priority` written as a float (`2.0`); a fractional or out-of-range
priority (1–4) or status (1–6) is a 400 in class-validator's list shape. Kept here, next to the
routes, so changes to the shared `validation.py` do not alter alert behaviour by accident.

Admin (the MSP side, no auth): `GET /_sandbox/alerts?partnerKey=…` (every dispatch and its
outcome), `GET /_sandbox/tickets?partnerKey=…` (the tickets created), `POST /_sandbox/alert-board`
(`{partnerKey, board}`; `board: null` = no board mapped for alerts).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from .app import API_PREFIX, ApiContext, App, route
from .models import SandboxError
from .options import SandboxOptions
from .routes_admin import _admin, _need
from .state_alerts import AlertRules

Result = tuple[int, Any]


def rules(options: SandboxOptions) -> AlertRules:
    return AlertRules(
        delay_s=options.alert_delay_ms / 1000,
        no_board=options.alert_no_board,
        psa_down_rate=options.alert_psa_down_rate,
    )


def _whole_in(value: Any, top: int) -> int | None:
    """An integer 1..top, also when written as a whole float (2.0); None otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        return None
    number = int(value)
    return number if 1 <= number <= top else None


def alert_dto(body: Any) -> dict[str, Any]:
    """CreateAlertingDto, validated; raises a 400 SandboxError listing every problem."""
    if not isinstance(body, dict):
        raise SandboxError(400, "Request body must be a JSON object")
    errors: list[str] = []
    out: dict[str, Any] = {}
    for name in ("title", "description", "alertId"):
        value = body.get(name)
        if not isinstance(value, str):
            errors += [f"{name} should not be empty", f"{name} must be a string"]
        elif not value.strip() and name != "description":
            errors.append(f"{name} should not be empty")
        else:
            out[name] = value
    for name, top in (("priority", 4), ("status", 6)):
        value = body.get(name, 1)
        number = _whole_in(value, top)
        if number is None:
            errors.append(f"{name} must be an integer between 1 and {top}")
        out[name] = number
    service = body.get("serviceId")
    if service is not None and not isinstance(service, str):
        errors.append("serviceId must be a string")
    elif service:  # "" is the SDK's "not set"
        out["serviceId"] = service
    due = body.get("dueDateTime")
    if due is not None:
        try:
            if not isinstance(due, str):
                raise ValueError
            datetime.fromisoformat(due.replace("Z", "+00:00"))
            out["dueDateTime"] = due
        except ValueError:
            errors.append("dueDateTime must be a valid ISO 8601 date string")
    if errors:
        raise SandboxError(400, errors)
    return out


def dispatch_alert(ctx: ApiContext) -> Result:
    alert = alert_dto(ctx.body)
    queued = ctx.state.dispatch_alert(
        ctx.partner_key,
        ctx.params["account_id"],
        alert,
        auto_activate=ctx.options.auto_activate,
        rules=rules(ctx.options),
    )
    return 201, queued


def alert_debug(ctx: ApiContext) -> Result:
    return 200, ctx.state.alert_status(
        ctx.partner_key, ctx.params["message_id"], rules(ctx.options)
    )


def admin_alerts(app: App, body: dict[str, Any], request: Request) -> Any:
    (key,) = _need(body, "partnerKey")
    return {"partnerKey": key, "alerts": app.state.alert_log(key, rules(app.options))}


def admin_tickets(app: App, body: dict[str, Any], request: Request) -> Any:
    (key,) = _need(body, "partnerKey")
    return {"partnerKey": key, "tickets": app.state.tickets(key, rules(app.options))}


def admin_board(app: App, body: dict[str, Any], request: Request) -> Any:
    (key,) = _need(body, "partnerKey")
    board = body.get("board")
    if board is not None and not (isinstance(board, str) and board.strip()):
        raise SandboxError(400, "board must be a board name or null")
    app.state.set_alert_board(key, board)
    return {"partnerKey": key, "board": app.state.alert_board(key)}


def alert_routes(app: App) -> list[BaseRoute]:
    return [
        route(f"{API_PREFIX}/alerting/debug/{{message_id}}", app.api(alert_debug), "GET"),
        route(f"{API_PREFIX}/alerting/{{account_id}}", app.api(dispatch_alert), "POST"),
        Route("/_sandbox/alerts", _admin(app, admin_alerts), methods=["GET"]),
        Route("/_sandbox/tickets", _admin(app, admin_tickets), methods=["GET"]),
        Route("/_sandbox/alert-board", _admin(app, admin_board), methods=["POST"]),
    ]
