"""Data records and small helpers of the sandbox's in-memory Gradient.

Kept apart from `state.py` so the state module stays about behaviour (what a call does) while
this one is about shape (what is stored, how it looks on the wire). Nothing here locks: the
records are only touched under `SandboxState.lock`.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .billing_models import BillingBook

# §5.1 of vendor-api.md. `disabled`/`error` only exist in the legacy (2023) spec.
STATUSES: tuple[str, ...] = ("active", "inactive", "pending")
LEGACY_STATUSES: tuple[str, ...] = ("disabled", "error")

# §5.2 / §5.3, case-sensitive wire strings (including the upstream "priviledged" typo).
CATEGORIES: frozenset[str] = frozenset(
    {
        "security",
        "backup",
        "productivity",
        "infrastructure",
        "service delivery",
        "consulting",
        "other",
    }
)
SUBCATEGORIES: frozenset[str] = frozenset(
    {
        "endpoint detection and response (EDR)",
        "email security",
        "virtual private network services (VPN)",
        "DNS filtering",
        "dark web monitoring",
        "password management",
        "single sign on (SSO)",
        "priviledged access and identity management (PAM/PIM)",
        "security information and event management (SIEM)",
        "mobile device management (MDM)",
        "application security",
        "mobile application management (MAM)",
        "multi factor authentication (MFA)",
        "cloud backup",
        "local backup",
        "desktop backup",
        "data archiving",
        "physical offsite storage",
        "business continuity",
        "hosted email",
        "video conferencing",
        "voice over IP services (VOIP)",
        "line of business application support",
        "unified communications as a service (UCaaS)",
        "customer relationship management",
        "cloud storage",
        "website hosting",
        "hardware as a service (HaaS)",
        "managed print services",
        "virtual desktop infrastructure (VDI)",
        "virtual server hosting",
        "infrastructure as a service (IaaS)",
        "end user support",
        "server management and support",
        "network management and support",
        "printer management and support",
        "desktop management and support",
        "hosted security operations centre (SOC)",
        "software development",
        "penetration testing",
        "project services",
        "governance and compliance",
        "business intelligence services / analytics",
        "phishing simulation",
        "privacy and security awareness training",
        "other",
    }
)

NEVER_SYNCED = "1900-01-01T00:00:00.000Z"
_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")

_HTTP_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class SandboxError(Exception):
    """A failure with an HTTP status; rendered as a NestJS-style body by the app.

    Raised by `SandboxState` methods too, so tests calling the state directly see the same
    status and message a client would see over the wire.
    """

    def __init__(self, status: int, message: str | list[str], *, error: str | None = "") -> None:
        super().__init__(message if isinstance(message, str) else "; ".join(message))
        self.status = status
        self.message = message
        # "" -> the standard reason phrase; None -> no `error` key (e.g. the bare 401 body).
        self.error = _HTTP_REASONS.get(status, "Error") if error == "" else error

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"statusCode": self.status, "message": self.message}
        if self.error is not None:
            out["error"] = self.error
        return out


def is_object_id(value: str) -> bool:
    return bool(_OBJECT_ID.match(value))


def new_object_id(rng: random.Random, at: float | None = None) -> str:
    """Mongo-style ObjectId: 4-byte timestamp + 8 random bytes (deterministic with a seeded rng)."""
    seconds = int(time.time() if at is None else at) & 0xFFFFFFFF
    return f"{seconds:08x}{rng.getrandbits(64):016x}"


def new_guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def iso(at: float | None = None) -> str:
    """ISO-8601 UTC with milliseconds and `Z`, the way a NestJS/Mongoose backend prints dates."""
    moment = datetime.fromtimestamp(time.time() if at is None else at, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Vendor:
    key: str
    id: str
    name: str
    description: str
    created_at: str
    updated_at: str
    organization_id: str
    skus: list[dict[str, Any]] = field(default_factory=list)
    attributes: list[dict[str, Any]] = field(default_factory=list)
    image_uri: str = ""
    integration_portal_url: str = ""
    vendor_support_page_url: str = ""
    is_distributor: bool = False

    def sku(self, sku_id: str) -> dict[str, Any] | None:
        return next((s for s in self.skus if s["id"] == sku_id), None)

    def wire(self, skus: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {
            "_id": self.id,
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "integrationType": "custom",
            "imageUri": self.image_uri,
            "skus": [dict(s) for s in (self.skus if skus is None else skus)],
            "isDistributor": self.is_distributor,
            "integrationPortalUrl": self.integration_portal_url,
            "vendorSupportPageUrl": self.vendor_support_page_url,
            "externalIntegrationStatus": "notIntegrated",
            "mappingResponsibilities": ["accounts", "services"],
            "modules": [{"variation": "billing"}, {"variation": "alerts"}],
            "organizationId": self.organization_id,
            "attributes": [dict(a) for a in self.attributes],
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "__v": 0,
        }


@dataclass
class Account:
    id: str
    name: str
    description: str = ""
    client_id: str | None = None  # the PSA client this account is mapped to (MSP or clientOId)
    is_active: bool = True
    is_arrears: bool = False

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "isMapped": self.client_id is not None,
            "isActive": self.is_active,
            "isArrears": self.is_arrears,
        }


@dataclass
class OrgService:
    id: str
    name: str
    description: str = ""
    is_active: bool = True
    is_arrears: bool = False


class ClientDirectory:
    """The MSP's PSA clients, kept sorted by id for keyset paging.

    Sorting by id (what a `_id > previousId` query does) means any cursor works, even the id of
    a client deleted since. A page without search is a bisect plus a slice; `folded` holds the
    case-folded names in the same order so a search is one tight loop, not a re-sort.
    """

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self._ids: list[str] = []
        self._folded: list[str] = []

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, client_id: object) -> bool:
        return client_id in self.names

    def add_many(self, pairs: list[tuple[str, str]]) -> None:
        self.names.update(pairs)
        self._ids = sorted(self.names)
        self._folded = [self.names[i].casefold() for i in self._ids]

    def delete(self, client_id: str) -> None:
        del self.names[client_id]
        pos = bisect_right(self._ids, client_id) - 1
        del self._ids[pos]
        del self._folded[pos]

    def page(self, search: str | None, previous_id: str | None, limit: int) -> dict[str, Any]:
        start = bisect_right(self._ids, previous_id) if previous_id else 0
        ids = self._ids
        if not search:
            chosen = ids[start : start + limit]
            more = start + limit < len(ids)
            total = len(ids)
        else:
            needle = search.casefold()
            folded = self._folded
            chosen = []
            more = False
            for i in range(start, len(ids)):
                if needle in folded[i]:
                    if len(chosen) == limit:
                        more = True
                        break
                    chosen.append(ids[i])
            total = sum(1 for name in folded if needle in name)
        clients = [{"id": cid, "name": self.names[cid]} for cid in chosen]
        return {
            "meta": {
                "total": total,
                "count": len(clients),
                "limit": limit,
                "previousId": previous_id,
                # None on the last page, so a client following nextId stops without an extra call.
                "nextId": chosen[-1] if (chosen and more) else None,
            },
            "clients": clients,
        }


@dataclass
class Organisation:
    """One vendor ↔ partner integration, with everything the MSP side holds for it."""

    id: str
    name: str
    vendor_key: str
    integration_id: str
    partner_key: str
    seed_key: str  # the partner key it was created with; stays put across reconnects
    status: str = "inactive"
    last_synced_at: str = NEVER_SYNCED
    connected: bool = True
    clients: ClientDirectory = field(default_factory=ClientDirectory)
    accounts: dict[str, Account] = field(default_factory=dict)
    services: dict[str, OrgService] = field(default_factory=dict)
    # service id (vendor SKU or organisation service) -> PSA product name
    service_products: dict[str, str] = field(default_factory=dict)
    counts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    rebuild_times: list[float] = field(default_factory=list)
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    billing: BillingBook = field(default_factory=BillingBook)  # PSA agreements, service cards
    # rate window: monotonic times of accepted requests in the last second
    window: deque[float] = field(default_factory=deque)
    max_rps_seen: int = 0

    def service_wire(self, service: OrgService) -> dict[str, Any]:
        return {
            "id": service.id,
            "name": service.name,
            "description": service.description,
            "isMapped": service.id in self.service_products,
            "isActive": service.is_active,
            "isArrears": service.is_arrears,
        }
