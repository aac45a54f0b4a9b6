"""Vendor API routes 1–16 of vendor-api.md §2: vendor profile, SKUs, integration, accounts,
organisation services and (deprecated) clients, with each route's own response shape.

Shapes differ per route on purpose (the real API is inconsistent): an envelope
`{status, data, message}` for routes 1, 2, 4, 7; bare objects for 3, 6, 10, 14; bare arrays
for 8, 9, 12, 13.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from .app import API_PREFIX, ApiContext, App, route
from .validation import (
    ACCOUNT_FIELDS,
    ACCOUNT_PATCH,
    INTEGRATION_PATCH,
    SERVICE_FIELDS,
    SERVICE_PATCH,
    SKU_PATCH,
    VENDOR_PATCH,
    bad,
    check_enums,
    item_list,
    multi_ids,
    parse_bool,
    patch_fields,
    sku_create,
)

Result = tuple[int, Any]


def envelope(status: int, data: Any, message: str) -> Result:
    return status, {"status": status, "data": data, "message": message}


# --- vendor (1-5) -------------------------------------------------------------------------------


def get_vendor(ctx: ApiContext) -> Result:
    return envelope(200, ctx.state.vendor(ctx.vendor_key), "Success - Retrieved Vendor")


def patch_vendor(ctx: ApiContext) -> Result:
    fields = patch_fields(ctx.body, VENDOR_PATCH)
    return envelope(
        200, ctx.state.update_vendor(ctx.vendor_key, fields), "Success - Updated Vendor"
    )


def create_service(ctx: ApiContext) -> Result:
    return 201, ctx.state.create_sku(ctx.vendor_key, sku_create(ctx.body))


def get_service(ctx: ApiContext) -> Result:
    vendor = ctx.state.get_sku(ctx.vendor_key, ctx.params["service_id"])
    return envelope(200, vendor, "Success - Retrieved Vendor Service")


def patch_service(ctx: ApiContext) -> Result:
    service_id = ctx.params["service_id"]
    sku = ctx.state.get_sku(ctx.vendor_key, service_id)  # 400/404 on the id first
    if ctx.body is None:
        # The SDK's Update-PSVendorService sends no body at all: nothing to change.
        return envelope(200, sku, "Success - Updated Vendor Service")
    fields = patch_fields(ctx.body, SKU_PATCH)
    check_enums(fields)
    vendor = ctx.state.update_sku(ctx.vendor_key, service_id, fields)
    return envelope(200, vendor, "Success - Updated Vendor Service")


# --- integration (6, 7, legacy PATCH) -----------------------------------------------------------


def get_integration(ctx: ApiContext) -> Result:
    return 200, ctx.state.integration(ctx.partner_key)


def set_status(ctx: ApiContext) -> Result:
    integration = ctx.state.set_status(
        ctx.partner_key, ctx.params["status"], allow_legacy=ctx.options.legacy
    )
    return envelope(200, integration, "Success - Updated Integration Status")


def patch_integration(ctx: ApiContext) -> Result:
    fields = patch_fields(ctx.body, INTEGRATION_PATCH)
    return envelope(
        200, ctx.state.update_integration(ctx.partner_key, fields), "Success - Updated Integration"
    )


# --- accounts (8-11) ----------------------------------------------------------------------------


def _filters(ctx: ApiContext, ids_name: str) -> tuple[list[str] | None, bool]:
    ids = multi_ids(ctx.request.query_params.multi_items(), ids_name)
    # "returnUnmapped ... defaults to true which returns all": false -> only mapped ones.
    return_unmapped = parse_bool(ctx.query("returnUnmapped"), "returnUnmapped", True)
    return ids, not return_unmapped


def list_accounts(ctx: ApiContext) -> Result:
    ids, only_mapped = _filters(ctx, "accountIds")
    return 200, ctx.state.accounts(ctx.partner_key, ids, only_mapped)


def create_accounts(ctx: ApiContext) -> Result:
    items = item_list(ctx.body, ACCOUNT_FIELDS, what="accounts")
    return 201, ctx.state.create_accounts(ctx.partner_key, items)


def patch_account(ctx: ApiContext) -> Result:
    fields = patch_fields(ctx.body, ACCOUNT_PATCH)
    return 200, ctx.state.update_account(ctx.partner_key, ctx.params["account_id"], fields)


def patch_accounts(ctx: ApiContext) -> Result:
    items = item_list(
        ctx.body,
        {**ACCOUNT_PATCH, "id": ACCOUNT_FIELDS["id"]},
        what="accounts",
    )
    if not items:
        raise bad("Request body must be a non-empty array of accounts")
    return 200, ctx.state.update_accounts(ctx.partner_key, items)


# --- organisation services (12-15) --------------------------------------------------------------


def list_services(ctx: ApiContext) -> Result:
    ids, only_mapped = _filters(ctx, "serviceIds")
    return 200, ctx.state.services(ctx.partner_key, ids, only_mapped)


def create_services(ctx: ApiContext) -> Result:
    items = item_list(ctx.body, SERVICE_FIELDS, what="services")
    return 201, ctx.state.create_services(ctx.partner_key, items)


def patch_org_service(ctx: ApiContext) -> Result:
    fields = patch_fields(ctx.body, SERVICE_PATCH)
    return 200, ctx.state.update_service(ctx.partner_key, ctx.params["service_id"], fields)


def patch_org_services(ctx: ApiContext) -> Result:
    items = item_list(
        ctx.body,
        {**SERVICE_PATCH, "id": SERVICE_FIELDS["id"]},
        what="services",
    )
    if not items:
        raise bad("Request body must be a non-empty array of services")
    return 200, ctx.state.update_services(ctx.partner_key, items)


# --- clients (16) -------------------------------------------------------------------------------


def list_clients(ctx: ApiContext) -> Result:
    """Keyset paging: `previousId` = last id of the previous page; `search` = name substring."""
    search = (ctx.query("search") or "").strip() or None
    previous_id = ctx.query("previousId") or None
    page = ctx.state.clients_page(
        ctx.partner_key, search, previous_id, ctx.options.clients_page_limit
    )
    return 200, page


def api_routes(app: App) -> list[Route]:
    p = API_PREFIX
    return [
        route(p, app.api(get_vendor), "GET"),
        route(p, app.api(patch_vendor), "PATCH"),
        route(f"{p}/service", app.api(create_service), "POST"),
        route(f"{p}/service/{{service_id}}", app.api(get_service), "GET"),
        route(f"{p}/service/{{service_id}}", app.api(patch_service), "PATCH"),
        route(f"{p}/organization", app.api(get_integration), "GET"),
        route(f"{p}/organization", app.api(patch_integration, legacy=True), "PATCH"),
        route(f"{p}/organization/status/{{status}}", app.api(set_status), "PATCH"),
        route(f"{p}/organization/accounts", app.api(list_accounts), "GET"),
        route(f"{p}/organization/accounts", app.api(create_accounts), "POST"),
        route(f"{p}/organization/accounts", app.api(patch_accounts), "PATCH"),
        route(f"{p}/organization/accounts/{{account_id}}", app.api(patch_account), "PATCH"),
        route(f"{p}/organization/services", app.api(list_services), "GET"),
        route(f"{p}/organization/services", app.api(create_services), "POST"),
        route(f"{p}/organization/services", app.api(patch_org_services), "PATCH"),
        route(f"{p}/organization/services/{{service_id}}", app.api(patch_org_service), "PATCH"),
        route(f"{p}/organization/clients", app.api(list_clients), "GET"),
    ]
