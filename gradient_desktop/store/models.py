"""SQLModel tables of the local database: profiles, partners, their accounts/clients/mappings
the outbox of unit-count pushes and the alert outbox.

Enumerated columns are plain text guarded by CHECK constraints (readable in any SQLite tool,
and the database itself refuses a typo); the allowed values are the ``StrEnum``s below.
Timestamps are stored as UTC and come back timezone-aware. No secret is ever a column here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Dialect, Index, Table, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from gradient_desktop.counts import Op


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC (naive on disk, as SQLite has no zones); returns aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use datetime.now(UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _check(
    column: str, values: type[StrEnum], name: str, nullable: bool = False
) -> CheckConstraint:
    allowed = ", ".join(f"'{v.value}'" for v in values)
    expr = f"{column} IN ({allowed})"
    if nullable:
        expr = f"{column} IS NULL OR {expr}"
    return CheckConstraint(expr, name=name)


class PartnerStatus(StrEnum):
    UNKNOWN = "unknown"
    INACTIVE = "inactive"
    PENDING = "pending"
    ACTIVE = "active"
    ERROR = "error"
    DISCONNECTED = "disconnected"


class SyncState(StrEnum):
    LOCAL = "local"
    SYNCING = "syncing"
    SYNCED = "synced"
    FAILED = "failed"


class MappingKind(StrEnum):
    ACCOUNT = "account"
    SERVICE = "service"


class MappingOrigin(StrEnum):
    MANUAL = "manual"
    SUGGESTED = "suggested"
    IMPORT = "import"


class UnitType(StrEnum):
    UNITS = "units"
    BYTES = "bytes"


class StorageUnit(StrEnum):
    MB = "MB"
    GB = "GB"
    TB = "TB"


class OutboxState(StrEnum):
    PENDING = "pending"  # written, not yet sent
    SENDING = "sending"  # handed to the sender; a crash here leaves the outcome unknown
    SENT = "sent"  # acknowledged by Gradient
    UNMAPPED = "unmapped"  # 404 "No account map found": the MSP has not mapped the account
    FAILED = "failed"  # definitively rejected; the server total did not change
    UNKNOWN = "unknown"  # sent, no answer: resolved on resume (see store/outbox.py)
    CANCELLED = "cancelled"  # withdrawn by the user before it was sent


class Meta(SQLModel, table=True):
    """Key/value facts about the database itself (``schema_version``)."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True)
    value: str


class VendorProfile(SQLModel, table=True):
    """One vendor identity (its key is in the keyring under ``vendor:<name>``)."""

    __tablename__ = "vendor_profile"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    base_url: str
    gradient_vendor_id: str | None = None
    vendor_name: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Partner(SQLModel, table=True):
    """A connected MSP (its key is in the keyring under ``partner:<name>``)."""

    __tablename__ = "partner"
    __table_args__ = (_check("status", PartnerStatus, "ck_partner_status"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    vendor_profile_id: int = Field(foreign_key="vendor_profile.id", index=True)
    base_url: str
    status: str = Field(default=PartnerStatus.UNKNOWN.value)
    organization_id: str | None = None
    organization_name: str | None = None
    last_synced_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # Where the setup wizard resumes, and the non-secret choices made so far (JSON object).
    setup_step: int = 0
    setup_data: str = "{}"
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UtcDateTime, sa_column_kwargs={"onupdate": utcnow}
    )

    def get_setup_data(self) -> dict[str, Any]:
        try:
            data = json.loads(self.setup_data or "{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def set_setup_data(self, data: dict[str, Any]) -> None:
        self.setup_data = json.dumps(data, sort_keys=True)


class VendorAccount(SQLModel, table=True):
    """One of the vendor's customer accounts, as pushed (or to be pushed) to a partner."""

    __tablename__ = "vendor_account"
    __table_args__ = (
        UniqueConstraint("partner_id", "account_id", name="uq_vendor_account"),
        _check("sync_state", SyncState, "ck_vendor_account_sync_state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", ondelete="CASCADE")
    account_id: str
    name: str
    description: str | None = None
    is_mapped_remote: bool = False
    sync_state: str = Field(default=SyncState.LOCAL.value)
    sync_error: str | None = None


class GradientClient(SQLModel, table=True):
    """A client of the partner as last seen in Gradient (``stale`` once it disappears)."""

    __tablename__ = "gradient_client"
    __table_args__ = (UniqueConstraint("partner_id", "client_id", name="uq_gradient_client"),)

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", ondelete="CASCADE")
    client_id: str
    name: str
    stale: bool = False
    seen_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Mapping(SQLModel, table=True):
    """account: vendor account -> Gradient client; service: vendor SKU -> partner service."""

    __tablename__ = "mapping"
    __table_args__ = (
        UniqueConstraint("partner_id", "kind", "source_id", name="uq_mapping"),
        _check("kind", MappingKind, "ck_mapping_kind"),
        _check("origin", MappingOrigin, "ck_mapping_origin"),
        _check("sync_state", SyncState, "ck_mapping_sync_state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", ondelete="CASCADE")
    kind: str
    source_id: str
    target_id: str
    origin: str = Field(default=MappingOrigin.MANUAL.value)
    sync_state: str = Field(default=SyncState.LOCAL.value)
    sync_error: str | None = None
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UtcDateTime, sa_column_kwargs={"onupdate": utcnow}
    )


class PartnerService(SQLModel, table=True):
    """A vendor service (SKU) as the partner's integration exposes it."""

    __tablename__ = "partner_service"
    __table_args__ = (
        UniqueConstraint("partner_id", "service_id", name="uq_partner_service"),
        _check("unit_type", UnitType, "ck_partner_service_unit_type"),
        _check("storage_unit", StorageUnit, "ck_partner_service_storage_unit", nullable=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", ondelete="CASCADE")
    service_id: str
    name: str
    unit_type: str = Field(default=UnitType.UNITS.value)
    storage_unit: str | None = None


class OutboxEntry(SQLModel, table=True):
    """One unit-count write, recorded before it is sent and kept as the ledger afterwards."""

    __tablename__ = "outbox_entry"
    __table_args__ = (
        _check("op", Op, "ck_outbox_op"),
        _check("state", OutboxState, "ck_outbox_state"),
        Index("ix_outbox_partner_state", "partner_id", "state"),
        Index("ix_outbox_partner_key_time", "partner_id", "service_id", "account_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", ondelete="CASCADE")
    batch_id: str
    op: str
    service_id: str
    account_id: str
    unit_count: float
    # For add/subtract: the total the server should hold once this row is applied, when the
    # starting total is known. Lets an unknown outcome be resolved with an idempotent SET.
    expected_total: float | None = None
    idempotency_key: str = Field(unique=True)
    state: str = Field(default=OutboxState.PENDING.value)
    attempts: int = 0
    last_error: str | None = None
    actor: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class AlertState(StrEnum):
    """Life of one alert in the alert outbox (``store/alerts.py`` explains each step)."""

    QUEUED = "queued"  # recorded, never sent: safe to send
    SENDING = "sending"  # handed to the network; a crash here leaves the outcome unknown
    ACCEPTED = "accepted"  # Gradient gave a messageId; the ticket is being created
    SUCCESS = "success"  # the PSA ticket exists (ticket_id)
    FAILED = "failed"  # Gradient could not create the ticket (errors, reason)
    REJECTED = "rejected"  # Gradient refused the request itself; nothing was queued
    UNKNOWN = "unknown"  # sent, answer lost, no messageId: the user must confirm
    MARKED_SENT = "marked_sent"  # the user confirmed an unknown alert did reach the PSA
    CANCELLED = "cancelled"  # withdrawn by the user; never (re)sent


class AlertEntry(SQLModel, table=True):
    """One vendor alert, recorded with its stable ``alert_id`` before it is sent, and kept
    afterwards as the alert history (ticket id, errors, the user's choices)."""

    __tablename__ = "alert_entry"
    __table_args__ = (
        _check("state", AlertState, "ck_alert_state"),
        CheckConstraint("priority BETWEEN 1 AND 4", name="ck_alert_priority"),
        CheckConstraint("psa_status BETWEEN 1 AND 6", name="ck_alert_psa_status"),
        # A source event or batch-file row is recorded once, however often it is read again.
        UniqueConstraint("partner_id", "source_key", name="uq_alert_source_key"),
        Index("ix_alert_partner_state", "partner_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", ondelete="CASCADE")
    alert_id: str = Field(unique=True)
    account_id: str
    title: str
    description: str = ""
    priority: int = 1
    psa_status: int = 1
    due_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    service_id: str | None = None
    state: str = Field(default=AlertState.QUEUED.value)
    message_id: str | None = None
    correlation_id: str | None = None
    ticket_id: str | None = None
    remote_status: str | None = None  # the last debug status: pending | success | failed
    errors: str | None = None  # JSON list of Gradient's error strings
    reason: str | None = None  # what went wrong, in words for the user
    attempts: int = 0
    checks: int = 0
    origin: str = "app"  # app | cli | file | source
    source_key: str | None = None
    note: str | None = None  # the user's resolution of an unknown outcome, and when
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    checked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    next_check_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class UsageSource(SQLModel, table=True):
    """A place usage is read from (file, SQL query, HTTP endpoint) and how its fields map.
    ``config`` is JSON without secrets: passwords and tokens live in the keyring under the
    source's name (issue #13)."""

    __tablename__ = "usage_source"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    kind: str
    config: str = "{}"
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class SyncRun(SQLModel, table=True):
    """One ``sync`` run (manual, CLI or scheduled): what it read, sent and what went wrong.
    ``details`` is JSON (per-partner figures, problems); ``seen`` marks runs the app has shown."""

    __tablename__ = "sync_run"

    id: int | None = Field(default=None, primary_key=True)
    trigger: str
    started_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    status: str = "running"
    rows_read: int = 0
    changed: int = 0
    landed: int = 0
    unmatched: int = 0
    unmapped: int = 0
    failed: int = 0
    message: str | None = None
    details: str = "{}"
    seen: bool = False


class PushedSource(SQLModel, table=True):
    """A file (by SHA-256 of its bytes) already queued for a partner: running the same file
    again resumes its batch instead of queuing its add/subtract rows a second time."""

    __tablename__ = "pushed_source"
    __table_args__ = (Index("ix_pushed_source_partner_digest", "partner_id", "digest"),)

    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", ondelete="CASCADE")
    digest: str
    batch_id: str
    label: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class PartnerCountOptions(SQLModel, table=True):
    """How counts are written for one partner. ``legacy_count_routes`` lets add/subtract use
    the undocumented PATCH routes of vendor-api.md §2.10 (off unless a user turns it on; the
    built-in demo turns it on for its seed flow)."""

    __tablename__ = "partner_count_options"

    partner_id: int = Field(foreign_key="partner.id", primary_key=True, ondelete="CASCADE")
    legacy_count_routes: bool = False


def table_of(model: type[SQLModel]) -> Table:
    """The SQLAlchemy table of a ``table=True`` model. SQLModel sets ``__table__`` when the
    class is made; its type stubs do not declare it."""
    table = vars(model)["__table__"]
    assert isinstance(table, Table)
    return table


TABLES: list[Table] = [
    table_of(model)
    for model in (
        Meta,
        VendorProfile,
        Partner,
        VendorAccount,
        GradientClient,
        Mapping,
        PartnerService,
        OutboxEntry,
        AlertEntry,
        PushedSource,
        PartnerCountOptions,
        UsageSource,
        SyncRun,
    )
]
