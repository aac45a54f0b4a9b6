"""One observable source of truth per partner (Qt-free).

Every screen that shows a partner's state (partners list, status bar, window title, check page,
usage banner, mapping counters, wizard) renders a :class:`PartnerState` from
``ctx.state.get(partner_id)`` and re-renders when ``ctx.state.changed`` fires with that
partner's id. No widget keeps its own copy of these facts, so two screens cannot disagree.

Only services change it:

* anything written to the store (status, setup step, accounts, mappings, queued counts) is
  re-read by ``touch(partner_id)``, which services call after they commit (``PartnerDirectory``,
  ``MappingService``, ``IntegrationService``, ``PushService`` do);
* alerts waiting for the user (``alerts_in_doubt``, ``alerts_failed``) are re-read the same
  way: the alerts service touches after each record, send, final check and decision;
* facts that live only in memory are recorded by ``note_push_progress`` / ``note_push`` (a push
  running and its outcome) and ``note_check`` (the last integration check).

``changed`` is a ``psygnal.Signal`` (no Qt: the core must not import Qt); handlers run in the
emitting thread, which is the event-loop thread for every service here. A state is emitted only
when it differs from the previous one, so a touch that changes nothing repaints nothing.

A status comes with the time Gradient reported it (``status_seen_at``); :func:`age` turns that
into "checked 2 min ago" for screens where it may be stale, and :func:`when` is the one
timestamp format of the app.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from psygnal import Signal
from sqlalchemy import func
from sqlmodel import col, select

from gradient_desktop.services.wording import plural
from gradient_desktop.store.alerts import AlertLedger
from gradient_desktop.store.models import Mapping, MappingKind, Partner, VendorAccount

if TYPE_CHECKING:
    from gradient_desktop.api import ProgressEvent
    from gradient_desktop.services.context import AppContext

log = logging.getLogger(__name__)

#: Setup steps 1..6 are "in setup"; 99 is done; 0 is never set up (or disconnected).
SETUP_FIRST, SETUP_LAST, SETUP_DONE = 1, 6, 99
#: Push progress is announced at most this often (seconds).
PROGRESS_EVERY_S = 0.2


class PushProgress(NamedTuple):
    """A push running now: ``done`` of ``total`` rows answered, what went wrong so far, and
    the estimated seconds left (None: not known yet). A tuple, so ``(done, total)`` reads as
    before and two equal progresses compare equal (no repaint)."""

    done: int
    total: int
    failed: int = 0
    unmapped: int = 0
    unknown: int = 0
    eta_s: float | None = None

    def describe(self) -> str:
        """ "81 of 362 sent" """
        return f"{self.done:,} of {self.total:,} sent"


@dataclass(frozen=True)
class PushOutcome:
    """The last push of a partner: what it did, in a sentence, and when it ended."""

    text: str
    at: datetime
    landed: int
    total: int
    ok: bool


@dataclass(frozen=True)
class CheckOutcome:
    """The last integration check: ``marks`` is ``{step key: True/False/None}``.

    ``status`` is the partner status at check time: when the status changes afterwards the
    check is *outdated* (``PartnerState.check_outdated``) and screens must not show its ticks
    as current.
    """

    at: datetime
    passed: int
    total: int
    marks: dict[str, bool | None]
    status: str
    error: str | None = None


@dataclass(frozen=True)
class PartnerState:
    """Everything any screen shows about one partner, at one moment."""

    partner_id: int
    name: str
    demo: bool = False
    #: The integration status as Gradient last reported it (or set by us and acknowledged).
    status: str = "unknown"
    #: When Gradient last told us the status, in this run of the app (None: not yet).
    status_seen_at: datetime | None = None
    #: When Gradient last received usage for this integration, as Gradient reports it.
    usage_seen_at: datetime | None = None
    setup_step: int = 0
    accounts_total: int = 0
    accounts_published: int = 0
    accounts_mapped: int = 0
    #: Accounts Gradient last said are mapped (``isMapped``): the MSP's side of the mapping.
    accounts_mapped_remote: int = 0
    services: int = 0
    queued: int = 0
    sending: int = 0
    unknown: int = 0
    #: A push running now, else None. The one record of push progress: the Usage page's
    #: panel, the status bar, the partners list and the quit question all render it.
    push_progress: PushProgress | None = None
    last_push: PushOutcome | None = None
    last_check: CheckOutcome | None = None
    #: Alerts whose outcome is unknown: the user must look at the PSA board and decide.
    alerts_in_doubt: int = 0
    #: Alerts Gradient could not turn into a ticket (failed) or refused: fix, then resend.
    alerts_failed: int = 0

    @property
    def in_setup(self) -> bool:
        return SETUP_FIRST <= self.setup_step <= SETUP_LAST

    @property
    def check_outdated(self) -> bool:
        """The last check was made while the status was different from now."""
        return self.last_check is not None and self.last_check.status != self.status

    @property
    def settled(self) -> int:
        """Rows neither queued nor in flight (used by summaries)."""
        return max(0, self.queued - self.sending - self.unknown)

    def status_label(self) -> str:
        """ "SETUP · step 3 of 6" while in setup, else the status in capitals."""
        if self.in_setup:
            label = f"SETUP · step {self.setup_step} of {SETUP_LAST}"
            # What Gradient says matters during the setup too (PENDING after step 4).
            return label if self.status == "unknown" else f"{label} · {self.status.upper()}"
        return self.status.upper()

    def status_with_age(self, now: datetime | None = None) -> str:
        """ "ACTIVE · checked 2 min ago": for screens where the status may be stale."""
        label = self.status_label()
        if self.status_seen_at is None:
            if self.in_setup or self.status == "unknown":
                return label if self.in_setup else f"{label} · not checked with Gradient yet"
            return f"{label} · not checked since the app started"
        return f"{label} · checked {age(self.status_seen_at, now)}"

    def queue_text(self) -> str:
        """What waits to be sent, or "" when nothing does."""
        if self.push_progress is not None:
            done, total = self.push_progress[:2]
            return f"sending {done:,} of {plural(total, 'count')}"
        parts = []
        if self.queued:
            parts.append(f"{plural(self.queued, 'count')} waiting to be sent")
        if self.unknown:
            parts.append(f"{self.unknown:,} with an unknown outcome")
        return " · ".join(parts)

    @property
    def alerts_need_you(self) -> int:
        return self.alerts_in_doubt + self.alerts_failed

    def alerts_text(self) -> str:
        """ "2 alerts need you (Alerts page)", or "" when none does."""
        n = self.alerts_need_you
        if not n:
            return ""
        return f"{n} alert{'s' if n > 1 else ''} need{'' if n > 1 else 's'} you (Alerts page)"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def age(moment: datetime, now: datetime | None = None) -> str:
    """ "just now", "5 min ago", "3 h ago", "2 days ago" (never negative)."""
    now = now or datetime.now(UTC)
    seconds = max(0.0, (_aware(now) - _aware(moment)).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    return f"{days} day{'s' if days > 1 else ''} ago"


def when(moment: datetime | str | None) -> str:
    """The app's one timestamp format: local time, "2026-12-01 14:05"; "never" for None."""
    if moment is None:
        return "never"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return _aware(moment).astimezone().strftime("%Y-%m-%d %H:%M")


@dataclass
class _Memory:
    """Facts not in the store: a running push, the last push and check."""

    push_progress: PushProgress | None = None
    last_push: PushOutcome | None = None
    last_check: CheckOutcome | None = None
    announced: float = 0.0
    status_seen_at: datetime | None = None


class StateHub:
    """The partners' states; see the module docstring. One per ``AppContext``."""

    #: Emitted with a partner id whenever that partner's state changed (also on removal).
    changed = Signal(int)

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._states: dict[int, PartnerState] = {}
        self._memory: dict[int, _Memory] = {}

    # -- reading ----------------------------------------------------------------------------

    def get(self, partner_id: int) -> PartnerState | None:
        """The partner's current state (read from the store on first use), or None if gone."""
        state = self._states.get(partner_id)
        if state is None:
            state = self._read(partner_id)
            if state is not None:
                self._states[partner_id] = state
        return state

    def all(self) -> list[PartnerState]:
        with self.ctx.db.session() as s:
            ids = [
                partner_id for partner_id in s.exec(select(Partner.id)) if partner_id is not None
            ]
        return [st for st in (self.get(partner_id) for partner_id in ids) if st is not None]

    # -- changing (services only) -----------------------------------------------------------

    def touch(self, partner_id: int | None) -> PartnerState | None:
        """Re-read the partner from the store and tell every screen if anything changed."""
        if partner_id is None:
            return None
        return self._publish(partner_id, self._read(partner_id))

    def forget(self, partner_id: int) -> None:
        """The partner was removed."""
        self._memory.pop(partner_id, None)
        if self._states.pop(partner_id, None) is not None:
            self.changed.emit(partner_id)

    def note_push_progress(
        self,
        partner_id: int,
        done: int,
        total: int,
        *,
        failed: int = 0,
        unmapped: int = 0,
        unknown: int = 0,
        eta_s: float | None = None,
    ) -> None:
        """A push is running (memory only; the store is re-read when it ends).

        Announced at most every ``PROGRESS_EVERY_S``: one event per answered row would repaint
        every screen thousands of times and cost the push real throughput."""
        memory = self._mem(partner_id)
        progress = PushProgress(done, total, failed, unmapped, unknown, eta_s)
        memory.push_progress = progress
        now = time.monotonic()
        if 0 < done < total and now - memory.announced < PROGRESS_EVERY_S:
            return
        memory.announced = now
        current = self.get(partner_id)
        if current is not None:
            self._publish(partner_id, replace(current, push_progress=progress))

    def note_push_event(self, partner_id: int, event: ProgressEvent) -> None:
        """``note_push_progress`` from a push's progress event (``PushService.run`` calls it)."""
        self.note_push_progress(
            partner_id,
            event.done,
            event.total,
            failed=event.failed,
            unmapped=event.unmapped,
            unknown=event.unknown,
            eta_s=event.eta_s,
        )

    def running_pushes(self) -> list[PartnerState]:
        """The partners with a push running now (what "may I quit?" asks)."""
        return [st for st in self._states.values() if st.push_progress is not None]

    def push_summary(self) -> str | None:
        """ "81 of 362 sent" (one push), a sentence for several, None when none runs."""
        running = self.running_pushes()
        if not running:
            return None
        if len(running) == 1:
            return running[0].push_progress.describe()  # type: ignore[union-attr]
        return "; ".join(
            f"{st.name}: {st.push_progress.describe()}"  # type: ignore[union-attr]
            for st in running
        )

    def note_push(self, partner_id: int, text: str, landed: int, total: int, ok: bool) -> None:
        """A push ended (landed, failed or stopped): remember the outcome, re-read the queue."""
        memory = self._mem(partner_id)
        memory.push_progress = None
        memory.last_push = PushOutcome(text, datetime.now(UTC), landed, total, ok)
        self.touch(partner_id)

    def note_status(self, partner_id: int) -> None:
        """Gradient just told us the partner's status (already written to the store)."""
        self._mem(partner_id).status_seen_at = datetime.now(UTC)
        self.touch(partner_id)

    def note_check(
        self,
        partner_id: int,
        marks: dict[str, bool | None],
        at: datetime,
        error: str | None = None,
    ) -> None:
        """An integration check ended; it is bound to the status it saw (see CheckOutcome)."""
        state = self._read(partner_id)
        status = state.status if state else "unknown"
        passed = sum(1 for v in marks.values() if v)
        self._mem(partner_id).last_check = CheckOutcome(
            at, passed, len(marks), dict(marks), status, error
        )
        self.touch(partner_id)

    # -- internals --------------------------------------------------------------------------

    def _mem(self, partner_id: int) -> _Memory:
        return self._memory.setdefault(partner_id, _Memory())

    def _publish(self, partner_id: int, state: PartnerState | None) -> PartnerState | None:
        if state is None:
            self.forget(partner_id)
            return None
        if self._states.get(partner_id) != state:
            self._states[partner_id] = state
            self.changed.emit(partner_id)
        return state

    def _read(self, partner_id: int) -> PartnerState | None:
        from gradient_desktop.store.models import PartnerService

        with self.ctx.db.session() as s:
            partner = s.get(Partner, partner_id)
            if partner is None:
                return None
            accounts = s.exec(
                select(func.count()).where(col(VendorAccount.partner_id) == partner_id)
            ).one()
            published = s.exec(
                select(func.count()).where(
                    col(VendorAccount.partner_id) == partner_id,
                    col(VendorAccount.sync_state) == "synced",
                )
            ).one()
            mapped = s.exec(
                select(func.count()).where(
                    col(Mapping.partner_id) == partner_id,
                    col(Mapping.kind) == MappingKind.ACCOUNT.value,
                )
            ).one()
            mapped_remote = s.exec(
                select(func.count()).where(
                    col(VendorAccount.partner_id) == partner_id,
                    col(VendorAccount.is_mapped_remote),
                )
            ).one()
            services = s.exec(
                select(func.count()).where(col(PartnerService.partner_id) == partner_id)
            ).one()
        by_state = self.ctx.outbox.counts_by_state(partner_id)
        in_doubt, alerts_failed = AlertLedger(self.ctx.db).needs_you(partner_id)
        memory = self._mem(partner_id)
        return PartnerState(
            partner_id=partner_id,
            name=partner.name,
            demo=self.ctx.is_demo_url(partner.base_url),
            status=partner.status,
            status_seen_at=memory.status_seen_at,
            usage_seen_at=partner.last_synced_at,
            setup_step=partner.setup_step,
            accounts_total=int(accounts),
            accounts_published=int(published),
            accounts_mapped=int(mapped),
            accounts_mapped_remote=int(mapped_remote),
            services=int(services),
            queued=sum(by_state.get(k, 0) for k in ("pending", "sending", "unknown")),
            sending=by_state.get("sending", 0),
            unknown=by_state.get("unknown", 0),
            push_progress=memory.push_progress,
            last_push=memory.last_push,
            last_check=memory.last_check,
            alerts_in_doubt=in_doubt,
            alerts_failed=alerts_failed,
        )


def snapshot_fields(state: PartnerState) -> dict[str, Any]:
    """A plain dict of a state (logs, diagnostics, tests)."""
    return {k: getattr(state, k) for k in state.__dataclass_fields__}


__all__ = [
    "CheckOutcome",
    "PartnerState",
    "PushOutcome",
    "PushProgress",
    "StateHub",
    "age",
    "snapshot_fields",
    "when",
]
