"""The outbox: every unit-count write is recorded here before it is sent, and the rows stay as
the ledger (history, last acknowledged totals) afterwards. The sending itself is done by the
push service; this module only persists.

Exactly-once with nothing but the documented absolute set
---------------------------------------------------------
Gradient documents one count write, the absolute ``set``; no public source says it honours an
``Idempotency-Key`` or has add/subtract routes (vendor-api.md §13). So correctness rests on
this alone:

1. At ``enqueue`` every ``add``/``subtract`` is turned into the absolute total it must produce,
   ``expected_total``: the last total of that (service, account) - acknowledged, or projected
   by rows still queued before it - plus or minus the amount, floored at 0 as Gradient floors
   it. A cell with no known total is refused (``UnknownTotalError``) unless the partner
   allows the legacy routes. The total is fixed once, in order per cell; a re-sent row
   re-sends the same absolute total and can never apply its delta twice.
2. The sender sends ``OutboxItem.absolute`` (services/wire.py) with POST ``/count``. A row
   whose answer was not read (``sending`` after a crash, ``unknown``) is simply sent again.
3. When an earlier row ends ``failed``, ``unmapped`` or ``cancelled`` (the server total did
   not change), the totals of queued rows after it are recomputed.

Each row still gets an idempotency key (``<batch>-<position>``), sent as a courtesy; nothing
depends on the server honouring it.

Contract for the sender: rows of one (service, account) are sent one at a time in ``id``
order (``list_resumable`` returns them oldest first); ``failed`` is only for a definite
rejection, anything ambiguous is ``unknown``. The known total of a cell is the absolute total
of its latest ``sent`` row. A ``sent`` row is final: later results for it are ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from gradient_desktop.counts import CountRow, Op, apply_op, clamped
from gradient_desktop.store.db import Database
from gradient_desktop.store.models import OutboxState, PushedSource, table_of
from gradient_desktop.store.outbox_rows import (
    EnqueueResult,
    HistoryPoint,
    OutboxItem,
    UnknownTotalError,
    as_row,
)
from gradient_desktop.store.outbox_sql import (
    CHUNK,
    ITEM_COLUMNS,
    NO_LIMIT,
    RESUMABLE,
    OutboxSql,
    stored,
)
from gradient_desktop.store.outbox_sql import T as _T

_S = table_of(PushedSource)
# An enum's .value is a descriptor call; 100k of them were 5% of an enqueue.
_OP_TEXT = {o: o.value for o in Op}
_STATES = frozenset(s.value for s in OutboxState)
# Rows whose effect is (or will be) on the server; the others changed nothing.
_EFFECTIVE = (OutboxState.SENT.value, *RESUMABLE)
_VOIDED = frozenset(
    {OutboxState.FAILED.value, OutboxState.UNMAPPED.value, OutboxState.CANCELLED.value}
)


def _idempotency_keys(batch_id: str, start: int, n: int) -> list[str]:
    """``n`` keys unique for all time: the batch's 128 random bits plus the row's position
    (from ``start``: a streamed batch is written in parts).

    Sequential within a batch, so the unique index takes them as an append rather than as
    100k random B-tree inserts (about 30% of the insert time) - and no uuid4() per row.
    """
    return [f"{batch_id}-{i:08x}" for i in range(start, start + n)]


def new_batch_id() -> str:
    """128 random bits: the batch part of every row key of one enqueue."""
    return uuid.uuid4().hex


def _source_batch(conn: Connection, partner_id: int, source: str) -> str | None:
    row = conn.execute(
        select(_S.c.batch_id)
        .where(_S.c.partner_id == partner_id, _S.c.digest == source)
        .order_by(_S.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else str(row.batch_id)


def _totals(
    conn: Connection, partner_id: int, states: Iterable[str]
) -> dict[tuple[str, str], tuple[float, datetime | None]]:
    """Each cell's total after its latest row in ``states``: that row's absolute total.

    Cells whose latest row has no absolute total (a legacy delta on an unknown base) are left
    out: their total is not known. Portable SQL (a grouped max id joined back).
    """
    latest = (
        select(func.max(_T.c.id).label("id"))
        .where(_T.c.partner_id == partner_id, _T.c.state.in_(list(states)))
        .group_by(_T.c.service_id, _T.c.account_id)
        .subquery()
    )
    q = select(
        _T.c.service_id,
        _T.c.account_id,
        _T.c.op,
        _T.c.unit_count,
        _T.c.expected_total,
        _T.c.sent_at,
    ).join(latest, latest.c.id == _T.c.id)
    out: dict[tuple[str, str], tuple[float, datetime | None]] = {}
    for r in conn.execute(q):
        total = r.unit_count if r.op == Op.SET else r.expected_total
        if total is not None:
            out[(r.service_id, r.account_id)] = (float(total), r.sent_at)
    return out


class Outbox:
    """Persistence of unit-count pushes for all partners of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._sql: OutboxSql | None = None  # compiled on first use

    @property
    def sql(self) -> OutboxSql:
        if self._sql is None:
            self._sql = OutboxSql(self.db.engine.dialect)
        return self._sql

    # -- writing -----------------------------------------------------------------------------

    def enqueue(
        self,
        partner_id: int,
        rows: Iterable[CountRow | Mapping[str, Any] | Sequence[Any]],
        actor: str | None = None,
        *,
        legacy_deltas: bool = False,
        source: str | None = None,
        source_label: str | None = None,
        batch_id: str | None = None,
        start: int = 0,
    ) -> EnqueueResult:
        """Record ``rows`` as one batch in one transaction, before anything is sent.

        Add/subtract rows are resolved to absolute totals here (module docstring); a cell with
        no known total raises ``UnknownTotalError`` unless ``legacy_deltas`` (then the row
        keeps ``expected_total`` None and must go out as a legacy delta). ``source`` (e.g. the
        SHA-256 of a file) makes the enqueue happen once: when that source was already queued
        for this partner, nothing is written and the earlier batch is returned (``repeat``).

        A streamed file is written in parts: ``batch_id`` (from ``source_progress`` or a new
        ``new_batch_id()``) and ``start``, the position of the part's first row in the batch,
        continue that batch; its ``source`` is recorded with the first part, in the same
        transaction, so a run killed between parts resumes at the first row not yet queued.
        """
        checked = [as_row(r) for r in rows]
        if not checked:
            raise ValueError("Nothing to push: the batch has no rows.")
        part = batch_id is not None
        batch = batch_id if batch_id is not None else new_batch_id()
        keys = _idempotency_keys(batch, start, len(checked))
        sql = self.sql
        with self.db.write() as conn:
            earlier = _source_batch(conn, partner_id, source) if source is not None else None
            if earlier is not None and not part:
                return EnqueueResult(earlier, 0, repeat=True)
            # Absolute sets (the usual case) need no projection, so skip the query for them.
            needs_totals = any(r.op != Op.SET for r in checked)
            projected: dict[tuple[str, str], float | None] = {}
            if needs_totals:
                projected = {k: t for k, (t, _) in _totals(conn, partner_id, _EFFECTIVE).items()}
            created = stored(_T.c.created_at, sql.dialect, datetime.now(UTC))
            values = []
            unknown: list[tuple[str, str]] = []
            floored: list[tuple[str, str, float]] = []
            for r, key in zip(checked, keys, strict=True):
                count = r.unit_count
                expected = None
                if needs_totals:
                    pair = r.cell
                    before = projected.get(pair)
                    if r.op != Op.SET and before is None and not legacy_deltas:
                        unknown.append(pair)
                    if clamped(before, r.op, count):
                        floored.append((r.service_id, r.account_id, count - (before or 0.0)))
                    total = apply_op(before, r.op, count)
                    projected[pair] = total
                    expected = None if r.op == Op.SET else total
                values.append(
                    (
                        partner_id,
                        batch,
                        _OP_TEXT[r.op],
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
            if unknown:
                raise UnknownTotalError(unknown)
            # One executemany of the INSERT that Core compiled for this table, fed with plain
            # tuples of values already in storage form (store/outbox_sql.py).
            conn.exec_driver_sql(sql.insert, values)
            if source is not None and earlier is None:
                conn.execute(
                    insert(_S).values(
                        partner_id=partner_id,
                        digest=source,
                        batch_id=batch,
                        label=source_label,
                        created_at=datetime.now(UTC),
                    )
                )
        return EnqueueResult(batch, len(values), floored=floored)

    def source_progress(self, partner_id: int, source: str) -> tuple[str, int] | None:
        """``(batch_id, rows queued)`` of the latest batch queued from ``source`` for this
        partner (a streamed file may have been cut off between parts), or None."""
        with self.db.read() as conn:
            batch = _source_batch(conn, partner_id, source)
            if batch is None:
                return None
            rows = conn.execute(
                select(func.count()).select_from(_T).where(_T.c.batch_id == batch)
            ).scalar_one()
        return batch, int(rows)

    def record_known_totals(
        self, partner_id: int, rows: Iterable[CountRow], actor: str = "imported current totals"
    ) -> str:
        """Seed the ledger with totals Gradient already holds (nothing is sent): each row is
        stored as an acknowledged ``set``, so add/subtract on those cells work from it."""
        checked = [as_row(r) for r in rows]
        if not checked or any(r.op != Op.SET for r in checked):
            raise ValueError("Current totals are absolute counts: every row must be a set.")
        batch_id = uuid.uuid4().hex
        now = datetime.now(UTC)
        keys = _idempotency_keys(batch_id, 0, len(checked))
        with self.db.write() as conn:
            conn.execute(
                insert(_T),
                [
                    {
                        "partner_id": partner_id,
                        "batch_id": batch_id,
                        "op": Op.SET.value,
                        "service_id": r.service_id,
                        "account_id": r.account_id,
                        "unit_count": r.unit_count,
                        "idempotency_key": key,
                        "state": OutboxState.SENT.value,
                        "attempts": 0,
                        "actor": actor,
                        "created_at": now,
                        "sent_at": now,
                    }
                    for r, key in zip(checked, keys, strict=True)
                ],
            )
        return batch_id

    def mark_sending(self, ids: Iterable[int]) -> None:
        """The sender took these rows; a crash from here on leaves their outcome unknown."""
        id_list = list(ids)
        sql = self.sql
        with self.db.write() as conn:
            for i in range(0, len(id_list), CHUNK):
                chunk = tuple(id_list[i : i + CHUNK])
                conn.exec_driver_sql(sql.sending(len(chunk)), chunk)

    def mark_results(self, results: Iterable[tuple[int, str, str | None]]) -> None:
        """Record outcomes ``(id, state, error)`` of many rows in one transaction."""
        # The timestamp is put in storage form once, not per row, and the rows go to one
        # executemany as plain tuples: executing the update() construct with dicts spent most
        # of its time in per-row parameter processing (2x bare sqlite3 at 100k rows; ~1x now).
        sql = self.sql
        now = stored(_T.c.sent_at, sql.dialect, datetime.now(UTC))
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
            conn.exec_driver_sql(sql.result, params)
            if voided:
                self._reproject(conn, voided)

    def _reproject(self, conn: Connection, voided_ids: list[int]) -> None:
        """Recompute ``expected_total`` of queued add/subtract rows after voided rows."""
        keys: dict[int, set[tuple[str, str]]] = {}
        for i in range(0, len(voided_ids), CHUNK):
            q = select(_T.c.partner_id, _T.c.service_id, _T.c.account_id).where(
                _T.c.id.in_(voided_ids[i : i + CHUNK])
            )
            for p, s, a in conn.execute(q):
                keys.setdefault(p, set()).add((s, a))
        changes = []
        for partner_id, affected in keys.items():
            queued_delta = conn.execute(
                select(_T.c.id)
                .where(_T.c.partner_id == partner_id, _T.c.state.in_(RESUMABLE), _T.c.op != Op.SET)
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
                if r.state == "sent" and (r.op == Op.SET or r.expected_total is not None):
                    total = r.unit_count if r.op == Op.SET else r.expected_total
                else:
                    total = apply_op(running.get(key), r.op, r.unit_count)
                running[key] = total
                if r.op != Op.SET and r.state != "sent" and total != r.expected_total:
                    changes.append({"b_id": r.id, "b_expected": total})
        if changes:
            conn.execute(
                update(_T)
                .where(_T.c.id == bindparam("b_id"))
                .values(expected_total=bindparam("b_expected")),
                changes,
            )

    # -- reading -----------------------------------------------------------------------------

    def list_resumable(
        self, partner_id: int, limit: int | None = None, *, after: int = 0
    ) -> list[OutboxItem]:
        """Rows still to send or resolve (pending, sending, unknown), oldest first; with
        ``after``, only rows whose id is above it (the sender's next window).

        A read only: nothing is claimed or locked; the sender marks the rows it sends."""
        sql = self.sql
        params = sql.claim_params(partner_id, after, NO_LIMIT if limit is None else limit)
        with self.db.read() as conn:
            return sql.items(conn, sql.claim, params)

    def get(self, ids: Iterable[int]) -> list[OutboxItem]:
        id_list = list(ids)
        out: list[OutboxItem] = []
        with self.db.read() as conn:
            for i in range(0, len(id_list), CHUNK):
                q = (
                    select(*ITEM_COLUMNS)
                    .where(_T.c.id.in_(id_list[i : i + CHUNK]))
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
                    absolute = r.unit_count if r.op == Op.SET else r.expected_total
                    total = (
                        absolute if absolute is not None else apply_op(total, r.op, r.unit_count)
                    )
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

    def latest_states(self, partner_id: int) -> dict[tuple[str, str], tuple[str, str | None]]:
        """``{(service_id, account_id): (state, last_error)}`` of each cell's newest row."""
        latest = (
            select(func.max(_T.c.id).label("id"))
            .where(_T.c.partner_id == partner_id)
            .group_by(_T.c.service_id, _T.c.account_id)
            .subquery()
        )
        q = select(_T.c.service_id, _T.c.account_id, _T.c.state, _T.c.last_error).join(
            latest, latest.c.id == _T.c.id
        )
        with self.db.read() as conn:
            return {(r.service_id, r.account_id): (r.state, r.last_error) for r in conn.execute(q)}

    def is_latest(self, partner_id: int, row_id: int, service_id: str, account_id: str) -> bool:
        """Whether row ``row_id`` is the newest row of its cell (nothing queued after it)."""
        q = (
            select(_T.c.id)
            .where(
                _T.c.partner_id == partner_id,
                _T.c.service_id == service_id,
                _T.c.account_id == account_id,
                _T.c.id > row_id,
            )
            .limit(1)
        )
        with self.db.read() as conn:
            return conn.execute(q).first() is None

    def queued_by(self, partner_id: int, token: str) -> bool:
        """Whether a row whose ``actor`` ends with ``token`` exists (a commit that landed)."""
        q = (
            select(_T.c.id)
            .where(_T.c.partner_id == partner_id, _T.c.actor.endswith(token, autoescape=True))
            .limit(1)
        )
        with self.db.read() as conn:
            return conn.execute(q).first() is not None

    def pending_count(self, partner_id: int, *, after: int = 0) -> int:
        """Rows not yet settled: pending, sending and unknown (with an id above ``after``)."""
        with self.db.read() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(_T)
                    .where(
                        _T.c.partner_id == partner_id,
                        _T.c.state.in_(RESUMABLE),
                        _T.c.id > after,
                    )
                ).scalar_one()
            )

    def counts_by_state(self, partner_id: int, batch_id: str | None = None) -> dict[str, int]:
        """``{state: rows}`` for a partner, or for one batch (progress and summaries)."""
        q = select(_T.c.state, func.count()).where(_T.c.partner_id == partner_id)
        if batch_id is not None:
            q = q.where(_T.c.batch_id == batch_id)
        with self.db.read() as conn:
            return {s: int(n) for s, n in conn.execute(q.group_by(_T.c.state))}
