"""From raw source records to counts per partner: field mapping, validation, routing and unit
conversion.

Two kinds of problem, both with their row number:

* *errors* (a missing field, a count that is not a number, an unknown op, the same account ×
  service twice): the source's data is wrong, so nothing of it is pushed;
* *unmatched* rows (no partner has that account, the service is not in that partner's
  integration, an unknown partner name): listed for the user, the other rows go ahead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select

from gradient_desktop.counts import CountRow, parse_op
from gradient_desktop.services import csvio
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.sources.config import SourceConfig
from gradient_desktop.services.sources.readers import Record
from gradient_desktop.services.usage import bytes_to_units
from gradient_desktop.store.models import Partner, PartnerService, SyncState, VendorAccount


@dataclass(frozen=True)
class Problem:
    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}, row {self.line}: {self.reason}"


@dataclass(frozen=True)
class RoutedRow:
    """One count for one partner (``row``, in the service's unit: what goes on the wire), with
    the source and line it came from."""

    source: str
    line: int
    partner_id: int
    row: CountRow


@dataclass
class Routed:
    rows: dict[int, list[RoutedRow]] = field(default_factory=lambda: defaultdict(list))
    errors: list[Problem] = field(default_factory=list)
    unmatched: list[Problem] = field(default_factory=list)
    read: int = 0

    def total(self) -> int:
        return sum(len(v) for v in self.rows.values())


class Directory:
    """Who has which account and which services, from what each partner's integration
    published (the local copy kept by the partner sync)."""

    def __init__(self, ctx: AppContext, partners: list[Partner]) -> None:
        self.partners = {p.id or 0: p for p in partners}
        self.by_name = {p.name.strip().lower(): p.id or 0 for p in partners}
        self.owners: dict[str, list[int]] = defaultdict(list)
        #: owners whose integration has published the account (what Gradient knows)
        self.published: dict[str, list[int]] = defaultdict(list)
        self.services: dict[int, dict[str, PartnerService]] = defaultdict(dict)
        ids = list(self.partners)
        with ctx.db.session() as s:
            for a in s.exec(select(VendorAccount).where(VendorAccount.partner_id.in_(ids))):  # type: ignore[attr-defined]
                self.owners[a.account_id].append(a.partner_id)
                if a.sync_state == SyncState.SYNCED.value:
                    self.published[a.account_id].append(a.partner_id)
            for svc in s.exec(select(PartnerService).where(PartnerService.partner_id.in_(ids))):  # type: ignore[attr-defined]
                self.services[svc.partner_id][svc.service_id] = svc
                self.services[svc.partner_id].setdefault(svc.name.strip().lower(), svc)

    def owners_of(self, account: str) -> list[int]:
        """The partners that published this account; else those that merely have it locally
        (it reaches Gradient once published, or comes back as unmapped)."""
        return self.published.get(account) or self.owners.get(account, [])

    def service(self, partner_id: int, key: str) -> PartnerService | None:
        known = self.services.get(partner_id, {})
        return known.get(key) or known.get(key.strip().lower())


def field_text(value: Any) -> str:
    """A record field as text: None is "", a whole float loses its ".0", spaces trimmed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel and JSON turn id 1042 into 1042.0
    return str(value).strip()


def route(config: SourceConfig, records: list[Record], directory: Directory, out: Routed) -> None:
    """Map, validate and route ``records`` of one source into ``out``."""
    m = config.mapping
    name = config.name
    seen: dict[tuple[int, str, str], int] = {}
    out.read += len(records)
    for line, rec in records:
        missing = [f for f in (m.account, m.service, m.count) if f not in rec]
        if missing:
            out.errors.append(Problem(name, line, f"no field {', '.join(map(repr, missing))}"))
            continue
        account, service_key = field_text(rec[m.account]), field_text(rec[m.service])
        if not account or not service_key:
            out.errors.append(Problem(name, line, "the account or the service is empty"))
            continue
        try:
            count = csvio.parse_count(rec[m.count])
        except ValueError as exc:
            out.errors.append(Problem(name, line, str(exc).replace("unitCount", m.count)))
            continue
        try:
            op = parse_op(field_text(rec.get(m.op)) if m.op else None)
        except ValueError:
            word = field_text(rec.get(m.op)).lower()
            out.errors.append(
                Problem(name, line, f"operation {word!r} is not set, add or subtract")
            )
            continue
        pid = _partner_of(
            m.partner and field_text(rec.get(m.partner)), account, directory, out, name, line
        )
        if pid is None:
            continue
        service = directory.service(pid, service_key)
        partner_name = directory.partners[pid].name
        if service is None:
            out.unmatched.append(
                Problem(
                    name,
                    line,
                    f"service {service_key!r} is not part of {partner_name}'s integration",
                )
            )
            continue
        key = (pid, account, service.service_id)
        if key in seen:
            out.errors.append(
                Problem(
                    name,
                    line,
                    f"account {account!r} × {service.name} appears twice (also row {seen[key]}); "
                    "keep one row per account and service",
                )
            )
            continue
        seen[key] = line
        amount = bytes_to_units(count, service) if m.count_unit == "bytes" else count
        row = CountRow(service.service_id, account, amount, op)
        out.rows[pid].append(RoutedRow(name, line, pid, row))


def _partner_of(
    named: str | None, account: str, d: Directory, out: Routed, source: str, line: int
) -> int | None:
    if named:
        pid = d.by_name.get(named.lower())
        if pid is None:
            out.unmatched.append(Problem(source, line, f"no partner named {named!r} is synced"))
        elif pid not in d.owners.get(account, []):
            out.unmatched.append(
                Problem(source, line, f"{d.partners[pid].name} has no account {account!r}")
            )
            return None
        return pid
    owners = d.owners_of(account)
    if not owners:
        out.unmatched.append(Problem(source, line, f"no partner has account {account!r}"))
        return None
    if len(owners) > 1:
        names = ", ".join(sorted(d.partners[p].name for p in owners))
        out.unmatched.append(
            Problem(source, line, f"account {account!r} belongs to {names}; add a partner column")
        )
        return None
    return owners[0]


#: The routing rule of a row, shared with the alert sources (services/alert_sources.py).
partner_of = _partner_of
