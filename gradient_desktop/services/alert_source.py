"""An alert folder run by hand: ``gradient-desktop alert source FOLDER`` (and for scripts):

    report = await run_alert_source(ctx, Path("/var/spool/gradient-alerts"))

A file holds one event object, an array of them, or ``{"alerts": [...]}``; an event has the
fields of ``alert send`` (``accountId``, ``title``, optional ``description``, ``priority``,
``status``, ``dueDateTime``, ``serviceId``) plus optional ``partner`` (a partner's name here) and
``eventId``. Reading, routing and the exactly-once keys are the alert sources' own
(``services/alert_sources.py``): the same folder set up as an alert source of the sync
(``source add NAME --alerts --kind file --path FOLDER``) is the same set of alerts, never a
second one. ``archive=True`` moves each fully recorded file to ``sent/``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from gradient_desktop.services.alert_sources import read_alert_source
from gradient_desktop.services.alerts import AlertService, SendReport
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.services.sources.config import SourceConfig
from gradient_desktop.services.sources.routing import Directory
from gradient_desktop.services.wording import noun, plural
from gradient_desktop.store.alerts import NewAlert

log = logging.getLogger(__name__)

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
            f"{plural(self.files, 'file')}: {self.recorded} new {noun(self.recorded, 'alert')}, "
            f"{self.already} seen before, "
            f"{accepted} sent, {unknown} outcome unknown, {plural(len(self.problems), 'problem')}"
        )


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
    partners = {p.id: p for p in PartnerDirectory(ctx).list()}
    config = SourceConfig(name=folder.name, kind="file", path=str(folder), emits="alerts")
    read = await read_alert_source(config, Directory(ctx, list(partners.values())))
    used = read.files
    report = AlertSourceReport(
        files=len(used), problems=[str(p) for p in read.errors + read.unmatched]
    )
    routed: dict[int, list[NewAlert]] = {}
    for event in read.events:
        routed.setdefault(event.partner_id, []).append(event.alert)
    for partner_id, alerts in routed.items():
        partner = partners[partner_id]
        name = partner.name
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
