"""What a usage source is: where the rows come from (a file, a SQL query, an HTTP endpoint) and
which field holds what. Stored as JSON in the ``usage_source`` table; secrets (a database
password, an HTTP token) never are: they live in the keyring under the source's name.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import asdict, dataclass, field, fields
from typing import Any

KINDS = ("file", "sql", "http")
#: What a source's rows are: unit counts (the usage sync) or alerts (``services/sync_alerts.py``).
EMITS = ("usage", "alerts")
#: The fields of an alert row (``alert_fields`` maps them to columns; alert_sources.py).
ALERT_FIELDS = ("account", "title", "description", "priority", "status", "due", "service",
                "partner", "key", "alert_id")  # fmt: skip
COUNT_UNITS = ("units", "bytes")


class SourceError(RuntimeError):
    """A source could not be read or used; the message names the source and says what to do."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"Source {source!r}: {message}")
        self.source = source
        self.reason = message


@dataclass
class FieldMap:
    """Which field of a row holds what. ``service`` may hold a service id or its name.
    ``count_unit="bytes"``: counts of storage services are bytes, converted to the service's
    MB/GB/TB (vendor-api.md §8); other services take the number as it is."""

    account: str = "accountId"
    service: str = "serviceId"
    count: str = "unitCount"
    op: str = ""
    partner: str = ""
    count_unit: str = "units"


@dataclass
class SourceConfig:
    name: str
    kind: str
    mapping: FieldMap = field(default_factory=FieldMap)
    # file: a file, or a folder whose newest file matching ``pattern`` is read
    path: str = ""
    pattern: str = ""
    sheet: str = ""
    # sql: a SQLAlchemy URL without its password (the keyring holds it) and a query
    url: str = ""
    query: str = ""
    # http: GET ``url``; records at ``records_path`` (dotted; empty: the body is the list),
    # the next page's link at ``next_path`` (or a Link: rel="next" header)
    records_path: str = ""
    next_path: str = ""
    auth_header: str = ""
    # sql and http: a secret is stored in the keyring for this source
    has_secret: bool = False
    timeout_s: float = 30.0
    # "alerts": each row is an alert (sync_alerts.py); a file source on a folder then reads
    # every matching file as events. ``alert_fields`` maps alert fields (account, title,
    # description, priority, status, due, service, partner, key) to columns; unset ones are
    # found by their usual names.
    emits: str = "usage"
    alert_fields: dict[str, str] = field(default_factory=dict)

    @property
    def emits_alerts(self) -> bool:
        return self.emits == "alerts"

    def validate(self) -> None:
        """Raise SourceError when the configuration cannot work, before it is saved."""
        if not self.name.strip():
            raise SourceError(self.name, "give the source a name.")
        if self.kind not in KINDS:
            raise SourceError(self.name, f"unknown kind {self.kind!r}; use file, sql or http.")
        if self.emits not in EMITS:
            raise SourceError(self.name, f"a source emits usage or alerts, not {self.emits!r}.")
        unknown = [k for k in self.alert_fields if k not in ALERT_FIELDS]
        if unknown:
            raise SourceError(
                self.name,
                f"{unknown[0]!r} is not an alert field: write FIELD=COLUMN, FIELD one of "
                f"{', '.join(ALERT_FIELDS)}.",
            )
        m = self.mapping
        if not self.emits_alerts and not (m.account and m.service and m.count):
            raise SourceError(
                self.name, "name the fields holding the account, the service and the count."
            )
        if m.count_unit not in COUNT_UNITS:
            raise SourceError(self.name, "the count unit must be units or bytes.")
        if self.kind == "file" and not self.path:
            raise SourceError(self.name, "choose the file (or the folder) to read.")
        if self.kind == "sql" and not (self.url and self.query.strip()):
            raise SourceError(self.name, "give the database address and the query to run.")
        if self.kind == "http" and not self.url.startswith(("http://", "https://")):
            raise SourceError(self.name, "give the endpoint's address, starting with https://.")
        if not 0 < self.timeout_s <= 600:
            raise SourceError(self.name, "the time-out must be between 1 and 600 seconds.")

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("name")
        data.pop("kind")
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_row(cls, name: str, kind: str, config: str) -> SourceConfig:
        data: dict[str, Any] = json.loads(config or "{}")
        known = {f.name for f in fields(cls)}
        mapping = FieldMap(**{k: v for k, v in data.pop("mapping", {}).items() if k in _MAP_KEYS})
        return cls(
            name=name,
            kind=kind,
            mapping=mapping,
            **{k: v for k, v in data.items() if k in known and k not in ("name", "kind")},
        )

    def describe(self) -> str:
        """One line for lists: where the rows come from (never a secret)."""
        return f"alerts from {self._where()}" if self.emits_alerts else self._where()

    def _where(self) -> str:
        if self.kind == "file":
            return f"{self.path}/{self.pattern}" if self.pattern else self.path
        if self.kind == "sql":
            return redact_url(self.url)
        return self.url


_MAP_KEYS = {f.name for f in fields(FieldMap)}


def store_secret_advice(name: str, what: str = "password") -> str:
    """How to store a source's secret, in the app or in a terminal (the name quoted so the
    command can be pasted as it is: source names may hold spaces)."""
    if not re.fullmatch(r"[\w.@+-]+", name):
        # Double quotes work in sh, cmd.exe and PowerShell alike, unless the name holds
        # characters those shells expand inside them.
        name = f'"{name}"' if not re.search(r'["$`\\!%]', name) else shlex.quote(name)
    return (
        f"Type the right {what} in the source's Password/token field on the Sync page, "
        f"or run: gradient-desktop source secret {name}"
    )


def redact_url(url: str) -> str:
    """A database URL with any password replaced, for display and logs."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database address)"
