"""Request parsing and DTO validation with NestJS/class-validator style 400s.

Gradient validates bodies with class-validator, whose messages come back as a list
(`{"statusCode": 400, "message": ["unitCount must be a number ..."], "error": "Bad Request"}`);
the sandbox reproduces that so clients learn to read both a string and a list `message`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard
from urllib.parse import parse_qsl

from .models import CATEGORIES, SUBCATEGORIES, SandboxError

NUMBER_MSG = "unitCount must be a number conforming to the specified constraints"
EMPTY_PATCH_MSG = "Request body must provide at least one property"


def bad(messages: str | list[str]) -> SandboxError:
    return SandboxError(400, messages)


def parse_body(raw: bytes, content_type: str) -> Any:
    """JSON (the norm) or form-encoded (one peer PATCHes that way); None for an empty body."""
    if not raw.strip():
        return None
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(raw.decode("utf-8", "replace")))

    def reject_constant(token: str) -> Any:  # Python would accept NaN/Infinity; JSON does not
        raise ValueError(f"Unexpected token {token[0]} in JSON")

    try:
        return json.loads(raw, parse_constant=reject_constant)
    except json.JSONDecodeError as exc:
        raise bad(f"Unexpected token in JSON at position {exc.pos}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad(str(exc)) from None


def parse_bool(value: str | None, name: str, default: bool) -> bool:
    """`true/false/1/0`, any case (§7); anything else is a 400 rather than a silent guess."""
    if value is None:
        return default
    folded = value.strip().lower()
    if folded in ("true", "1"):
        return True
    if folded in ("false", "0"):
        return False
    raise bad([f"{name} must be a boolean value"])


def multi_ids(pairs: list[tuple[str, str]], name: str) -> list[str] | None:
    """`ids=a&ids=b`, `ids[]=a&ids[]=b` and `ids=a,b` all mean [a, b]; absent -> None."""
    values = [v for k, v in pairs if k in (name, f"{name}[]")]
    if not values:
        return None
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


def is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


Check = Callable[[Any], bool]


def _string(v: Any) -> bool:
    return isinstance(v, str)


def _opt_string(v: Any) -> bool:
    return v is None or isinstance(v, str)


def _boolean(v: Any) -> bool:
    return isinstance(v, bool)


def _type_name(check: Check) -> str:
    return "a boolean value" if check is _boolean else "a string"


def _fields(
    obj: dict[str, Any], spec: Mapping[str, tuple[Check, bool]], prefix: str = ""
) -> tuple[dict[str, Any], list[str]]:
    """Pick the fields of `spec` (name -> (check, required)) out of `obj`; unknown keys ignored."""
    out: dict[str, Any] = {}
    errors: list[str] = []
    for name, (check, required) in spec.items():
        if name not in obj:
            if required:
                errors.append(f"{prefix}{name} should not be empty")
                errors.append(f"{prefix}{name} must be {_type_name(check)}")
            continue
        if not check(obj[name]):
            errors.append(f"{prefix}{name} must be {_type_name(check)}")
        else:
            out[name] = obj[name]
    return out, errors


def patch_fields(body: Any, spec: Mapping[str, tuple[Check, bool]]) -> dict[str, Any]:
    """A PATCH body: an object carrying at least one known property, each well typed."""
    if not isinstance(body, dict):
        raise bad(
            EMPTY_PATCH_MSG if body in (None, [], "") else "Request body must be a JSON object"
        )
    # The official SDK sends unset [String] parameters as "": `{"id": "", "name": "X"}` is an
    # update of the name, not a rename to nothing (vendor-api.md §13).
    body = _without_unset(body)
    out, errors = _fields(body, spec)
    if errors:
        raise bad(errors)
    if not out:
        raise bad(EMPTY_PATCH_MSG)
    return out


VENDOR_PATCH = {
    k: (_string, False)
    for k in ("name", "description", "vendorSupportPageUrl", "integrationPortalUrl")
}
SKU_FIELDS = {
    "name": (_string, True),
    "description": (_string, True),
    "category": (_string, True),
    "subcategory": (_string, True),
    "supportArticle": (_string, False),
    "supportContact": (_string, False),
    "logo": (_string, False),
}
SKU_PATCH = {k: (check, False) for k, (check, _req) in SKU_FIELDS.items()}
ACCOUNT_FIELDS = {
    "id": (_string, True),
    "name": (_string, True),
    "description": (_opt_string, False),
    "clientOId": (_opt_string, False),
    "isActive": (_boolean, False),
    "isArrears": (_boolean, False),
}
ACCOUNT_PATCH = {k: (check, False) for k, (check, _req) in ACCOUNT_FIELDS.items()}
SERVICE_FIELDS = {
    "id": (_string, True),
    "name": (_string, True),
    "description": (_string, True),
    "isActive": (_boolean, False),
    "isArrears": (_boolean, False),
}
SERVICE_PATCH = {k: (check, False) for k, (check, _req) in SERVICE_FIELDS.items()}
INTEGRATION_PATCH = {"name": (_string, False), "status": (_string, False)}


def check_enums(fields: dict[str, Any]) -> None:
    errors = []
    if "category" in fields and fields["category"] not in CATEGORIES:
        errors.append(
            "category must be one of the following values: " + ", ".join(sorted(CATEGORIES))
        )
    if "subcategory" in fields and fields["subcategory"] not in SUBCATEGORIES:
        errors.append(
            "subcategory must be one of the following values: " + ", ".join(sorted(SUBCATEGORIES))
        )
    if errors:
        raise bad(errors)


def sku_create(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad("Request body must be a JSON object")
    out, errors = _fields(body, SKU_FIELDS)
    if errors:
        raise bad(errors)
    check_enums(out)
    return out


def _without_unset(obj: dict[str, Any], *, keep_id: bool = False) -> dict[str, Any]:
    """Drop what the SDK sends for an unset [String] parameter: `"id": ""` in an update and
    `"clientOId": ""` (which must not unmap or map to nothing)."""
    unset = ("clientOId",) if keep_id else ("id", "clientOId")
    return {k: v for k, v in obj.items() if not (k in unset and v == "")}


def item_list(
    body: Any, spec: Mapping[str, tuple[Check, bool]], *, what: str
) -> list[dict[str, Any]]:
    """A bulk body: a JSON array of objects, or one object (CIPP posts a single new tenant that
    way, and the 2026 spec types these bodies as object-or-array: vendor-api.md §13)."""
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list):
        raise bad(f"Request body must be an array of {what}")
    items: list[dict[str, Any]] = []
    errors: list[str] = []
    for i, item in enumerate(body):
        if not isinstance(item, dict):
            errors.append(f"{i} must be an object")
            continue
        out, errs = _fields(_without_unset(item, keep_id=True), spec, prefix=f"{i}.")
        if "id" in out and not out["id"]:
            errs.append(f"{i}.id should not be empty")
        errors.extend(errs)
        items.append(out)
    if errors:
        raise bad(errors)
    return items


def count_body(body: Any, *, positive: bool = False, need_account: bool = True) -> dict[str, Any]:
    """CreateBillingRequest: `unitCount` (number >= 0; > 0 for add/subtract) and an account ref."""
    if not isinstance(body, dict):
        raise bad([NUMBER_MSG])
    errors = []
    unit = body.get("unitCount")
    if not is_number(unit):
        errors.append(NUMBER_MSG)
    elif positive and unit <= 0:
        errors.append("unitCount must be a positive number")
    elif unit < 0:
        errors.append("unitCount must not be less than 0")
    out: dict[str, Any] = {"unitCount": unit}
    for name in ("accountId", "clientOId"):
        value = body.get(name)
        if name == "clientOId" and value == "":
            # The official template sends `"clientOId": ""` beside accountId on every count.
            continue
        if value is not None and not (isinstance(value, str) and value):
            errors.append(f"{name} must be a string")
        elif value is not None:
            out[name] = value
    if need_account and "accountId" not in out and "clientOId" not in out and not errors:
        errors.append("accountId must be a string")
    if errors:
        raise bad(errors)
    return out
