"""Ledger: recording 100,000 pushes in SQLite through ``Outbox``, against bare ``sqlite3``.

The subject is the outbox's part of a push exactly as ``services/push.py`` drives it:
``enqueue`` (one transaction), ``list_resumable`` (the rows to send), ``mark_sending``, then
``mark_results`` flushed every 200 rows as answers arrive. The baseline issues the equivalent
SQL with the standard library's ``sqlite3`` and ``executemany``: the same schema (created by
``open_database`` in its own file), the same PRAGMAs (WAL, synchronous=NORMAL, foreign keys,
busy timeout), the same transactions and the same row values.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from gradient_desktop.counts import CountRow
from gradient_desktop.store import Outbox, open_database
from gradient_desktop.store.db import BUSY_TIMEOUT_MS
from gradient_desktop.store.models import Partner, VendorProfile

from .common import Config, Goal, Row, fmt_s, interleave, log, median

FLUSH_ROWS = 200  # services/push.py flushes results every 200 rows (or 0.25 s)
SERVICES = ("svc-server", "svc-workstation", "svc-archive")


def make_rows(n: int) -> list[CountRow]:
    return [CountRow(SERVICES[i % 3], f"acc-{i // 3:06d}", float(i % 97)) for i in range(n)]


def _new_db(folder: Path, name: str) -> tuple[Path, int]:
    """A fresh database file with the app's schema and one partner; returns (path, partner id)."""
    path = folder / f"{name}.sqlite3"
    db = open_database(path)
    try:
        with db.write_session() as s:
            vendor = VendorProfile(name="bench", base_url="http://127.0.0.1:1")
            s.add(vendor)
            s.flush()
            partner = Partner(
                name="bench", vendor_profile_id=vendor.id or 0, base_url="http://127.0.0.1:1"
            )
            s.add(partner)
            s.commit()
            return path, partner.id or 0
    finally:
        db.close()


Phases = dict[str, float]


def run_outbox(folder: Path, rows: list[CountRow], tag: str) -> Phases:
    path, partner_id = _new_db(folder, f"outbox-{tag}")
    db = open_database(path)
    try:
        outbox = Outbox(db)
        t: Phases = {}
        t0 = time.perf_counter()
        outbox.enqueue(partner_id, rows, actor="bench")
        t1 = time.perf_counter()
        items = outbox.list_resumable(partner_id)
        t2 = time.perf_counter()
        ids = [item.id for item in items]
        outbox.mark_sending(ids)
        t3 = time.perf_counter()
        for i in range(0, len(ids), FLUSH_ROWS):
            outbox.mark_results([(row_id, "sent", None) for row_id in ids[i : i + FLUSH_ROWS]])
        t4 = time.perf_counter()
        t.update(enqueue=t1 - t0, claim=t2 - t1, sending=t3 - t2, results=t4 - t3, total=t4 - t0)
        if len(ids) != len(rows):
            raise RuntimeError(f"outbox claimed {len(ids)} of {len(rows)} rows")
        return t
    finally:
        db.close()


_INSERT = (
    "INSERT INTO outbox_entry (partner_id, batch_id, op, service_id, account_id, unit_count, "
    "expected_total, idempotency_key, state, attempts, actor, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)"
)
_CLAIM = (
    "SELECT * FROM outbox_entry WHERE partner_id = ? AND state IN ('pending', 'sending', "
    "'unknown') ORDER BY id"
)
_SENDING = (
    "UPDATE outbox_entry SET state = 'sending', attempts = attempts + 1 WHERE id IN ({}) "
    "AND state IN ('pending', 'sending', 'unknown')"
)
_RESULT = (
    "UPDATE outbox_entry SET state = ?, last_error = ?, sent_at = ? WHERE id = ? "
    "AND state != 'sent'"
)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)  # explicit BEGIN/COMMIT, as the store
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _txn(conn: sqlite3.Connection, work: Callable[[], object]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        work()
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def run_bare(folder: Path, rows: list[CountRow], tag: str) -> Phases:
    path, partner_id = _new_db(folder, f"bare-{tag}")
    conn = _connect(path)
    try:
        t: Phases = {}
        t0 = time.perf_counter()
        batch = "0123456789abcdef0123456789abcdef"
        created = str(datetime.now(UTC).replace(tzinfo=None))
        params = [
            (
                partner_id,
                batch,
                r.op,
                r.service_id,
                r.account_id,
                float(r.unit_count),
                None,
                f"{batch}-{i:08x}",
                "bench",
                created,
            )
            for i, r in enumerate(rows)
        ]
        _txn(conn, lambda: conn.executemany(_INSERT, params))
        t1 = time.perf_counter()
        conn.execute("BEGIN")
        claimed = conn.execute(_CLAIM, (partner_id,)).fetchall()
        conn.execute("COMMIT")
        t2 = time.perf_counter()
        ids = [r[0] for r in claimed]

        def sending() -> None:
            for i in range(0, len(ids), 900):
                chunk = ids[i : i + 900]
                conn.execute(_SENDING.format(", ".join("?" * len(chunk))), chunk)

        _txn(conn, sending)
        t3 = time.perf_counter()
        for i in range(0, len(ids), FLUSH_ROWS):
            now = str(datetime.now(UTC).replace(tzinfo=None))
            chunk = [("sent", None, now, row_id) for row_id in ids[i : i + FLUSH_ROWS]]
            _txn(conn, lambda chunk=chunk: conn.executemany(_RESULT, chunk))
        t4 = time.perf_counter()
        t.update(enqueue=t1 - t0, claim=t2 - t1, sending=t3 - t2, results=t4 - t3, total=t4 - t0)
        if len(ids) != len(rows):
            raise RuntimeError(f"bare claim saw {len(ids)} of {len(rows)} rows")
        return t
    finally:
        conn.close()


def bench(cfg: Config) -> list[Row]:
    n = cfg.pick(100_000, 20_000)
    reps = cfg.cheap_reps()
    rows = make_rows(n)
    log(f"ledger: {reps}× {n} rows, Outbox vs bare sqlite3")
    with tempfile.TemporaryDirectory(prefix="gradient-bench-ledger-") as tmp:
        folder = Path(tmp)
        run_outbox(folder, rows[:1000], "warm")  # imports, statement caches
        run_bare(folder, rows[:1000], "warm")
        bare, ours = interleave(
            lambda i: run_bare(folder, rows, str(i)),
            lambda i: run_outbox(folder, rows, str(i)),
            reps,
        )
    phases = ("enqueue", "claim", "sending", "results")
    t_ours = median([p["total"] for p in ours])
    t_bare = median([p["total"] for p in bare])
    split = ", ".join(
        f"{ph} {median([p[ph] for p in ours]) / median([p[ph] for p in bare]):.2f}×"
        for ph in phases
    )
    return [
        Row(
            f"ledger {n} pushes",
            fmt_s(t_ours),
            f"{fmt_s(t_bare)} (bare sqlite3)",
            t_ours / t_bare,
            Goal("<=", 1.2),
            note=(
                f"enqueue + claim + mark_sending + mark_results every {FLUSH_ROWS} rows, as "
                f"services/push.py; per phase vs bare: {split}; median of {reps}"
            ),
            data={"ours": ours, "bare": bare},
        )
    ]
