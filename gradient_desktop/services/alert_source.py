"""An alert source: a folder of JSON event files that the vendor's own systems drop alerts into,
turned into recorded, sent and traced alerts. For schedules and the sync runner:

    report = await run_alert_source(ctx, Path("/var/spool/gradient-alerts"))

A file holds one event object, an array of them, or ``{"alerts": [...]}``; an event has the
fields of ``alert send`` (``accountId``, ``title``, optional ``description``, ``priority``,
``status``, ``dueDateTime``, ``serviceId``) plus optional ``partner`` (a partner's name here) and
``eventId``. Routing is the usage rows' rule: the named partner, else the one partner whose
accounts include ``accountId`` (none or several → the event is refused, with its file and number).

Exactly once: an event's ``source_key`` is its ``eventId`` (or ``alertId``), else the file name,
its content digest and the event's position. Reading the folder again records nothing twice, so
files may stay where they are; ``archive=True`` moves each fully recorded file to ``sent/``.
A file with any bad event is left untouched and reported as a whole (nothing of it recorded).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import select

from gradient_desktop.services.alert_input import build_alert
from gradient_desktop.services.alerts import AlertService, SendReport
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.store.alerts import NewAlert
from gradient_desktop.store.models import Partner, VendorAccount

log = logging.getLogger(__name__)

MAX_EVENT_FILE = 5 * 1024 * 1024
ARCHIVE = "sent"


@dataclass
class AlertSourceReport:
    """What one pass over the folder did, per partner name."""

    files: int = 0
    recorded: int = 0
    already: int = 0
    problems: list[str] = field(default_factory=list)
    sent: dict[str, SendReport] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems and all(
            not (r.unknown or r.rejected or r.stopped) for r in self.sent.values()
        )

    def text(self) -> str:
        accepted = sum(len(r.accepted) for r in self.sent.values())
        unknown = sum(len(r.unknown) for r in self.sent.values())
        return (
            f"{self.files} file(s): {self.recorded} new alert(s), {self.already} seen before, "
            f"{accepted} sent, {unknown} outcome unknown, {len(self.problems)} problem(s)"
        )


def _events(doc: Any) -> list[Any]:
    if isinstance(doc, dict) and isinstance(doc.get("alerts"), list):
        return list(doc["alerts"])
    return list(doc) if isinstance(doc, list) else [doc]


def _fields(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "account_id": event.get("accountId"),
        "title": event.get("title"),
        "description": event.get("description"),
        "priority": event.get("priority"),
        "psa_status": event.get("status"),
        "due": event.get("dueDateTime"),
        "service_id": event.get("serviceId"),
        "alert_id": event.get("alertId"),
    }


class _Router:
    """Event → partner: the named one, else the only partner that has the account."""

    def __init__(self, ctx: AppContext) -> None:
        self.partners = {p.name: p for p in PartnerDirectory(ctx).list()}
        self.owners: dict[str, list[Partner]] = {}
        by_id = {p.id: p for p in self.partners.values()}
        with ctx.db.session() as s:
            for acc in s.exec(select(VendorAccount)):
                if acc.partner_id in by_id:
                    self.owners.setdefault(acc.account_id, []).append(by_id[acc.partner_id])

    def route(self, event: dict[str, Any]) -> Partner:
        name = event.get("partner")
        if name:
            if name not in self.partners:
                raise ValueError(f"no partner is named {name!r}")
            return self.partners[name]
        owners = self.owners.get(str(event.get("accountId") or ""), [])
        if len(owners) != 1:
            which = "no partner has" if not owners else "several partners have"
            raise ValueError(f"{which} the account {event.get('accountId')!r}; name the partner")
        return owners[0]


def read_alert_folder(
    ctx: AppContext, folder: Path
) -> tuple[dict[str, list[NewAlert]], list[Path], list[str]]:
    """Alerts per partner name, the files they came from, and every problem (file, event)."""
    router = _Router(ctx)
    routed: dict[str, list[NewAlert]] = {}
    used: list[Path] = []
    problems: list[str] = []
    for path in sorted(folder.glob("*.json")):
        try:
            raw = path.read_bytes()
            if len(raw) > MAX_EVENT_FILE:
                raise ValueError("the file is larger than 5 MB")
            doc = json.loads(raw)
        except (OSError, ValueError) as exc:
            problems.append(f"{path.name}: cannot be read as JSON ({exc})")
            continue
        digest = hashlib.sha256(raw).hexdigest()[:16]
        this_file: list[tuple[str, NewAlert]] = []
        file_problems = []
        for number, event in enumerate(_events(doc), start=1):
            try:
                if not isinstance(event, dict):
                    raise ValueError("an event must be a JSON object")
                partner = router.route(event)
                own = event.get("eventId") or event.get("alertId")
                key = f"event:{own}" if own else f"file:{path.name}:{digest}:{number}"
                this_file.append((partner.name, build_alert(_fields(event), source_key=key)))
            except ValueError as exc:
                file_problems.append(f"{path.name}, event {number}: {exc}")
        if file_problems:
            problems += file_problems  # nothing of a bad file is recorded
            continue
        used.append(path)
        for name, alert in this_file:
            routed.setdefault(name, []).append(alert)
    return routed, used, problems


async def run_alert_source(
    ctx: AppContext,
    folder: Path,
    *,
    send: bool = True,
    trace_timeout: float = 0.0,
    archive: bool = False,
) -> AlertSourceReport:
    """Record the folder's new events, then (``send``) send every queued alert of the partners
    concerned, one at a time; ``trace_timeout`` > 0 also waits for their tickets."""
    if not folder.is_dir():
        raise ValueError(f"The alert folder {folder} does not exist.")
    service = AlertService(ctx)
    routed, used, problems = read_alert_folder(ctx, folder)
    report = AlertSourceReport(files=len(used), problems=problems)
    directory = PartnerDirectory(ctx)
    for name, alerts in routed.items():
        partner = directory.get(name)
        _, added = service.record(partner, alerts, origin="source")
        report.recorded += added
        report.already += len(alerts) - added
        if send:
            sent = await service.send(partner)
            report.sent[name] = sent
            if trace_timeout > 0 and sent.accepted:
                await service.trace(partner, sent.accepted, timeout=trace_timeout)
    if archive:
        target = folder / ARCHIVE
        target.mkdir(exist_ok=True)
        for path in used:
            path.replace(target / path.name)
    log.info("alert source %s: %s", folder, report.text())
    return report
