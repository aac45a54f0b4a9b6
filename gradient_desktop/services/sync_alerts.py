"""The alert half of ``gradient-desktop sync`` (and so of the OS-scheduled run): every source
that emits alerts (``services/alert_sources.py``) is read, its new events are recorded once in
the alert ledger, and every queued alert of the partners concerned is sent and followed.

The sync calls :func:`attach` with one line, after the usage half; the two halves share the run
record (``details["alerts"]``), the summary line and the exit code, and nothing else: a broken
usage file does not hold back an incident, nor a broken alert source the counts.

Exactly once across runs: an event's ``alertId`` and ledger row come from its key, so a rerun
records nothing twice, and a row a killed run left ``sending`` becomes "outcome unknown"
(``AlertService.send``) for the user to confirm — never a blind second dispatch.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gradient_desktop.api import ApiError
from gradient_desktop.secrets import SecretStoreError
from gradient_desktop.services.alert_sources import AlertRead, read_alert_source
from gradient_desktop.services.alerts import AlertService
from gradient_desktop.services.context import AppContext, MissingKeyError
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.services.sources.config import SourceConfig, SourceError
from gradient_desktop.services.sources.routing import Directory
from gradient_desktop.services.sources.store import SourceStore
from gradient_desktop.services.wording import noun, plural
from gradient_desktop.store.models import AlertState, Partner

if TYPE_CHECKING:
    from gradient_desktop.services.sync import SyncResult

log = logging.getLogger(__name__)

#: Partners whose alerts are sent at once (each its own client; alerts go one at a time).
MAX_PARALLEL_PARTNERS = 8


@dataclass
class PartnerAlerts:
    """One partner's alerts in this run."""

    name: str
    new: int = 0
    sent: int = 0
    rejected: int = 0
    unknown: int = 0
    queued: int = 0  # still waiting (Gradient unreachable, throttled) for the next run
    tickets: int = 0  # alerts of earlier runs whose ticket was confirmed now
    failed: int = 0  # alerts of earlier runs Gradient could not turn into a ticket
    error: str | None = None
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class AlertSyncResult:
    sources: int = 0
    read: int = 0
    new: int = 0
    seen: int = 0
    dry_run: bool = False
    partners: list[PartnerAlerts] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # unreadable sources, bad rows
    unreadable: int = 0
    unmatched: list[str] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(p.sent for p in self.partners)

    @property
    def unknown(self) -> int:
        return sum(p.unknown for p in self.partners)

    @property
    def ok(self) -> bool:
        return not (self.errors or self.unmatched) and not any(
            p.error or p.rejected or p.unknown or p.failed or p.queued for p in self.partners
        )

    def exit_code(self) -> int:
        """As the usage half: 2 a source or a partner's key needs the user, 1 some alert did
        not go (or matched no partner), 0 all well."""
        if self.unreadable or any(p.error for p in self.partners):
            return 2
        return 0 if self.ok else 1

    def text(self) -> str:
        if self.dry_run:
            return (
                f"{plural(self.read, 'event')} read, {self.new} new {noun(self.new, 'alert')} "
                f"would be sent; "
                "nothing was recorded or sent."
            )
        parts = [
            f"{plural(self.read, 'event')} read",
            f"{self.new} new",
            f"{self.sent} sent",
        ]
        for label, n in (
            ("outcome unknown (confirm on the Alerts page)", self.unknown),
            ("refused by Gradient", sum(p.rejected for p in self.partners)),
            ("waiting to be sent", sum(p.queued for p in self.partners)),
            ("tickets confirmed", sum(p.tickets for p in self.partners)),
            ("could not become a ticket", sum(p.failed for p in self.partners)),
            ("with errors", len(self.errors)),
            ("matched no partner or service", len(self.unmatched)),
        ):
            if n:
                parts.append(f"{n} {label}")
        return ", ".join(parts) + "."

    def as_json(self) -> dict[str, Any]:
        return {
            "sources": self.sources,
            "read": self.read,
            "new": self.new,
            "seen": self.seen,
            "sent": self.sent,
            "dryRun": self.dry_run,
            "partners": [p.as_json() for p in self.partners],
            "errors": self.errors[:500],
            "unmatched": self.unmatched[:500],
        }


def alert_configs(ctx: AppContext, names: list[str] | None) -> list[SourceConfig]:
    store = SourceStore(ctx)
    configs = [store.get(n) for n in names] if names else store.list()
    return [c for c in configs if c.emits_alerts]


def _selected(ctx: AppContext, names: list[str] | None) -> list[Partner]:
    partners = PartnerDirectory(ctx).list()
    if not names:
        return partners
    wanted = {n.lower() for n in names}
    return [p for p in partners if p.name.lower() in wanted]


async def sync_alerts(
    ctx: AppContext,
    *,
    partner_names: list[str] | None = None,
    source_names: list[str] | None = None,
    dry_run: bool = False,
) -> AlertSyncResult | None:
    """Read every alert source, record new events, send and follow; None: no alert source."""
    configs = alert_configs(ctx, source_names)
    if not configs:
        return None
    result = AlertSyncResult(sources=len(configs), dry_run=dry_run)
    everyone = PartnerDirectory(ctx).list()
    partners = _selected(ctx, partner_names)
    directory = Directory(ctx, everyone)  # route over all partners, keep the selected
    reads = await asyncio.gather(
        *(_read(ctx, c, directory) for c in configs), return_exceptions=True
    )
    wanted = {p.id for p in partners}
    by_partner: dict[int, list[Any]] = {}
    for read in reads:
        if isinstance(read, SourceError | SecretStoreError):
            result.errors.append(f"{read} Nothing of it was recorded.")
            result.unreadable += 1
            continue
        if isinstance(read, BaseException):
            raise read
        result.read += read.read
        result.errors += map(str, read.errors)
        result.unmatched += map(str, read.unmatched)
        for event in read.events:
            if event.partner_id in wanted:
                by_partner.setdefault(event.partner_id, []).append(event.alert)
    service = AlertService(ctx)
    for partner in partners:
        pa = PartnerAlerts(partner.name)
        alerts = by_partner.get(partner.id or 0, [])
        if dry_run:
            pa.new = len(alerts) - len(service.ledger.recorded(partner.id or 0, alerts))
        elif alerts:
            _, pa.new = service.record(partner, alerts, origin="source")
        result.new += pa.new
        result.seen += len(alerts) - pa.new
        result.partners.append(pa)
    if not dry_run:
        gate = asyncio.Semaphore(MAX_PARALLEL_PARTNERS)
        await asyncio.gather(
            *(_send(service, p, pa, gate) for p, pa in zip(partners, result.partners, strict=True))
        )
    # A partner with nothing to say is not listed.
    result.partners = [p for p in result.partners if any(
        (p.new, p.sent, p.rejected, p.unknown, p.queued, p.tickets, p.failed, p.error)
    )]  # fmt: skip
    log.info("alert sources: %s", result.text())
    return result


async def _read(ctx: AppContext, config: SourceConfig, directory: Directory) -> AlertRead:
    secret = SourceStore(ctx).secret(config)
    read = await read_alert_source(config, directory, secret)
    log.info("alert source %s: %s read", config.name, plural(read.read, "event"))
    return read


async def _send(
    service: AlertService, partner: Partner, pa: PartnerAlerts, gate: asyncio.Semaphore
) -> None:
    """Send what is queued, then one due check of alerts sent earlier (a scheduled run is
    short-lived; the Alerts page and ``alert trace`` keep following the rest)."""
    assert partner.id is not None
    ledger = service.ledger
    earlier = {r.id for r in ledger.to_trace(partner.id)}  # sent by earlier runs
    if not (earlier or ledger.queued(partner.id) or ledger.history(partner.id, ["sending"])):
        return
    async with gate:
        try:
            if ledger.queued(partner.id) or ledger.history(partner.id, ["sending"]):
                report = await service.send(partner)
                pa.sent, pa.rejected = len(report.accepted), len(report.rejected)
                pa.unknown = len(report.unknown) + report.recovered_unknown
                pa.queued = len(ledger.queued(partner.id))
                pa.problems += [f"{r.title}: {r.reason or 'refused'}" for r in report.rejected]
                pa.problems += [f"{r.title}: outcome unknown" for r in report.unknown]
                if report.stopped:
                    pa.problems.append(f"stopped: {report.stopped}")
            now = datetime.now(UTC)
            for row in ledger.to_trace(partner.id):
                if row.id not in earlier or (row.next_check_at and row.next_check_at > now):
                    continue  # sent in this run (too early to ask), or not due yet
                checked = await service.check(partner, row)
                if checked.state == AlertState.SUCCESS:
                    pa.tickets += 1
                elif checked.state == AlertState.FAILED:
                    pa.failed += 1
                    pa.problems.append(f"{checked.title}: {checked.reason}")
        except (MissingKeyError, SecretStoreError) as exc:
            pa.error = str(exc)
        except ApiError as exc:
            pa.error = str(exc)  # its alerts stay as they are; the next run goes on
        except Exception as exc:  # a bug must not take the other partners down
            log.exception("alerts of %s failed", partner.name)
            pa.error = f"Unexpected error ({type(exc).__name__}); see the log."


async def attach(
    ctx: AppContext,
    result: SyncResult,
    *,
    partners: list[str] | None,
    sources: list[str] | None,
    dry_run: bool,
) -> None:
    """Run the alert sources for a sync run and fold their outcome into ``result``."""
    try:
        alerts = await sync_alerts(
            ctx, partner_names=partners, source_names=sources, dry_run=dry_run
        )
    except (SourceError, SecretStoreError) as exc:
        alerts = AlertSyncResult(errors=[str(exc)], unreadable=1)
    if alerts is None:
        return
    result.alerts = alerts
    if result.status == "ok" and not alerts.ok:
        result.status = "problems"
    usage = result.message.strip()
    result.message = f"{usage} Alerts: {alerts.text()}" if usage else f"Alerts: {alerts.text()}"


def detail_lines(details: dict[str, Any] | None) -> list[str]:
    """The alert part of a run's details, as lines (the Sync page, ``sync`` output)."""
    if not details:
        return []
    # The run's message already has the totals; these are the figures per partner.
    lines = [f"Alerts from {plural(details.get('sources', 0), 'source')}, by partner:"]
    for p in details.get("partners", []):
        figures = ", ".join(
            f"{p[k]} {label}"
            for k, label in (
                ("new", "new"),
                ("sent", "sent"),
                ("unknown", "outcome unknown"),
                ("rejected", "refused"),
                ("queued", "waiting"),
                ("tickets", "tickets confirmed"),
                ("failed", "failed"),
            )
            if p.get(k)
        )
        lines.append(f"  {p['name']}: {figures or 'nothing new'}. {p.get('error') or ''}".rstrip())
        lines += [f"    {problem}" for problem in p.get("problems", [])[:50]]
    lines += [f"  Alert error: {e}" for e in details.get("errors", [])]
    lines += [f"  Alert not matched: {u}" for u in details.get("unmatched", [])]
    return lines
