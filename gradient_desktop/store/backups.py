"""Automatic copies of the database after each push session, kept for a number of days.

Add/subtract are computed from the ledger's known totals, so the ledger is a record of truth:
losing it (a disk failure, a reinstall) must not strand a user. After each push session a copy
goes to ``<data dir>/backups/gradient-desktop-<UTC time>.sqlite3`` (SQLite's online backup, so
it is consistent while the app runs); copies older than ``keep_days`` are removed, the newest
one always kept. Restoring = copying one back in place of the database while the app is closed,
or ``gradient-desktop data import`` of an export.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from gradient_desktop.store.db import Database

log = logging.getLogger(__name__)

PREFIX = "gradient-desktop-"
SUFFIX = ".sqlite3"


def backup_dir(db: Database) -> Path:
    return db.path.parent / "backups"


def backup_after_push(db: Database, keep_days: int) -> Path | None:
    """Copy the database now and prune old copies; None (logged) when it could not be done:
    a failed backup must never fail the push that just landed."""
    folder = backup_dir(db)
    target = folder / f"{PREFIX}{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}{SUFFIX}"
    try:
        db.backup_to(target)
        prune(folder, keep_days)
    except Exception as exc:  # disk full, read-only folder...: say so, keep going
        log.warning("Could not back up the database to %s: %s", folder, exc)
        return None
    return target


def prune(folder: Path, keep_days: int) -> list[Path]:
    """Remove copies older than ``keep_days`` (never the newest); returns what was removed."""
    copies = sorted(folder.glob(f"{PREFIX}*{SUFFIX}"), key=lambda p: p.stat().st_mtime)
    cutoff = time.time() - max(keep_days, 0) * 86_400
    removed = []
    for old in copies[:-1]:
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
            removed.append(old)
    return removed
