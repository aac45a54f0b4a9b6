"""Export and import of everything the app knows, as one versioned JSON document.

What travels: vendor profiles, partners, their accounts, clients, mappings and services, the
count options, the outbox/ledger (so add/subtract continue from the known totals on a new
machine) and the record of pushed files; staged edits come along from the data folder. What
never travels: keys (they are only ever in the OS keyring; a partner imported on a new machine
asks for its key again). The format carries ``format``; an import refuses a newer one.

Portable SQL only (SQLAlchemy Core over the table definitions), so a PostgreSQL store can use
the same code.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Table, func, insert, select

from gradient_desktop.store.db import Database
from gradient_desktop.store.models import TABLES, Meta, table_of

#: Bump when the document's shape changes; imports refuse anything newer.
FORMAT = 1
KIND = "gradient-desktop export"
_META = table_of(Meta)


class TransferError(ValueError):
    """The document cannot be imported; the message says why and what to do."""


def _tables() -> list[Table]:
    # TABLES is in dependency order (parents first); meta is the target's own business.
    return [t for t in TABLES if t is not _META]


def _is_time(column: Any) -> bool:
    t = column.type
    return isinstance(t, DateTime) or isinstance(getattr(t, "impl", None), DateTime)


def export_data(db: Database, staged: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole database (but ``meta``) as a JSON-ready document."""
    doc: dict[str, Any] = {"kind": KIND, "format": FORMAT, "tables": {}, "staged": staged or {}}
    with db.read() as conn:
        for table in _tables():
            rows = []
            for r in conn.execute(select(table).order_by(*table.primary_key.columns)):
                row = dict(r._mapping)
                for c in table.columns:
                    if _is_time(c) and row[c.name] is not None:
                        row[c.name] = row[c.name].isoformat()
                rows.append(row)
            doc["tables"][table.name] = rows
    return doc


def write_export(db: Database, path: Path, staged: dict[str, Any] | None = None) -> dict[str, int]:
    doc = export_data(db, staged)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    partial.replace(path)
    return {name: len(rows) for name, rows in doc["tables"].items()}


def read_export(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TransferError(f"{path} is not a readable Gradient Desktop export ({exc}).") from None
    if (
        not isinstance(doc, dict)
        or doc.get("kind") != KIND
        or not isinstance(doc.get("tables"), dict)
    ):
        raise TransferError(f"{path} is not a Gradient Desktop export.")
    fmt = doc.get("format")
    if not isinstance(fmt, int) or fmt > FORMAT:
        raise TransferError(
            f"{path} was exported by a newer version of Gradient Desktop (format {fmt}; this "
            f"version reads format {FORMAT}). Update Gradient Desktop, then import it."
        )
    return doc


def import_data(db: Database, doc: dict[str, Any]) -> dict[str, int]:
    """Insert every row of ``doc`` into an empty database (ids kept, so the ledger's order and
    links survive); one transaction: all or nothing."""
    tables = _tables()
    with db.write() as conn:
        for table in tables:
            if conn.execute(select(func.count()).select_from(table)).scalar_one():
                raise TransferError(
                    "This data folder already has partners or counts: import into a fresh data "
                    "folder (or export this one first and start over)."
                )
        counts = {}
        for table in tables:
            rows = doc["tables"].get(table.name, [])
            if not isinstance(rows, list):
                raise TransferError(f"The export's {table.name} is not a list of rows.")
            known = {c.name for c in table.columns}
            clean = []
            for row in rows:
                if not isinstance(row, dict):
                    raise TransferError(f"A row of {table.name} is not an object.")
                out = {k: v for k, v in row.items() if k in known}
                for c in table.columns:
                    if _is_time(c) and isinstance(out.get(c.name), str):
                        out[c.name] = datetime.fromisoformat(out[c.name])
                clean.append(out)
            if clean:
                conn.execute(insert(table), clean)
            counts[table.name] = len(clean)
    return counts
