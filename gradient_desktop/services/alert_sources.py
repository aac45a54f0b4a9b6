"""Alert sources: usage-style sources (``services/sources/``) whose rows are alerts, read,
mapped, checked and routed to partners the way usage rows are, each with a stable identity.

A source ``emits="alerts"`` is any source kind: a SQL query, an HTTP endpoint, a file, or a
*folder of JSON event files* (a file source whose path is a folder: every file matching its
pattern, default ``*.json``, is read; a file holds one event, an array, or ``{"alerts": [...]}``).

Fields (``SourceConfig.alert_fields`` maps any of them to a column; unmapped ones are found by
their usual names, case and ``_``/``-``/space ignored): ``account`` (accountId, account,
customerId), ``title`` (summary, subject), ``description`` (body, details), ``priority`` (1–4 or
a name), ``status`` (the PSA ticket status 1–6), ``due`` (dueDateTime, dueDate), ``service``
(serviceId: an id or the service's name), ``partner`` (a partner's name here; without it the account's owner, as for usage rows), ``key``
(eventId, alertKey: the event's own id) and ``alert_id`` (alertId).

Exactly once: every event gets a ``source_key`` and an ``alertId`` derived from it
(``gd-`` + a name-based UUID), so reading it again — in this run, the next one, or after a run
was killed mid-batch — finds the ledger row instead of making a second alert. The key is

* the ``key`` column when mapped or present: ``source:NAME:key:VALUE``;
* else a digest of the mapped fields: ``source:NAME:row:DIGEST`` (two identical rows of one read
  are ``#1``, ``#2``). Without a key, an identical event read again is the same alert: include a
  time or an id in the query when the same alert may rightly happen twice;
* in a folder, as ``gradient-desktop alert source`` gives them (``event:ID`` or
  ``file:NAME:DIGEST:N``), so the same folder read both ways is one set of alerts.

Problems carry their row (or file and event number). A folder file with any problem is left
out whole (nothing of it recorded) until it is fixed; elsewhere a bad row is reported and the
good rows go ahead, as each row is its own alert.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import select

from gradient_desktop.services.alert_input import build_alert, priority_name
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.sources.config import ALERT_FIELDS, SourceConfig
from gradient_desktop.services.sources.readers import read_records
from gradient_desktop.services.sources.routing import (
    Directory,
    Problem,
    Routed,
    field_text,
    partner_of,
)
from gradient_desktop.services.sources.store import Preview
from gradient_desktop.store.alerts import NewAlert
from gradient_desktop.store.models import Partner

MAX_EVENT_FILE = 5 * 1024 * 1024
#: The alert fields and the column names each is found under when not mapped (folded).
ALIASES: dict[str, tuple[str, ...]] = {
    "account": ("accountid", "account", "customerid", "customer"),
    "title": ("title", "summary", "subject"),
    "description": ("description", "body", "details"),
    "priority": ("priority",),
    "status": ("status", "psastatus", "ticketstatus"),
    "due": ("duedatetime", "due", "duedate", "dueat"),
    "service": ("serviceid", "service"),
    "partner": ("partner", "partnername"),
    "key": ("eventid", "alertkey", "key"),
    "alert_id": ("alertid",),
}
assert tuple(ALIASES) == ALERT_FIELDS
_NAMESPACE = uuid.UUID("5b8f8f5e-6c1d-4d39-9a49-3c2f1f0a7e15")


def alert_id_for(source_key: str) -> str:
    """The alertId of a source event: the same key always gives the same id."""
    return f"gd-{uuid.uuid5(_NAMESPACE, source_key)}"


def _fold(name: object) -> str:
    return str(name).strip().lower().replace(" ", "").replace("_", "").replace("-", "")


@dataclass(frozen=True)
class EventProblem(Problem):
    """A problem of one event; ``where`` is "source, row N" or "file, event N"."""

    where: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


def _problem(source: str, line: int, where: str, reason: str) -> EventProblem:
    return EventProblem(source, line, reason, where)


@dataclass(frozen=True)
class AlertEvent:
    """One routed, checked alert of a source."""

    source: str
    where: str
    partner_id: int
    alert: NewAlert


@dataclass
class AlertRead:
    """What one alert source gave: its alerts per partner and every problem, with its row."""

    source: str
    read: int = 0
    events: list[AlertEvent] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    unmatched: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # folder files used whole


def fields_of(record: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """The alert fields of one record: mapped columns first, else the usual names."""
    folded = {_fold(k): v for k, v in record.items()}
    out: dict[str, Any] = {}
    for target, names in ALIASES.items():
        column = mapping.get(target)
        if column:
            if column not in record:
                raise ValueError(f"no column {column!r} (mapped to {target})")
            out[target] = record[column]
            continue
        out[target] = next((folded[n] for n in names if n in folded), None)
    return out


@dataclass(frozen=True)
class _Mapped:
    partner_id: int
    fields: dict[str, Any]  # for build_alert
    own: str  # the event's own key (key or alertId column), or ""
    digest: str  # of its content, for events without a key of their own


class _Mapper:
    """Record → partner and alert fields for one source, using the usage rows' routing."""

    def __init__(self, config: SourceConfig, directory: Directory) -> None:
        self.config = config
        self.directory = directory
        self.mapping = {k: v for k, v in config.alert_fields.items() if v}

    def map(self, record: Any) -> _Mapped | str:
        """The mapped event, or why it matches no partner or service (ValueError: bad data)."""
        if not isinstance(record, dict):
            raise ValueError("an event must be a JSON object")
        f = fields_of(record, self.mapping)
        account = field_text(f["account"])
        if not account:
            raise ValueError("the account is missing")
        named = field_text(f["partner"])
        if named:
            # A named partner is taken at its word even when its local account list lacks the
            # account (the list may be behind); Gradient says so if the account is unknown.
            pid = self.directory.by_name.get(named.lower())
            if pid is None:
                return f"no partner named {named!r} is set up here"
        else:
            sink = Routed()
            pid = partner_of("", account, self.directory, sink, self.config.name, 0)
            if pid is None:
                return sink.unmatched[0].reason if sink.unmatched else "no partner has it"
        service_id = None
        if field_text(f["service"]):
            service = self.directory.service(pid, field_text(f["service"]))
            if service is None:
                name = self.directory.partners[pid].name
                return f"service {field_text(f['service'])!r} is not part of {name}'s integration"
            service_id = service.service_id
        loose = {
            "account_id": account,
            "title": f["title"],
            "description": f["description"],
            "priority": f["priority"],
            "psa_status": f["status"],
            "due": f["due"],
            "service_id": service_id,
            "alert_id": field_text(f["alert_id"]) or None,
        }
        body = json.dumps([field_text(f[k]) for k in ALIASES if k not in ("key", "alert_id")])
        digest = hashlib.sha256(body.encode()).hexdigest()[:24]
        return _Mapped(pid, loose, field_text(f["key"]) or field_text(f["alert_id"]), digest)


async def read_alert_source(
    config: SourceConfig, directory: Directory, secret: str | None = None
) -> AlertRead:
    """Read one alert source whole and map every row; SourceError when it cannot be read."""
    path = Path(config.path).expanduser()
    if config.kind == "file" and path.is_dir():
        return _read_folder(config, path, directory)
    out = AlertRead(config.name)
    records = await read_records(config, secret)
    out.read = len(records)
    mapper = _Mapper(config, directory)
    seen: dict[str, int] = {}
    for line, record in records:
        where = f"{config.name}, row {line}"
        try:
            got = mapper.map(record)
            if isinstance(got, str):
                out.unmatched.append(_problem(config.name, line, where, got))
                continue
            if got.own:
                key = f"source:{config.name}:key:{got.own}"
                if key in seen:
                    raise ValueError(f"the key {got.own!r} is also on row {seen[key]}")
                seen[key] = line
            else:  # identical rows of one read are distinct events
                key = f"source:{config.name}:row:{got.digest}"
                seen[key] = seen.get(key, 0) + 1
                key = f"{key}#{seen[key]}"
            alert = build_alert(got.fields, alert_id=alert_id_for(key), source_key=key)
        except ValueError as exc:
            out.errors.append(_problem(config.name, line, where, str(exc)))
            continue
        out.events.append(AlertEvent(config.name, where, got.partner_id, alert))
    return out


def _events(doc: Any) -> list[Any]:
    if isinstance(doc, dict) and isinstance(doc.get("alerts"), list):
        return list(doc["alerts"])
    return list(doc) if isinstance(doc, list) else [doc]


def _read_folder(config: SourceConfig, folder: Path, directory: Directory) -> AlertRead:
    out = AlertRead(config.name)
    mapper = _Mapper(config, directory)
    for path in sorted(p for p in folder.glob(config.pattern or "*.json") if p.is_file()):
        try:
            raw = path.read_bytes()
            if len(raw) > MAX_EVENT_FILE:
                raise ValueError("the file is larger than 5 MB")
            doc = json.loads(raw)
        except (OSError, ValueError) as exc:
            out.errors.append(
                _problem(config.name, 0, path.name, f"cannot be read as JSON ({exc})")
            )
            continue
        digest = hashlib.sha256(raw).hexdigest()[:16]
        events: list[AlertEvent] = []
        problems: list[EventProblem] = []
        unmatched: list[EventProblem] = []
        for number, event in enumerate(_events(doc), start=1):
            out.read += 1
            where = f"{path.name}, event {number}"
            try:
                got = mapper.map(event)
                if isinstance(got, str):
                    unmatched.append(_problem(config.name, number, where, got))
                    continue
                key = f"event:{got.own}" if got.own else f"file:{path.name}:{digest}:{number}"
                alert = build_alert(got.fields, alert_id=alert_id_for(key), source_key=key)
            except ValueError as exc:
                problems.append(_problem(config.name, number, where, str(exc)))
                continue
            events.append(AlertEvent(config.name, where, got.partner_id, alert))
        if problems or unmatched:  # nothing of a file with a problem is recorded
            if events:  # say why its good events wait too
                first = (problems or unmatched)[0]
                held = f"{first.reason} (none of {path.name}'s events is sent until this is fixed)"
                (problems or unmatched)[0] = _problem(config.name, first.line, first.where, held)
            out.errors += problems
            out.unmatched += unmatched
            continue
        out.files.append(path)
        out.events += events
    return out


PREVIEW_COLUMNS = ["partner", "account", "title", "priority", "service", "key"]


async def preview_alerts(
    ctx: AppContext, config: SourceConfig, secret: str | None = None, limit: int = 20
) -> Preview:
    """An alert source's preview (``sources.preview`` for a source that emits alerts): the first
    alerts as they would be sent, and every problem of the whole source."""
    with ctx.db.session() as s:
        partners = list(s.exec(select(Partner)))
    read = await read_alert_source(config, Directory(ctx, partners), secret)
    names = {p.id: p.name for p in partners}
    rows = [
        (
            i,
            {
                "partner": names.get(e.partner_id, "?"),
                "account": e.alert.account_id,
                "title": e.alert.title,
                "priority": priority_name(e.alert.priority),
                "service": e.alert.service_id or "",
                "key": e.alert.source_key or "",
            },
        )
        for i, e in enumerate(read.events[:limit], start=1)
    ]
    return Preview(
        list(PREVIEW_COLUMNS), rows, read.read, len(read.events), read.errors, read.unmatched
    )
