"""The outbox: every unit-count write is recorded here before it is sent, and the rows stay as
the ledger (history, last acknowledged totals) afterwards. The sending itself is done by the
push service; this module only persists.

Exactly-once for add/subtract
-----------------------------
``set`` is idempotent by nature; ``add``/``subtract`` are not, so a retry after a lost answer
could count twice. Three things prevent that:

1. Each row gets an idempotency key (stripe style) once, at ``enqueue``: the batch id (128
   random bits) plus the row's position, so unique for all time. The sender
   sends it as ``Idempotency-Key`` on every attempt, retries and restarts included. The API
   client and the sandbox honour the header: a repeated key is answered from the stored
   response and not applied again.
2. Each add/subtract row also stores ``expected_total``: the total the server should hold once
   the row is applied, projected at enqueue from the last acknowledged total of that (service,
   account) plus the rows still queued before it. It is None when no starting total is known
   (no ``set`` ever recorded for that pair). When an earlier row ends ``failed``, ``unmapped``
   or ``cancelled``, the projections of the rows after it are recomputed.
3. A row whose outcome is unknown (``unknown``: sent, no answer; or ``sending`` found after a
   crash) is resolved on resume (``OutboxItem.wire_op()``): with an absolute ``set`` of
   ``expected_total`` when known (idempotent, right whether or not the first attempt landed),
   else by re-sending the same op with the same idempotency key. (The resolving ``set`` is a
   different request, so it carries a key derived from the row's: ``<key>-set``.)

Contract for the sender: rows of one (service, account) are sent one at a time in ``id``
order (``claim_resumable`` returns them oldest first); ``failed`` is only for a definite
rejection (the server total did not change), anything ambiguous is ``unknown``. Running totals
fold rows in ``id`` order: ``set`` replaces, ``add``/``subtract`` adjust; only ``sent`` rows
count as acknowledged. A ``sent`` row is final: later results for it are ignored.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)

from gradient_desktop.store.db import Database
from gradient_desktop.store.models import OutboxEntry, OutboxState, UtcDateTime
from gradient_desktop.store.outbox_rows import (
    HistoryPoint,
    OutboxItem,
    PushRow,
    apply_op,
    validate_row,
)

_T = OutboxEntry.__table__
_STATES = frozenset(s.value for s in OutboxState)
RESUMABLE = (OutboxState.PENDING.value, OutboxState.SENDING.value, OutboxState.UNKNOWN.value)
# Rows whose effect is (or will be) on the server; the others changed nothing.
_EFFECTIVE = (OutboxState.SENT.value, *RESUMABLE)
_VOIDED = frozenset(
    {OutboxState.FAILED.value, OutboxState.UNMAPPED.value, OutboxState.CANCELLED.value}
)
# SQLite builds before 3.32 allow 999 bound variables per statement.
_CHUNK = 900


def _idempotency_keys(batch_id: str, n: int) -> list[str]:
    """``n`` keys unique for all time: the batch's 128 random bits plus the row's position.

    Sequential within a batch, so the unique index takes them as an append rather than as
    100k random B-tree inserts (about 30% of the insert time) - and no uuid4() per row.
    """
    return [f"{batch_id}-{i:08x}" for i in range(n)]


_INSERT_FIELDS = (
    "partner_id",
    "batch_id",
    "op",
    "service_id",
    "account_id",
    "unit_count",
    "expected_total",
    "idempotency_key",
    "state",
    "attempts",
    "actor",
    "created_at",
)


def _insert_sql(conn: Connection) -> str:
    compiled = insert(_T).compile(dialect=conn.dialect, column_keys=list(_INSERT_FIELDS))
    # Positional parameters: the tuples built by enqueue must match the placeholder order.
    if tuple(compiled.positiontup or ()) != _INSERT_FIELDS:
        raise RuntimeError(f"unexpected INSERT parameter order {compiled.positiontup}")
    return str(compiled)


# mark_results runs every 200 answers of a push: its UPDATE is compiled once per Outbox and
# fed plain tuples (see there). `'sent'` is inlined so the only placeholders are these four.
_RESULT_STMT = (
    update(_T)
    .where(_T.c.id == bindparam("b_id"), _T.c.state != literal_column("'sent'"))
    .values(
        state=bindparam("b_state"),
        last_error=bindparam("b_error"),
        sent_at=bindparam("b_sent_at"),
    )
)
_RESULT_PARAMS = ("b_state", "b_error", "b_sent_at", "b_id")

# OutboxItem's fields in declaration order: selecting exactly these columns lets a row be
# passed positionally. `OutboxItem(**row._mapping)` built a mapping per row, and was over half
# of claim_resumable's time for 100k rows (bench/ledger.py).
_ITEM_COLUMNS = tuple(_T.c[f.name] for f in dataclasses.fields(OutboxItem))


def _result_sql(conn: Connection) -> str:
    compiled = _RESULT_STMT.compile(dialect=conn.dialect)
    # Positional parameters: the tuples built by mark_results must match the placeholder order.
    if tuple(compiled.positiontup or ()) != _RESULT_PARAMS:
        raise RuntimeError(f"unexpected UPDATE parameter order {compiled.positiontup}")
    return str(compiled)


def _in_list(values: Iterable[str]) -> str:
    # Only ever our own enum values, so inlining them is safe and keeps the SQL readable.
    return ", ".join(f"'{v}'" for v in values)


_TOTALS_SQL = """
WITH eff AS (
    SELECT id, service_id, account_id, op, unit_count, sent_at,
           MAX(CASE WHEN op = 'set' THEN id END)
               OVER (PARTITION BY service_id, account_id) AS set_id
    FROM outbox_entry
    WHERE partner_id = :partner_id AND state IN ({states})
)
SELECT service_id, account_id,
       SUM(CASE op WHEN 'subtract' THEN -unit_count ELSE unit_count END) AS total,
       MAX(sent_at) AS sent_at
FROM eff
WHERE id >= set_id
GROUP BY service_id, account_id
"""


def _totals(
    conn: Connection, partner_id: int, states: Iterable[str]
) -> dict[tuple[str, str], tuple[float, datetime | None]]:
    """Running totals over rows in ``states``: from the last ``set`` on, adjusted by the rest.

    Pairs never ``set`` have no known total and are left out.
    """
    stmt = text(_TOTALS_SQL.format(states=_in_list(states))).columns(sent_at=UtcDateTime())
    return {
        (r.service_id, r.account_id): (float(r.total), r.sent_at)
        for r in conn.execute(stmt, {"partner_id": partner_id})
    }


class Outbox:
    """Persistence of unit-count pushes for all partners of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._result_sql_text: str | None = None  # compiled on first use

    # -- writing -----------------------------------------------------------------------------

    def enqueue(
        self,
        partner_id: int,
        rows: Iterable[PushRow | Mapping[str, Any] | Sequence[Any]],
        actor: str | None = None,
    ) -> str:
        """Record ``rows`` as one batch in one transaction, before anything is sent."""
        checked = [validate_row(r) for r in rows]
        if not checked:
            raise ValueError("Nothing to push: the batch has no rows.")
        batch_id = uuid.uuid4().hex
        keys = _idempotency_keys(batch_id, len(checked))
        with self.db.write() as conn:
            # Absolute sets (the usual case) need no projection, so skip the query for them.
            needs_totals = any(r.op != "set" for r in checked)
            projected: dict[tuple[str, str], float | None] = {}
            if needs_totals:
                projected = {k: t for k, (t, _) in _totals(conn, partner_id, _EFFECTIVE).items()}
            created = _T.c.created_at.type.bind_processor(conn.dialect)(datetime.now(UTC))
            values = []
            for r, key in zip(checked, keys, strict=True):
                count = float(r.unit_count)
                expected = None
                if needs_totals:
                    pair = (r.service_id, r.account_id)
                    total = apply_op(projected.get(pair), r.op, count)
                    projected[pair] = total
                    expected = None if r.op == "set" else total
                values.append(
                    (
                        partner_id,
                        batch_id,
                        r.op,
                        r.service_id,
                        r.account_id,
                        count,
                        expected,
                        key,
                        "pending",
                        0,
                        actor,
                        created,
                    )
                )
            # One executemany of the INSERT that Core compiles for this table, fed with plain
            # tuples of values already in storage form. Executing the insert() construct with
            # dicts did the same SQL but spent ~0.5 s per 100k rows in per-row parameter
            # processing, right at the 2x-of-bare budget; this is ~1.4x, validation included.
            conn.exec_driver_sql(_insert_sql(conn), values)
        return batch_id

    def mark_sending(self, ids: Iterable[int]) -> None:
        """The sender took these rows; a crash from here on leaves their outcome unknown."""
        id_list = list(ids)
        with self.db.write() as conn:
            for i in range(0, len(id_list), _CHUNK):
                conn.execute(
                    update(_T)
                    .where(_T.c.id.in_(id_list[i : i + _CHUNK]), _T.c.state.in_(RESUMABLE))
                    .values(state="sending", attempts=_T.c.attempts + 1)
                )

    def mark_results(self, results: Iterable[tuple[int, str, str | None]]) -> None:
        """Record outcomes ``(id, state, error)`` of many rows in one transaction."""
        # The timestamp is put in storage form once, not per row, and the rows go to one
        # executemany as plain tuples: executing the update() construct with dicts spent most
        # of its time in per-row parameter processing (2x bare sqlite3 at 100k rows; ~1x now).
        now = _T.c.sent_at.type.bind_processor(self.db.engine.dialect)(datetime.now(UTC))
        params = []
        voided = []
        for row_id, state, error in results:
            if state not in _STATES:
                raise ValueError(f"Unknown outbox state {state!r}.")
            params.append((state, error, now if state == "sent" else None, row_id))
            if state in _VOIDED:
                voided.append(row_id)
        if not params:
            return
        with self.db.write() as conn:
            if self._result_sql_text is None:
                self._result_sql_text = _result_sql(conn)
            conn.exec_driver_sql(self._result_sql_text, params)
            if voided:
                self._reproject(conn, voided)

    def _reproject(self, conn: Connection, voided_ids: list[int]) -> None:
        """Recompute ``expected_total`` of queued add/subtract rows after voided rows."""
        keys: dict[int, set[tuple[str, str]]] = {}
        for i in range(0, len(voided_ids), _CHUNK):
            q = select(_T.c.partner_id, _T.c.service_id, _T.c.account_id).where(
                _T.c.id.in_(voided_ids[i : i + _CHUNK])
            )
            for p, s, a in conn.execute(q):
                keys.setdefault(p, set()).add((s, a))
        changes = []
        for partner_id, affected in keys.items():
            queued_delta = conn.execute(
                select(_T.c.id)
                .where(_T.c.partner_id == partner_id, _T.c.state.in_(RESUMABLE), _T.c.op != "set")
                .limit(1)
            ).first()
            if queued_delta is None:
                continue  # nothing projected can be stale: the common case, skip the scan
            running: dict[tuple[str, str], float | None] = {}
            q = (
                select(
                    _T.c.id,
                    _T.c.service_id,
                    _T.c.account_id,
                    _T.c.op,
                    _T.c.unit_count,
                    _T.c.state,
                    _T.c.expected_total,
                )
                .where(_T.c.partner_id == partner_id, _T.c.state.in_(_EFFECTIVE))
                .order_by(_T.c.id)
            )
            for r in conn.execute(q):
                key = (r.service_id, r.account_id)
                if key not in affected:
                    continue
                total = apply_op(running.get(key), r.op, r.unit_count)
                running[key] = total
                if r.op != "set" and r.state != "sent" and total != r.expected_total:
                    changes.append({"b_id": r.id, "b_expected": total})
        if changes:
            conn.execute(
                update(_T)
                .where(_T.c.id == bindparam("b_id"))
                .values(expected_total=bindparam("b_expected")),
                changes,
            )

    # -- reading -----------------------------------------------------------------------------

    def claim_resumable(self, partner_id: int, limit: int | None = None) -> list[OutboxItem]:
        """Rows still to send or resolve (pending, sending, unknown), oldest first."""
        q = (
            select(*_ITEM_COLUMNS)
            .where(_T.c.partner_id == partner_id, _T.c.state.in_(RESUMABLE))
            .order_by(_T.c.id)
        )
        if limit is not None:
            q = q.limit(limit)
        with self.db.read() as conn:
            return [OutboxItem(*r) for r in conn.execute(q)]

    def get(self, ids: Iterable[int]) -> list[OutboxItem]:
        id_list = list(ids)
        out: list[OutboxItem] = []
        with self.db.read() as conn:
            for i in range(0, len(id_list), _CHUNK):
                q = (
                    select(*_ITEM_COLUMNS)
                    .where(_T.c.id.in_(id_list[i : i + _CHUNK]))
                    .order_by(_T.c.id)
                )
                out.extend(OutboxItem(*r) for r in conn.execute(q))
        return out

    def history(self, partner_id: int, service_id: str, account_id: str) -> list[HistoryPoint]:
        """Every row of one (service, account), oldest first, with the acknowledged total."""
        q = (
            select(_T)
            .where(
                _T.c.partner_id == partner_id,
                _T.c.service_id == service_id,
                _T.c.account_id == account_id,
            )
            .order_by(_T.c.id)
        )
        points = []
        total: float | None = None
        with self.db.read() as conn:
            for r in conn.execute(q):
                if r.state == "sent":
                    total = apply_op(total, r.op, r.unit_count)
                points.append(
                    HistoryPoint(
                        id=r.id,
                        batch_id=r.batch_id,
                        op=r.op,
                        unit_count=r.unit_count,
                        state=r.state,
                        total=total,
                        created_at=r.created_at,
                        sent_at=r.sent_at,
                        actor=r.actor,
                        last_error=r.last_error,
                    )
                )
        return points

    def last_totals(self, partner_id: int) -> dict[tuple[str, str], tuple[float, datetime | None]]:
        """``{(service_id, account_id): (total, last acknowledged at)}`` from ``sent`` rows.

        Pairs that were only ever added to or subtracted from have no known total and are
        left out.
        """
        with self.db.read() as conn:
            return _totals(conn, partner_id, (OutboxState.SENT.value,))

    def pending_count(self, partner_id: int) -> int:
        """Rows not yet settled: pending, sending and unknown."""
        with self.db.read() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(_T)
                    .where(_T.c.partner_id == partner_id, _T.c.state.in_(RESUMABLE))
                ).scalar_one()
            )

    def counts_by_state(self, partner_id: int, batch_id: str | None = None) -> dict[str, int]:
        """``{state: rows}`` for a partner, or for one batch (progress and summaries)."""
        q = select(_T.c.state, func.count()).where(_T.c.partner_id == partner_id)
        if batch_id is not None:
            q = q.where(_T.c.batch_id == batch_id)
        with self.db.read() as conn:
            return {s: int(n) for s, n in conn.execute(q.group_by(_T.c.state))}
