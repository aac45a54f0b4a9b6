"""The outbox's hot statements, compiled once per database dialect and fed plain tuples.

A push of 100,000 rows runs the same four statements over and over (insert, claim, mark
sending, mark results). Executing SQLAlchemy constructs with dicts did the same SQL but spent
most of its time in per-row parameter and result processing (bench/ledger.py: 1.5x bare
``sqlite3``). Here Core still writes the SQL (portable to the planned PostgreSQL team store),
once; the rows go to ``exec_driver_sql`` as tuples of values already in storage form, and the
claim's rows come back as plain tuples whose two timestamps are converted by the column type's
own result processor. Each compiled statement checks its placeholder order, so a tuple can
never be bound to the wrong column.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ClauseElement,
    Column,
    ColumnClause,
    Connection,
    Dialect,
    bindparam,
    insert,
    literal_column,
    select,
    update,
)

from gradient_desktop.store.models import OutboxEntry, OutboxState, table_of
from gradient_desktop.store.outbox_rows import OutboxItem

T = table_of(OutboxEntry)
RESUMABLE = (OutboxState.PENDING.value, OutboxState.SENDING.value, OutboxState.UNKNOWN.value)
#: No LIMIT: a bound number rather than dialect-specific "no limit" syntax.
NO_LIMIT = 2**62
# SQLite builds before 3.32 allow 999 bound variables per statement.
CHUNK = 900

INSERT_FIELDS = (
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
_RESUMABLE_SQL: list[ColumnClause[Any]] = [literal_column(f"'{s}'") for s in RESUMABLE]
# OutboxItem's fields in declaration order: selecting exactly these columns lets a row be
# passed positionally (a mapping per row was over half of the claim's time).
_RAW = {"created_raw": "created_at", "sent_raw": "sent_at"}
ITEM_COLUMNS = tuple(T.c[_RAW.get(name, name)] for name in OutboxItem._fields)

_RESULT = update(T).where(T.c.id == bindparam("b_id"), T.c.state != literal_column("'sent'"))
_RESULT = _RESULT.values(
    state=bindparam("b_state"), last_error=bindparam("b_error"), sent_at=bindparam("b_sent_at")
)
_CLAIM = (
    select(*ITEM_COLUMNS)
    .where(
        T.c.partner_id == bindparam("p"),
        T.c.state.in_(_RESUMABLE_SQL),
        T.c.id > bindparam("after"),
    )
    .order_by(T.c.id)
    .limit(bindparam("n"))
)


def stored(column: Column[Any], dialect: Dialect, value: datetime) -> Any:
    """``value`` in the column's storage form (for SQLite the text the dialect writes),
    computed once for a whole batch of rows. The dialect's own type is used: the generic
    one hands a datetime to the driver, which then formats it again for every row."""
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process is not None else value


def _compiled(statement: ClauseElement, dialect: Dialect, order: Sequence[str]) -> str:
    compiled = statement.compile(dialect=dialect)
    position = tuple(getattr(compiled, "positiontup", None) or ())
    if position != tuple(order):
        raise RuntimeError(f"unexpected parameter order {position}")
    return str(compiled)


class OutboxSql:
    """The compiled statements of one dialect (built lazily, kept by the ``Outbox``)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        statement = insert(T).compile(dialect=dialect, column_keys=list(INSERT_FIELDS))
        if tuple(statement.positiontup or ()) != INSERT_FIELDS:
            raise RuntimeError(f"unexpected INSERT parameter order {statement.positiontup}")
        self.insert = str(statement)
        self.result = _compiled(_RESULT, dialect, ("b_state", "b_error", "b_sent_at", "b_id"))
        # LIMIT ? OFFSET ?: the offset is always 0.
        claim = _CLAIM.compile(dialect=dialect)
        self._claim_order = tuple(getattr(claim, "positiontup", None) or ())
        self.claim = str(claim)
        self._sending: dict[int, str] = {}

    def claim_params(self, partner_id: int, after: int, limit: int) -> tuple[Any, ...]:
        values = {"p": partner_id, "after": after, "n": limit}
        return tuple(values.get(name, 0) for name in self._claim_order)

    def sending(self, n: int) -> str:
        """``UPDATE … SET state='sending', attempts=attempts+1 WHERE id IN (n ids)`` for rows
        still resumable."""
        sql = self._sending.get(n)
        if sql is None:
            names = [f"i{k}" for k in range(n)]
            statement = (
                update(T)
                .where(T.c.id.in_([bindparam(x) for x in names]), T.c.state.in_(_RESUMABLE_SQL))
                .values(
                    state=literal_column("'sending'"), attempts=T.c.attempts + literal_column("1")
                )
            )
            sql = self._sending[n] = _compiled(statement, self.dialect, names)
        return sql

    def items(self, conn: Connection, sql: str, params: tuple[Any, ...]) -> list[OutboxItem]:
        """Rows of ``sql`` (selecting ``ITEM_COLUMNS``) as ``OutboxItem``s, as they come."""
        # Straight from a DBAPI cursor of this transaction's connection: plain tuples, no
        # Row object per row (a third of the claim's time over the bare read for 100k rows).
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql, params)
            return list(map(OutboxItem._make, cursor.fetchall()))
        finally:
            cursor.close()
