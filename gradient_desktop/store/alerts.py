"""The alert outbox and ledger: every alert is a row *before* it is sent, and stays as history.

Exactly-once rules (the service in ``services/alerts.py`` follows them):

* A row is created ``queued`` with a stable ``alert_id`` (and, for file rows and source events,
  a ``source_key`` that makes reading the same input again a no-op).
* ``claim`` moves ``queued`` → ``sending`` in one conditional UPDATE, committed before the
  request leaves: only a claimed row may be sent, and only once per claim.
* The answer moves it on: ``accepted`` (Gradient's messageId, then ``success``/``failed`` from
  the debug route), ``rejected`` (a 4xx: nothing queued), back to ``queued`` (provably never
  reached Gradient) or ``unknown`` (it may have reached Gradient and no messageId came back).
* A row found ``sending`` by a later run was cut off mid-request (crash, kill): ``unknown``.
* ``unknown`` is never re-sent by the program. The user decides (``resolve``): resend (back to
  ``queued``, same alertId), mark as sent, or cancel; the choice and its time are kept in
  ``note``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from gradient_desktop.store.db import Database
from gradient_desktop.store.models import AlertEntry, AlertState, utcnow

__all__ = ["FINAL_STATES", "NEEDS_YOU", "AlertLedger", "NewAlert", "Resolution"]

#: States after which nothing more happens to an alert without the user.
FINAL_STATES = frozenset(
    {
        AlertState.SUCCESS,
        AlertState.FAILED,
        AlertState.REJECTED,
        AlertState.MARKED_SENT,
        AlertState.CANCELLED,
    }
)


#: States that wait for the user: an unknown outcome to confirm, a failure or refusal to fix and
#: resend (or dismiss). The status bar, the Alerts page and its filter all count these.
NEEDS_YOU = frozenset({AlertState.UNKNOWN, AlertState.FAILED, AlertState.REJECTED})


_CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit


class Resolution:
    """What a user may decide for an alert (``AlertLedger.resolve``)."""

    RESEND = "resend"
    MARK_SENT = "mark_sent"
    CANCEL = "cancel"
    ALL = (RESEND, MARK_SENT, CANCEL)


# Which states each resolution may be applied to.
_RESOLVABLE = {
    Resolution.RESEND: {AlertState.UNKNOWN, AlertState.FAILED, AlertState.REJECTED},
    Resolution.MARK_SENT: {AlertState.UNKNOWN},
    # Cancelling a failed or refused alert dismisses it: the user will not resend it.
    Resolution.CANCEL: {
        AlertState.UNKNOWN,
        AlertState.QUEUED,
        AlertState.FAILED,
        AlertState.REJECTED,
    },
}


@dataclass(frozen=True, slots=True)
class NewAlert:
    """A validated alert to record (``services/alert_input.py`` builds these)."""

    account_id: str
    title: str
    description: str
    priority: int
    psa_status: int
    alert_id: str
    due_at: datetime | None = None
    service_id: str | None = None
    source_key: str | None = None


class AlertLedger:
    """Reads and state changes of ``alert_entry``; each method is one short transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- recording -------------------------------------------------------------------------

    def record(
        self, partner_id: int, alerts: Sequence[NewAlert], *, origin: str
    ) -> tuple[list[AlertEntry], int]:
        """Insert the alerts not recorded yet (by ``source_key`` or ``alert_id``), all in one
        transaction; returns every matching row (new and earlier) and how many are new."""
        out: list[AlertEntry] = []
        added = 0
        with self.db.write_session() as s:
            by_key, by_id = self._known(s, partner_id, alerts)
            for a in alerts:
                existing = by_key.get(a.source_key or "") or by_id.get(a.alert_id)
                if existing is not None:
                    out.append(existing)
                    continue
                row = AlertEntry(
                    partner_id=partner_id,
                    alert_id=a.alert_id,
                    account_id=a.account_id,
                    title=a.title,
                    description=a.description,
                    priority=a.priority,
                    psa_status=a.psa_status,
                    due_at=a.due_at,
                    service_id=a.service_id,
                    origin=origin,
                    source_key=a.source_key,
                )
                s.add(row)
                out.append(row)
                by_id[a.alert_id] = row  # the same alert twice in one batch: one row
                if a.source_key:
                    by_key[a.source_key] = row
                added += 1
            s.commit()
        return out, added

    @staticmethod
    def _known(
        s: Session, partner_id: int, alerts: Sequence[NewAlert]
    ) -> tuple[dict[str, AlertEntry], dict[str, AlertEntry]]:
        """The rows already recorded for these alerts: by the partner's source key (rows
        recorded before alertIds were derived from it), and by alertId (any partner: a source
        event routed to another partner since keeps its one row). Looked up in chunks, so a
        source of thousands of events costs a few queries, not two per event."""
        keys = [a.source_key for a in alerts if a.source_key]
        ids = [a.alert_id for a in alerts]
        by_key: dict[str, AlertEntry] = {}
        by_id: dict[str, AlertEntry] = {}
        for i in range(0, len(keys), _CHUNK):
            query = select(AlertEntry).where(
                AlertEntry.partner_id == partner_id,
                col(AlertEntry.source_key).in_(keys[i : i + _CHUNK]),
            )
            by_key.update((r.source_key or "", r) for r in s.exec(query))
        for i in range(0, len(ids), _CHUNK):
            query = select(AlertEntry).where(col(AlertEntry.alert_id).in_(ids[i : i + _CHUNK]))
            by_id.update((r.alert_id, r) for r in s.exec(query))
        return by_key, by_id

    def is_recorded(self, partner_id: int, alert: NewAlert) -> bool:
        """Whether ``record`` would find this alert already there (dry runs)."""
        return bool(self.recorded(partner_id, [alert]))

    def recorded(self, partner_id: int, alerts: Sequence[NewAlert]) -> set[str]:
        """The alertIds of those alerts ``record`` would find already there (dry runs)."""
        with self.db.session() as s:
            by_key, by_id = self._known(s, partner_id, alerts)
        return {a.alert_id for a in alerts if (a.source_key or "") in by_key or a.alert_id in by_id}

    # -- sending ---------------------------------------------------------------------------

    def claim(self, entry_id: int) -> bool:
        """``queued`` → ``sending`` (committed): True when this caller may send it now."""
        with self.db.write() as conn:
            done = conn.execute(
                update(AlertEntry)
                .where(col(AlertEntry.id) == entry_id, col(AlertEntry.state) == AlertState.QUEUED)
                .values(
                    state=AlertState.SENDING.value,
                    attempts=AlertEntry.attempts + 1,
                    sent_at=utcnow(),
                )
            )
            return done.rowcount == 1

    def accepted(self, entry_id: int, message_id: str, correlation_id: str | None) -> None:
        self._set(
            entry_id,
            state=AlertState.ACCEPTED,
            message_id=message_id,
            correlation_id=correlation_id,
            remote_status="pending",
            reason=None,
            next_check_at=utcnow(),
        )

    def rejected(self, entry_id: int, reason: str) -> None:
        self._set(entry_id, state=AlertState.REJECTED, reason=reason, resolved_at=utcnow())

    def unsent(self, entry_id: int, reason: str) -> None:
        """Back to ``queued``: the request provably never reached Gradient."""
        self._set(entry_id, state=AlertState.QUEUED, reason=reason)

    def unknown(self, entry_id: int, reason: str) -> None:
        self._set(entry_id, state=AlertState.UNKNOWN, reason=reason)

    def interrupted(self, partner_id: int | None, keep: Iterable[int] = ()) -> int:
        """Rows left ``sending`` by a run that was cut off become ``unknown``; ``keep`` are the
        ids this process is sending right now. Returns how many were changed."""
        keep_ids = list(keep)
        with self.db.write() as conn:
            stmt = update(AlertEntry).where(col(AlertEntry.state) == AlertState.SENDING)
            if partner_id is not None:
                stmt = stmt.where(col(AlertEntry.partner_id) == partner_id)
            if keep_ids:
                stmt = stmt.where(col(AlertEntry.id).not_in(keep_ids))
            done = conn.execute(
                stmt.values(
                    state=AlertState.UNKNOWN.value,
                    reason="The app stopped while this alert was being sent, so it is not "
                    "known whether Gradient received it.",
                )
            )
            return done.rowcount

    # -- tracing ---------------------------------------------------------------------------

    def checked(
        self,
        entry_id: int,
        *,
        remote_status: str | None,
        ticket_id: str | None,
        errors: list[str] | None,
        reason: str | None,
        next_check_in: float | None,
    ) -> AlertEntry:
        """Store one debug-route answer; ``success``/``failed`` end the trace."""
        now = utcnow()
        fields: dict[str, object] = {
            "remote_status": remote_status,
            "checked_at": now,
            "next_check_at": None
            if next_check_in is None
            else now + timedelta(seconds=next_check_in),
        }
        if remote_status == "success":
            fields.update(
                state=AlertState.SUCCESS, ticket_id=ticket_id, resolved_at=now, reason=None
            )
        elif remote_status == "failed":
            fields.update(
                state=AlertState.FAILED,
                errors=json.dumps(errors or []),
                reason=reason,
                resolved_at=now,
            )
        elif reason:  # still pending, with something the user should know
            fields.update(reason=reason)
        with self.db.write_session() as s:
            row = s.get(AlertEntry, entry_id)
            if row is None:
                raise LookupError(f"alert {entry_id} no longer exists")
            row.checks += 1
            for name, value in fields.items():
                setattr(row, name, value.value if isinstance(value, AlertState) else value)
            s.add(row)
            s.commit()
            return row

    def to_trace(self, partner_id: int | None = None) -> list[AlertEntry]:
        """Accepted alerts whose ticket is not known yet, oldest first."""
        query = select(AlertEntry).where(AlertEntry.state == AlertState.ACCEPTED.value)
        if partner_id is not None:
            query = query.where(AlertEntry.partner_id == partner_id)
        with self.db.session() as s:
            return list(s.exec(query.order_by(col(AlertEntry.id))))

    # -- the user's decisions ----------------------------------------------------------------

    def resolve(self, alert_id: str, choice: str, *, actor: str = "user") -> AlertEntry:
        """Apply a user's decision; raises ValueError when it does not fit the alert's state."""
        if choice not in Resolution.ALL:
            raise ValueError(f"Choose one of: {', '.join(Resolution.ALL)}.")
        with self.db.write_session() as s:
            row = s.exec(select(AlertEntry).where(AlertEntry.alert_id == alert_id)).first()
            if row is None:
                raise LookupError(f"No alert with id {alert_id} is recorded here.")
            if AlertState(row.state) not in _RESOLVABLE[choice]:
                raise ValueError(
                    f"The alert {row.title!r} is {row.state.replace('_', ' ')}; "
                    f"'{choice.replace('_', ' ')}' does not apply to it."
                )
            now = utcnow()
            stamp = f"{choice.replace('_', ' ')} by {actor} at {now:%Y-%m-%d %H:%M} UTC"
            row.note = f"{row.note}; {stamp}" if row.note else stamp
            if choice == Resolution.RESEND:
                row.state = AlertState.QUEUED.value
                row.message_id = row.correlation_id = row.ticket_id = None
                row.remote_status = row.errors = None
                row.resolved_at = None
            elif choice == Resolution.MARK_SENT:
                row.state = AlertState.MARKED_SENT.value
                row.resolved_at = now
            else:
                row.state = AlertState.CANCELLED.value
                row.resolved_at = now
            s.add(row)
            s.commit()
            return row

    def restore_decision(self, alert_id: str, before: AlertEntry) -> AlertEntry:
        """Undo "mark as sent" or "cancel" (nothing was sent by them): state, note and time
        back to ``before``. ValueError when the alert moved on meanwhile."""
        with self.db.write_session() as s:
            row = s.exec(select(AlertEntry).where(AlertEntry.alert_id == alert_id)).first()
            if row is None:
                raise LookupError(f"No alert with id {alert_id} is recorded here.")
            undoable = {AlertState.MARKED_SENT.value, AlertState.CANCELLED.value}
            if row.state not in undoable or before.state not in _RESOLVABLE[Resolution.CANCEL]:
                raise ValueError(f"The alert {row.title!r} changed since; nothing was undone.")
            row.state, row.note, row.resolved_at = before.state, before.note, before.resolved_at
            s.add(row)
            s.commit()
            return row

    # -- reads -----------------------------------------------------------------------------

    def get(self, alert_id: str) -> AlertEntry | None:
        with self.db.session() as s:
            return s.exec(select(AlertEntry).where(AlertEntry.alert_id == alert_id)).first()

    def by_id(self, entry_id: int) -> AlertEntry | None:
        with self.db.session() as s:
            return s.get(AlertEntry, entry_id)

    def queued(self, partner_id: int) -> list[AlertEntry]:
        with self.db.session() as s:
            query = select(AlertEntry).where(
                AlertEntry.partner_id == partner_id, AlertEntry.state == AlertState.QUEUED.value
            )
            return list(s.exec(query.order_by(col(AlertEntry.id))))

    def history(
        self, partner_id: int | None = None, states: Iterable[str] | None = None
    ) -> list[AlertEntry]:
        """Every alert, newest first (optionally one partner's, or only some states)."""
        query = select(AlertEntry)
        if partner_id is not None:
            query = query.where(AlertEntry.partner_id == partner_id)
        if states is not None:
            query = query.where(col(AlertEntry.state).in_(list(states)))
        with self.db.session() as s:
            return list(s.exec(query.order_by(col(AlertEntry.id).desc())))

    def in_doubt(self, partner_id: int) -> int:
        """How many of the partner's alerts wait for the user to say what happened."""
        with self.db.read() as conn:
            query = (
                select(func.count())
                .select_from(AlertEntry)
                .where(
                    AlertEntry.partner_id == partner_id,
                    AlertEntry.state == AlertState.UNKNOWN.value,
                )
            )
            return int(conn.execute(query).scalar_one())

    def needs_you(self, partner_id: int) -> tuple[int, int]:
        """(outcome unknown, failed or refused) alerts of the partner: what waits for the user."""
        with self.db.read() as conn:
            query = (
                select(AlertEntry.state, func.count())
                .where(
                    AlertEntry.partner_id == partner_id,
                    col(AlertEntry.state).in_([s.value for s in NEEDS_YOU]),
                )
                .group_by(AlertEntry.state)
            )
            counts = dict(conn.execute(query).all())
        unknown = int(counts.get(AlertState.UNKNOWN.value, 0))
        return unknown, sum(int(n) for n in counts.values()) - unknown

    def count_by_state(self, partner_id: int | None = None) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.history(partner_id):
            counts[row.state] = counts.get(row.state, 0) + 1
        return counts

    # -- helpers ---------------------------------------------------------------------------

    def _set(self, entry_id: int, **fields: object) -> None:
        values = {k: (v.value if isinstance(v, AlertState) else v) for k, v in fields.items()}
        with self.db.write() as conn:
            conn.execute(update(AlertEntry).where(col(AlertEntry.id) == entry_id).values(**values))
