"""What an alert may say, checked before it is recorded: one alert from a form or the command
line, or a whole CSV/JSON file (every row checked before any is recorded, problems numbered).

The rules are Gradient's CreateAlertingDto (vendor-api.md §2.8, §5.6): a title, a description,
priority 1–4 (low, medium, high, very high), PSA ticket status 1–6, an optional ISO due date and
an optional service. Numbers written ``2.0`` are accepted (a peer sends them so), but not 2.5.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gradient_desktop.services.csvio import MAX_ERRORS, RowError, decode_bytes
from gradient_desktop.services.wording import noun
from gradient_desktop.store.alerts import NewAlert

MAX_TITLE = 255
MAX_DESCRIPTION = 10_000
MAX_FILE_BYTES = 20 * 1024 * 1024

#: Gradient's priority numbers and their names (§5.6).
PRIORITIES = {1: "low", 2: "medium", 3: "high", 4: "very high"}
_PRIORITY_NAMES = {name.replace(" ", ""): n for n, name in PRIORITIES.items()} | {
    "veryhigh": 4,
    "critical": 4,
    "urgent": 4,
    "normal": 2,
}
PSA_STATUSES = range(1, 7)

# Header spellings accepted in files (lower case, no spaces/underscores/dashes).
_COLUMNS = {
    "accountid": "account_id",
    "account": "account_id",
    "title": "title",
    "summary": "title",
    "description": "description",
    "body": "description",
    "priority": "priority",
    "status": "psa_status",
    "psastatus": "psa_status",
    "duedatetime": "due",
    "due": "due",
    "duedate": "due",
    "serviceid": "service_id",
    "service": "service_id",
    "alertid": "alert_id",
}


class AlertFileError(ValueError):
    """The whole file is unusable (unreadable, wrong format, no header)."""


def new_alert_id() -> str:
    """A fresh, stable id for one alert (kept with it from before the first send)."""
    return f"gd-{uuid.uuid4()}"


def priority_name(value: int) -> str:
    return PRIORITIES.get(value, str(value))


def parse_priority(value: object) -> int:
    """1–4, a name ("high", "very high"), or a whole float ("2.0"); ValueError otherwise."""
    if value is None or value == "":
        return 1
    if isinstance(value, bool):
        raise ValueError("priority must be 1–4 or low, medium, high, very high")
    if isinstance(value, str):
        folded = value.strip().lower().replace(" ", "").replace("_", "").replace("-", "")
        if folded in _PRIORITY_NAMES:
            return _PRIORITY_NAMES[folded]
    number = _whole(value)
    if number is None or number not in PRIORITIES:
        raise ValueError(
            f"priority {value!r} is not allowed: use 1–4 or low, medium, high, very high"
        )
    return number


def parse_psa_status(value: object) -> int:
    if value is None or value == "":
        return 1
    number = None if isinstance(value, bool) else _whole(value)
    if number is None or number not in PSA_STATUSES:
        raise ValueError(f"PSA status {value!r} is not allowed: use a whole number from 1 to 6")
    return number


def parse_due(value: object) -> datetime | None:
    """An ISO 8601 date or date-time; a time without a zone is taken as UTC."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError("the due date must be an ISO date such as 2026-12-31T17:00:00Z")
    text = value.strip()
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"the due date {text!r} is not an ISO date such as 2026-12-31T17:00:00Z"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _whole(value: object) -> int | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def build_alert(
    fields: Mapping[str, Any], *, alert_id: str | None = None, source_key: str | None = None
) -> NewAlert:
    """One alert from loose fields (``account_id``, ``title``, ``description``, ``priority``,
    ``psa_status``, ``due``, ``service_id``); ValueError lists every problem, in words."""
    problems: list[str] = []
    account = _text(fields.get("account_id"))
    title = _text(fields.get("title"))
    description = _text(fields.get("description"))
    if not account:
        problems.append("the account is missing")
    if not title:
        problems.append("the title is empty")
    elif len(title) > MAX_TITLE:
        problems.append(f"the title is longer than {MAX_TITLE} characters")
    if len(description) > MAX_DESCRIPTION:
        problems.append(f"the description is longer than {MAX_DESCRIPTION} characters")
    parsed: dict[str, Any] = {}
    for name, parse, key in (
        ("priority", parse_priority, "priority"),
        ("psa_status", parse_psa_status, "psa_status"),
        ("due", parse_due, "due"),
    ):
        try:
            parsed[name] = parse(fields.get(key))
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ValueError("; ".join(problems))
    service = _text(fields.get("service_id")) or None  # "" (the SDK's unset) means none
    return NewAlert(
        account_id=account,
        # A description is required on the wire; the title stands in for an empty one.
        description=description or title,
        title=title,
        priority=parsed["priority"],
        psa_status=parsed["psa_status"],
        due_at=parsed["due"],
        service_id=service,
        alert_id=_text(fields.get("alert_id")) or alert_id or new_alert_id(),
        source_key=source_key,
    )


@dataclass
class AlertFile:
    """The alerts of a file, or every problem with its row number (header = row 1)."""

    alerts: list[NewAlert] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # each alert's row number
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_text(self, limit: int = 20) -> str:
        lines = [str(e) for e in self.errors[:limit]]
        if len(self.errors) > limit:
            lines.append(
                f"... and {len(self.errors) - limit} more {noun(len(self.errors) - limit, 'problem')}"
            )
        return "\n".join(lines)


def parse_alert_file(data: bytes, *, filename: str = "", again: bool = False) -> AlertFile:
    """Alerts from a CSV (header row with at least accountId and title) or a JSON array of
    objects. Each row's ``source_key`` is the file's digest and its row number, so sending the
    same file again (after a crash, say) finds the rows already recorded instead of repeating
    them; ``again=True`` makes every row a new alert. A row's own ``alertId`` wins over both."""
    if len(data) > MAX_FILE_BYTES:
        raise AlertFileError(f"The file is larger than {MAX_FILE_BYTES // 1_000_000} MB.")
    text = decode_bytes(data)
    digest = hashlib.sha256(data).hexdigest()[:20]
    stripped = text.lstrip()
    if filename.lower().endswith(".json") or stripped.startswith(("[", "{")):
        records = _json_records(stripped)
    else:
        records = _csv_records(text)
    out = AlertFile()
    for line, record in records:
        key = None if again else f"file:{digest}:{line}"
        try:
            out.alerts.append(build_alert(record, source_key=key))
            out.lines.append(line)
        except ValueError as exc:
            out.errors.append(RowError(line, str(exc)))
            if len(out.errors) >= MAX_ERRORS:
                break
    if not out.alerts and not out.errors:
        out.errors.append(RowError(0, "The file has no alerts in it."))
    return out


def _normalise(record: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = _COLUMNS.get(
            str(key).strip().lower().replace(" ", "").replace("_", "").replace("-", "")
        )
        if name:
            out[name] = value
    return out


def _csv_records(text: str) -> Iterable[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise AlertFileError("The CSV is empty; the first row must name the columns.")
    names = [
        _COLUMNS.get(h.strip().lower().replace(" ", "").replace("_", "").replace("-", ""))
        for h in header
    ]
    if "account_id" not in names or "title" not in names:
        raise AlertFileError(
            "The CSV header must name at least accountId and title "
            "(optional: description, priority, status, dueDateTime, serviceId, alertId)."
        )
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        rows.append((number, {n: c for n, c in zip(names, cells, strict=False) if n}))
    return rows


def _json_records(text: str) -> Iterable[tuple[int, dict[str, Any]]]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AlertFileError(
            f"The JSON is not valid (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from None
    if isinstance(doc, dict):
        doc = doc.get("alerts", [doc])
    if not isinstance(doc, list):
        raise AlertFileError("The JSON must be an array of alert objects.")
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, item in enumerate(doc, start=1):
        if not isinstance(item, dict):
            rows.append((number, {}))
            continue
        rows.append((number, _normalise(item)))
    return rows
