"""Typed wire objects of the Vendor API (vendor-api.md §2), tolerant of what peers saw.

Responses: unknown fields are kept (``extra="allow"``), ``_id`` and ``id`` are both accepted,
and envelopes ``{status, data, message}`` are unwrapped wherever a bare object may also come.
Requests: strict models serialised to the camelCase wire names.
The two hot paths (client pages, count responses) use plain slotted dataclasses instead of
pydantic validation, to keep per-item CPU negligible.
"""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

IntegrationStatus = Literal["inactive", "pending", "active", "disabled", "error"]
INTEGRATION_STATUSES: tuple[str, ...] = ("inactive", "pending", "active", "disabled", "error")

SERVICE_CATEGORIES: tuple[str, ...] = (
    "security", "backup", "productivity", "infrastructure", "service delivery", "consulting",
    "other",
)  # fmt: skip

# Wire strings, case-sensitive, spelled exactly as Gradient does ("priviledged" sic).
SERVICE_SUBCATEGORIES: tuple[str, ...] = (
    "endpoint detection and response (EDR)", "email security",
    "virtual private network services (VPN)", "DNS filtering", "dark web monitoring",
    "password management", "single sign on (SSO)",
    "priviledged access and identity management (PAM/PIM)",
    "security information and event management (SIEM)", "mobile device management (MDM)",
    "application security", "mobile application management (MAM)",
    "multi factor authentication (MFA)", "cloud backup", "local backup", "desktop backup",
    "data archiving", "physical offsite storage", "business continuity", "hosted email",
    "video conferencing", "voice over IP services (VOIP)",
    "line of business application support", "unified communications as a service (UCaaS)",
    "customer relationship management", "cloud storage", "website hosting",
    "hardware as a service (HaaS)", "managed print services",
    "virtual desktop infrastructure (VDI)", "virtual server hosting",
    "infrastructure as a service (IaaS)", "end user support",
    "server management and support", "network management and support",
    "printer management and support", "desktop management and support",
    "hosted security operations centre (SOC)", "software development", "penetration testing",
    "project services", "governance and compliance",
    "business intelligence services / analytics", "phishing simulation",
    "privacy and security awareness training", "other",
)  # fmt: skip


def unwrap(payload: Any) -> Any:
    """Return ``data`` of a ``{status, data, message}`` envelope, or the payload itself."""
    if (
        isinstance(payload, dict)
        and "data" in payload
        and ("status" in payload or "message" in payload or len(payload) == 1)
    ):
        return payload["data"]
    return payload


# --------------------------------------------------------------------------- responses


class WireModel(BaseModel):
    """Base of response objects: camelCase on the wire, unknown fields kept, ``_id`` accepted."""

    model_config = ConfigDict(
        extra="allow",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        coerce_numbers_to_str=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _accept_legacy_id(cls, data: Any) -> Any:
        # `_id` is Gradient's deprecated twin of `id`; peers read either, so accept either.
        if isinstance(data, dict) and "_id" in data:
            data = dict(data)
            legacy = data.pop("_id")
            data.setdefault("id", legacy)
        return data


class Sku(WireModel):
    """A vendor-level service; ``id`` is the ``serviceId`` of count pushes."""

    id: str
    name: str
    description: str = ""
    logo: str | None = None
    category: str | None = None
    subcategory: str | None = None
    support_article: str | None = None
    support_contact: str | None = None


class Vendor(WireModel):
    """The vendor profile with its SKU catalogue."""

    id: str
    name: str = ""
    description: str = ""
    integration_type: str | None = None
    image_uri: str | None = None
    skus: list[Sku] = Field(default_factory=list)
    is_distributor: bool = False
    integration_portal_url: str | None = None
    vendor_support_page_url: str | None = None
    external_integration_status: str | None = None
    mapping_responsibilities: list[str] = Field(default_factory=list)
    modules: list[dict[str, Any]] = Field(default_factory=list)
    organization_id: str | None = None
    attributes: list[Any] | None = None
    created_at: str | None = None
    updated_at: str | None = None

    def sku_by_name(self, name: str) -> Sku | None:
        """The SKU with this exact name (peers use the name as the natural key)."""
        return next((s for s in self.skus if s.name == name), None)

    @property
    def module_variations(self) -> list[str]:
        return [str(m.get("variation")) for m in self.modules if isinstance(m, dict)]


class Integration(WireModel):
    """The partner link: status and last sync of this vendor ↔ MSP integration."""

    status: str
    organization_id: str | None = None
    name: str | None = None
    vendor_id: str | None = None
    vendor_name: str | None = None
    integration_id: str | None = None
    last_synced_at: str | None = None

    @property
    def never_synced(self) -> bool:
        """Gradient uses a 1900 date as "never synced"."""
        return not self.last_synced_at or self.last_synced_at.startswith("1900")


class Account(WireModel):
    """A vendor account (the vendor's view of one of the MSP's customers)."""

    id: str
    name: str = ""
    description: str | None = None
    is_mapped: bool | None = None
    is_active: bool | None = None
    is_arrears: bool | None = None


class OrgService(WireModel):
    """A per-organization ("dynamic") service."""

    id: str
    name: str = ""
    description: str | None = None
    is_mapped: bool | None = None
    is_active: bool | None = None
    is_arrears: bool | None = None


class AlertCreated(WireModel):
    """Answer to an alert dispatch; poll ``get_alert_status(message_id)``."""

    message_id: str
    alert_id: str | None = None
    correlation_id: str | None = Field(default=None, alias="correlationID")


class AlertStatus(WireModel):
    """Ticket-creation status of a dispatched alert (every field optional)."""

    ticket_id: str | None = None
    created_at: str | None = None
    message: str | None = None
    message_id: str | None = None
    status: str | None = None
    status_code: int | None = None
    errors: list[str] | None = None

    @property
    def is_final(self) -> bool:
        return self.status in ("success", "failed")


# ------------------------------------------------------------------ hot-path dataclasses


@dataclass(slots=True)  # not frozen: a frozen __init__ is 3x slower, and pages hold 50k
class PsaClient:
    """A client of the MSP as known in its PSA (deprecated clients route)."""

    id: str
    name: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(slots=True)
class ClientsPage:
    """One keyset page of clients; ``limit`` is ``meta.limit`` when the server sent one."""

    clients: list[PsaClient]
    meta: dict[str, Any]
    limit: int | None


@dataclass(frozen=True, slots=True)
class CountResult:
    """Answer to a count write; the body is not validated beyond its status (hot path)."""

    status: int
    message: str | None = None
    #: The server answered from its idempotency store (``Idempotent-Replayed: true``) for a
    #: request applied by an *earlier call*: nothing happened now (so no billing rebuild).
    replayed: bool = False


def parse_clients_page(data: Any) -> ClientsPage:
    """Build a page from the decoded JSON; ValueError names what is wrong.

    Liberal: a bare array or an envelope is accepted, ``meta`` may be missing or odd (then
    ``limit`` is None), items may carry ``_id``. Hot path (50k items): no pydantic here.
    """
    if isinstance(data, dict) and "clients" not in data:
        data = unwrap(data)
    meta: dict[str, Any]
    if isinstance(data, list):
        items, meta = data, {}
    elif isinstance(data, dict) and isinstance(data.get("clients"), list):
        items = data["clients"]
        raw_meta = data.get("meta")
        meta = raw_meta if isinstance(raw_meta, dict) else {}
    else:
        raise TypeError("no 'clients' list")
    limit = meta.get("limit")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        limit = None
    clients: list[PsaClient] = []
    append = clients.append
    for item in items:
        if type(item) is dict:
            cid = item.get("id")
            if cid is None:
                cid = item.get("_id")
            if cid is None:
                raise ValueError("a client has no id")
            name = item.get("name")
            append(
                PsaClient(
                    cid if type(cid) is str else str(cid),
                    name if type(name) is str else str(name or ""),
                    item,
                )
            )
        elif isinstance(item, str):  # the SDK typed `clients` as string[]
            append(PsaClient(item, item, {}))
        else:
            raise TypeError("a client is not an object")
    return ClientsPage(clients, meta, limit)


# ---------------------------------------------------------------------------- requests


def wire_unit_count(value: float) -> float | int:
    """A unit count as JSON can carry it: a finite int or float (Decimal converted)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
        raise TypeError(f"unit_count must be a number, not {type(value).__name__}")
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if not math.isfinite(value):
        raise ValueError("unit_count must be a finite number")
    return value


class RequestModel(BaseModel):
    """Base of request bodies: strict, serialised by alias, ``None`` fields left out."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class CreateServiceRequest(RequestModel):
    name: str = Field(min_length=1)
    description: str
    category: str
    subcategory: str
    support_article: str | None = None
    support_contact: str | None = None


class UpdateVendorRequest(RequestModel):
    name: str | None = None
    description: str | None = None
    vendor_support_page_url: str | None = None
    integration_portal_url: str | None = None


class NewAccount(RequestModel):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    description: str | None = None
    #: Legacy vendor-side mapping (seed flow): the Gradient client this account maps to.
    #: Only sent when ``ClientOptions.vendor_side_mapping`` is on.
    client_oid: str | None = Field(default=None, alias="clientOId")


class AccountUpdate(RequestModel):
    """One item of the bulk account PATCH (also the body of the single PATCH, without id)."""

    id: str = Field(min_length=1)
    name: str | None = None
    description: str | None = None
    is_active: bool | None = None
    is_arrears: bool | None = None
    client_oid: str | None = Field(default=None, alias="clientOId")


class NewOrgService(RequestModel):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    description: str = ""


class OrgServiceUpdate(RequestModel):
    id: str = Field(min_length=1)
    name: str | None = None
    description: str | None = None
    is_active: bool | None = None
    is_arrears: bool | None = None


class AlertRequest(RequestModel):
    """Body of an alert dispatch (CreateAlertingDto)."""

    title: str = Field(min_length=1)
    description: str
    alert_id: str = Field(min_length=1)
    priority: int = Field(default=1, ge=1, le=4)  # 1 low … 4 very high
    status: int = Field(default=1, ge=1, le=6)  # PSA ticket status, meaning undocumented
    due_date_time: datetime | None = None
    service_id: str | None = None
