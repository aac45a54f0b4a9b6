"""Sending vendor alerts (each becomes a ticket on the partner's PSA board) exactly once, and
tracing them until Gradient says the ticket exists or could not be created.

Shared by the CLI (``cli_alerts.py``), the Alerts page and alert sources. The ledger
(``store/alerts.py``) holds every alert before it is sent; this module decides what each answer
means for it:

* messageId back → ``accepted``, then traced on the debug route with backoff;
* refused before processing (no connection, throttled, bad key) → ``queued`` again, sent later;
* refused by Gradient (400, 404, …) → ``rejected``, with Gradient's reason;
* anything after which Gradient *may* have queued it (5xx, timeout, cut connection, a crash,
  an unreadable 2xx) → ``unknown``: never re-sent by the program, because a second dispatch is a
  second ticket and Gradient is not known to de-duplicate by alertId (vendor-api.md §13). The
  user confirms (resend / mark as sent / cancel); their choice is kept in the ledger.

Alerts are sent one at a time: they are few, and one request in flight means a crash leaves at
most one alert in doubt.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import select

from gradient_desktop.api import (
    AlertRequest,
    ApiError,
    AuthenticationError,
    NetworkError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitError,
    ResponseFormatError,
    VendorApiClient,
)
from gradient_desktop.services.alert_input import priority_name
from gradient_desktop.services.alert_words import reason_in_words, status_text
from gradient_desktop.services.context import AppContext
from gradient_desktop.store.alerts import AlertLedger, NewAlert
from gradient_desktop.store.models import AlertEntry, AlertState, Partner, VendorAccount

__all__ = ["AlertService", "SendReport", "TraceReport", "reason_in_words", "status_text"]

log = logging.getLogger(__name__)

#: Trace backoff: first check after this many seconds, doubling, capped.
TRACE_FIRST_S = 0.5
TRACE_CAP_S = 30.0


def next_check_delay(checks_done: int) -> float:
    """Seconds until the next look at an alert that has been checked ``checks_done`` times."""
    return min(TRACE_CAP_S, TRACE_FIRST_S * 2 ** max(0, checks_done - 1))


Progress = Callable[[AlertEntry], None]

#: Rows this process is sending right now, so a second send run in the same process (the app
#: sends from a page while a source runs) never takes them for a crashed run's leftovers.
_IN_FLIGHT: set[int] = set()


@dataclass
class SendReport:
    """What one send run did; ``stopped`` says why it ended early (the rest stay queued)."""

    accepted: list[AlertEntry] = field(default_factory=list)
    rejected: list[AlertEntry] = field(default_factory=list)
    unknown: list[AlertEntry] = field(default_factory=list)
    left_queued: int = 0
    recovered_unknown: int = 0
    stopped: str | None = None


@dataclass
class TraceReport:
    success: list[AlertEntry] = field(default_factory=list)
    failed: list[AlertEntry] = field(default_factory=list)
    pending: list[AlertEntry] = field(default_factory=list)


class AlertService:
    """Record, send, trace and resolve alerts of the context's partners."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.ledger = AlertLedger(ctx.db)
        self._in_flight = _IN_FLIGHT

    # -- accounts ---------------------------------------------------------------------------

    def known_accounts(self, partner: Partner) -> dict[str, VendorAccount]:
        with self.ctx.db.session() as s:
            rows = s.exec(select(VendorAccount).where(VendorAccount.partner_id == partner.id))
            return {r.account_id: r for r in rows}

    async def account_states(self, partner: Partner, account_ids: set[str]) -> dict[str, bool]:
        """account id → mapped in Synthesize, for the ids this partner has (others absent)."""
        local = self.known_accounts(partner)
        mapped = {a: r.is_mapped_remote for a, r in local.items() if a in account_ids}
        if account_ids - set(local):
            # The local list may be behind: ask Gradient (a read, safe to retry).
            remote = await self.ctx.client_for(partner).list_accounts()
            mapped.update({r.id: bool(r.is_mapped) for r in remote if r.id in account_ids})
        return mapped

    async def check_accounts(
        self, partner: Partner, alerts: Sequence[NewAlert], lines: Sequence[int] | None = None
    ) -> tuple[list[str], list[str]]:
        """(problems, warnings) about the accounts the alerts name: an account neither in the
        local list nor at Gradient is a problem; one known but not mapped is a warning. With
        ``lines`` (the alerts' file rows) each problem names its row."""
        mapped = await self.account_states(partner, {a.account_id for a in alerts})
        problems = [
            f"{f'row {lines[i]}: ' if lines else ''}account {a.account_id} is not one of "
            f"{partner.name}'s accounts"
            for i, a in enumerate(alerts)
            if a.account_id not in mapped
        ]
        warnings = []
        for acc in sorted({a.account_id for a in alerts}):
            if acc in mapped and not mapped[acc]:
                warnings.append(
                    f"account {acc} is not mapped in Synthesize yet; Gradient will report its "
                    "alert as failed until the MSP maps it"
                )
        return problems, warnings

    # -- recording and sending --------------------------------------------------------------

    def record(
        self, partner: Partner, alerts: Sequence[NewAlert], *, origin: str
    ) -> tuple[list[AlertEntry], int]:
        assert partner.id is not None
        out = self.ledger.record(partner.id, alerts, origin=origin)
        self.ctx.state.touch(partner.id)
        return out

    async def send(
        self,
        partner: Partner,
        entries: Sequence[AlertEntry] | None = None,
        *,
        on_progress: Progress | None = None,
    ) -> SendReport:
        """Send the given rows (default: every queued alert of the partner), one at a time.

        Rows that are not ``queued`` any more (already sent by an earlier run) are skipped.
        """
        assert partner.id is not None
        report = SendReport()
        report.recovered_unknown = self.ledger.interrupted(partner.id, keep=self._in_flight)
        rows = entries if entries is not None else self.ledger.queued(partner.id)
        # Only this partner's rows go with this partner's key.
        ids = [e.id for e in rows if e.partner_id == partner.id]
        try:
            await self._send_all(partner, ids, report, on_progress)
        finally:
            self.ctx.state.touch(partner.id)  # "alerts need you" follows (services/state.py)
            if self.ctx.is_demo_url(partner.base_url) and self.ctx.demo.running:
                self.ctx.demo.save()  # the demo's queue knows these alerts after a restart
        return report

    async def _send_all(
        self,
        partner: Partner,
        ids: list[int | None],
        report: SendReport,
        on_progress: Progress | None,
    ) -> None:
        client = self.ctx.client_for(partner)
        for index, entry_id in enumerate(ids):
            assert entry_id is not None
            if not self.ledger.claim(entry_id):
                continue  # sent before (a rerun of the same file) or cancelled meanwhile
            row = self.ledger.by_id(entry_id)
            assert row is not None
            stop = await self._send_one(client, row, report)
            updated = self.ledger.by_id(entry_id)
            if on_progress and updated is not None:
                on_progress(updated)
            if stop:
                report.stopped = stop
                report.left_queued = sum(
                    1
                    for i in ids[index + 1 :]
                    if (r := self.ledger.by_id(i or 0)) and r.state == AlertState.QUEUED
                )
                break

    async def _send_one(
        self, client: VendorApiClient, row: AlertEntry, report: SendReport
    ) -> str | None:
        """Send one claimed row; returns a reason to stop the run, or None."""
        assert row.id is not None
        body = AlertRequest(
            title=row.title,
            description=row.description,
            alert_id=row.alert_id,
            priority=row.priority,
            status=row.psa_status,
            due_date_time=row.due_at,
            service_id=row.service_id,
        )
        self._in_flight.add(row.id)
        try:
            created = await client.dispatch_alert(row.account_id, body)
        except (OutcomeUnknownError, ResponseFormatError) as exc:
            self.ledger.unknown(
                row.id, f"No clear answer came back ({exc}). Check the PSA board, then confirm."
            )
            report.unknown.append(row)
            return None
        except (AuthenticationError, RateLimitError, NetworkError) as exc:
            # Raised for an alert only when it provably never reached Gradient (retry.py).
            self.ledger.unsent(row.id, str(exc))
            return str(exc)
        except ApiError as exc:
            self.ledger.rejected(row.id, str(exc))
            report.rejected.append(row)
            return None
        except BaseException:
            # Cancelled or crashed mid-request: it may have been sent.
            self.ledger.unknown(
                row.id, "Sending was interrupted; it is not known whether Gradient received it."
            )
            raise
        finally:
            self._in_flight.discard(row.id)
        self.ledger.accepted(row.id, created.message_id, created.correlation_id)
        report.accepted.append(row)
        return None

    # -- tracing -------------------------------------------------------------------------------

    async def check(self, partner: Partner, row: AlertEntry) -> AlertEntry:
        """One look at the debug route for an accepted alert; stores and returns the answer."""
        assert row.id is not None and row.message_id
        delay = next_check_delay(row.checks + 1)
        try:
            status = await self.ctx.client_for(partner).get_alert_status(row.message_id)
        except NotFoundError:
            # Gradient gave this messageId itself; not finding it is odd (e.g. a restarted demo
            # sandbox). Keep asking, less often, and say so.
            return self.ledger.checked(
                row.id,
                remote_status="pending",
                ticket_id=None,
                errors=None,
                reason="Gradient does not find this alert's status (yet); it is checked again later.",
                next_check_in=TRACE_CAP_S,
            )
        reason = None
        if status.status == "failed":
            reason = reason_in_words(status.errors, status.status_code, status.message)
        row = self.ledger.checked(
            row.id,
            remote_status=status.status or "pending",
            ticket_id=status.ticket_id,
            errors=status.errors,
            reason=reason,
            next_check_in=None if status.is_final else delay,
        )
        if status.is_final:
            self.ctx.state.touch(partner.id)
        return row

    async def trace(
        self,
        partner: Partner,
        entries: Sequence[AlertEntry] | None = None,
        *,
        timeout: float = 60.0,
        on_update: Progress | None = None,
    ) -> TraceReport:
        """Poll until every alert is ``success``/``failed`` or ``timeout`` passes; what is left
        stays ``accepted`` ("still pending") and is picked up by later checks."""
        assert partner.id is not None
        rows = {
            r.id: r for r in (entries if entries is not None else self.ledger.to_trace(partner.id))
        }
        report = TraceReport()
        deadline = time.monotonic() + timeout
        due: dict[int | None, float] = {i: 0.0 for i in rows}
        while due:
            now = time.monotonic()
            for entry_id in [i for i, at in due.items() if at <= now]:
                current = self.ledger.by_id(entry_id or 0)
                if current is None or current.state != AlertState.ACCEPTED:
                    due.pop(entry_id)
                    if current is not None:
                        _file(report, current)
                    continue
                updated = await self.check(partner, current)
                if on_update:
                    on_update(updated)
                if updated.state != AlertState.ACCEPTED:
                    due.pop(entry_id)
                    _file(report, updated)
                else:
                    due[entry_id] = time.monotonic() + next_check_delay(updated.checks)
            if not due:
                break
            wait = min(due.values()) - time.monotonic()
            if time.monotonic() + max(wait, 0) > deadline:
                break
            await asyncio.sleep(max(wait, 0.0))
        for entry_id in due:
            row = self.ledger.by_id(entry_id or 0)
            if row is not None:
                report.pending.append(row)
        return report

    async def check_due(self, partner: Partner) -> list[AlertEntry]:
        """The background check: every accepted alert whose next check is due, once."""
        assert partner.id is not None
        now = datetime.now(UTC)
        changed = []
        for row in self.ledger.to_trace(partner.id):
            if row.next_check_at is None or row.next_check_at <= now:
                changed.append(await self.check(partner, row))
        return changed

    # -- the user's decisions ------------------------------------------------------------------

    def resolve(self, alert_id: str, choice: str, *, actor: str) -> AlertEntry:
        """Apply a user's decision (``Resolution``) and update the partner's state."""
        row = self.ledger.resolve(alert_id, choice, actor=actor)
        self.ctx.state.touch(row.partner_id)
        return row

    def undo_resolve(self, alert_id: str, before: AlertEntry) -> AlertEntry:
        """Take back a decision that sent nothing (mark as sent, cancel): the alert is as it
        was before it (``before``, the row read just before the decision)."""
        row = self.ledger.restore_decision(alert_id, before)
        self.ctx.state.touch(row.partner_id)
        return row

    # -- history --------------------------------------------------------------------------------

    def history_csv(self, rows: Sequence[AlertEntry], partner_names: dict[int, str]) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["alertId", "partner", "accountId", "title", "priority", "psaStatus", "created",
             "sent", "status", "ticketId", "messageId", "reason", "errors", "note"]
        )  # fmt: skip
        for r in rows:
            writer.writerow(
                [
                    r.alert_id,
                    partner_names.get(r.partner_id, str(r.partner_id)),
                    r.account_id,
                    r.title,
                    priority_name(r.priority),
                    r.psa_status,
                    _iso(r.created_at),
                    _iso(r.sent_at),
                    status_text(r),
                    r.ticket_id or "",
                    r.message_id or "",
                    r.reason or "",
                    "; ".join(json.loads(r.errors)) if r.errors else "",
                    r.note or "",
                ]
            )
        return out.getvalue()


def _file(report: TraceReport, row: AlertEntry) -> None:
    if row.state == AlertState.SUCCESS:
        report.success.append(row)
    elif row.state == AlertState.FAILED:
        report.failed.append(row)


def _iso(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""
