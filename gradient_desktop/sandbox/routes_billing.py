"""Admin routes for the partner's billing reconciliation: `/_sandbox/billing/...`.

The MSP's billing dashboard is not part of the Vendor API (it is Synthesize's UI), so, like the
mapping routes, these are admin routes with no authentication that play the partner: list the
service cards, edit, approve or dismiss them (or undo that), read the PSA agreements and the chart data.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from .app import App
from .billing_models import UNSET
from .models import SandboxError
from .routes_admin import AdminHandler, _admin, _need


def _card_ids(body: dict[str, Any]) -> list[str]:
    ids = body.get("cardIds")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise SandboxError(400, ["cardIds must be a non-empty array of card ids"])
    return ids


def cards(app: App, body: dict[str, Any], request: Request) -> Any:
    """`?partnerKey=…&state=needs_review` (state optional: every card)."""
    (key,) = _need(body, "partnerKey")
    state = body.get("state") or None
    return {"partnerKey": key, "cards": app.state.billing_cards(key, state)}


def edit(app: App, body: dict[str, Any], request: Request) -> Any:
    """`{partnerKey, cardId, quantity?, price?}`; a null value clears that edit."""
    key, card_id = _need(body, "partnerKey", "cardId")
    if "quantity" not in body and "price" not in body:
        raise SandboxError(400, ["give quantity and/or price"])
    return app.state.billing_edit(
        key, card_id, quantity=body.get("quantity", UNSET), price=body.get("price", UNSET)
    )


def approve(app: App, body: dict[str, Any], request: Request) -> Any:
    """`{partnerKey, cardIds: [...], effectiveDate?: "YYYY-MM-DD"}`."""
    (key,) = _need(body, "partnerKey")
    effective = body.get("effectiveDate")
    if effective is not None and not isinstance(effective, str):
        raise SandboxError(400, ["effectiveDate must be a date like 2025-02-01"])
    return {"cards": app.state.billing_approve(key, _card_ids(body), effective)}


def dismiss(app: App, body: dict[str, Any], request: Request) -> Any:
    (key,) = _need(body, "partnerKey")
    return {"cards": app.state.billing_dismiss(key, _card_ids(body))}


def reopen(app: App, body: dict[str, Any], request: Request) -> Any:
    """`{partnerKey, cardIds}`: undo approving or dismissing them (state_billing_undo.py)."""
    (key,) = _need(body, "partnerKey")
    return {"cards": app.state.billing_reopen(key, _card_ids(body))}


def agreements(app: App, body: dict[str, Any], request: Request) -> Any:
    """`?partnerKey=…&clientId=…` (clientId optional)."""
    (key,) = _need(body, "partnerKey")
    client = body.get("clientId") or None
    return {"partnerKey": key, "agreements": app.state.billing_agreements(key, client)}


def chart(app: App, body: dict[str, Any], request: Request) -> Any:
    (key,) = _need(body, "partnerKey")
    return {"partnerKey": key, "services": app.state.billing_chart(key)}


def billing_routes(app: App) -> list[Route]:
    table: list[tuple[str, AdminHandler, list[str]]] = [
        ("cards", cards, ["GET"]),
        ("edit", edit, ["POST"]),
        ("approve", approve, ["POST"]),
        ("dismiss", dismiss, ["POST"]),
        ("reopen", reopen, ["POST"]),
        ("agreements", agreements, ["GET"]),
        ("chart", chart, ["GET"]),
    ]
    return [
        Route(f"/_sandbox/billing/{path}", _admin(app, handler), methods=methods)
        for path, handler, methods in table
    ]
