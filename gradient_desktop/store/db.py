"""The SQLite database file: engine and PRAGMAs, schema version, and what to do with a bad file.

Every connection gets WAL, ``synchronous=NORMAL`` (durable at checkpoints, ~6x the commit rate
of FULL here, see PITFALLS.md), foreign keys and a 5 s busy timeout. Before use, an existing
file is checked (SQLite header, ``PRAGMA integrity_check``, schema version); a damaged file,
a non-database, another program's database or one from a newer app version is *copied* to
``<name>.bak-<timestamp>`` and ``DatabaseProblem`` raised. The caller may then call
``open_database(path, start_fresh=True)``, which moves the old file aside and starts empty.

Transactions: SQLAlchemy emits BEGIN itself (pysqlite's implicit BEGIN skips SELECTs, see the
SQLAlchemy SQLite docs). ``Database.write()`` / ``write_session()`` use ``BEGIN IMMEDIATE`` so a
read-modify-write takes the write lock up front: in WAL a deferred transaction that reads and
then writes after another connection committed fails with SQLITE_BUSY, busy timeout or not.
"""

from __future__ import annotations

import filecmp
import logging
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.engine import URL
from sqlmodel import Session, SQLModel, col

from gradient_desktop.store.errors import AlreadyRunning, DatabaseProblem, StoreError
from gradient_desktop.store.lock import InstanceLock
from gradient_desktop.store.models import TABLES, Meta, table_of

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "AlreadyRunning",
    "Database",
    "DatabaseProblem",
    "InstanceLock",
    "StoreError",
    "database_exists",
    "open_database",
]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 5000
_SQLITE_HEADER = b"SQLite format 3\x00"
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26

# from_version -> function upgrading a connection (inside the open transaction) by one step.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}


class Database:
    """An open database file. Thread-safe: each session/connection checks out its own link."""

    def __init__(self, path: Path, engine: Engine) -> None:
        self.path = path
        self.engine = engine
        self._write_engine = engine.execution_options(sqlite_begin="IMMEDIATE")

    def session(self) -> Session:
        """An ORM session for reads (and simple writes). Objects stay usable after commit."""
        return Session(self.engine, expire_on_commit=False)

    def write_session(self) -> Session:
        """An ORM session whose transactions start with BEGIN IMMEDIATE (read-modify-write)."""
        return Session(self._write_engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A Core connection in one (deferred) transaction: a consistent snapshot."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A Core connection in one BEGIN IMMEDIATE transaction, committed on success."""
        with self._write_engine.begin() as conn:
            yield conn

    def schema_version(self) -> int:
        with self.read() as conn:
            return _read_version(conn) or 0

    def integrity_check(self) -> list[str]:
        """``["ok"]`` for a healthy file, else SQLite's list of problems."""
        with self.engine.connect() as conn:
            return [row[0] for row in conn.exec_driver_sql("PRAGMA integrity_check")]

    def journal_mode(self) -> str:
        with self.engine.connect() as conn:
            return str(conn.exec_driver_sql("PRAGMA journal_mode").scalar())

    def backup_to(self, target: Path) -> None:
        """A consistent copy of the live database at ``target`` (SQLite's online backup API:
        safe while other connections read and write). Written to a temporary name first."""
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        raw = self.engine.raw_connection()
        try:
            dest = sqlite3.connect(partial)
            try:
                raw.driver_connection.backup(dest)  # type: ignore[union-attr]
            finally:
                dest.close()
        finally:
            raw.close()
        partial.replace(target)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_database(path: Path | str, *, start_fresh: bool = False) -> Database:
    """Open (creating if needed) the database at ``path``; see the module docstring."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if start_fresh:
        _set_aside(path)
    else:
        _inspect(path)
    engine = _make_engine(path)
    try:
        _ensure_schema(engine, path)
    except BaseException:
        engine.dispose()
        raise
    db = Database(path, engine)
    mode = db.journal_mode()
    if mode.lower() != "wal":  # e.g. some network filesystems refuse WAL
        log.warning("SQLite refused WAL for %s (journal_mode=%s)", path, mode)
    return db


# -- engine ----------------------------------------------------------------------------------


def _make_engine(path: Path) -> Engine:
    url = URL.create("sqlite", database=str(path))
    # check_same_thread off: pooled connections move between the UI thread and workers, but a
    # connection is only ever used by one thread at a time (the pool guarantees that).
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    # Hand transaction control to SQLAlchemy (see _on_begin); PRAGMAs then run outside any
    # transaction, which journal_mode requires.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # first: the others may wait
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
    finally:
        cur.close()


def _on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


# -- schema ----------------------------------------------------------------------------------


def _read_version(conn: Connection) -> int | None:
    has_meta = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
    ).first()
    if not has_meta:
        return None
    value = conn.execute(select(col(Meta.value)).where(col(Meta.key) == "schema_version")).scalar()
    return int(value) if value is not None else None


def _ensure_schema(engine: Engine, path: Path) -> None:
    with engine.execution_options(sqlite_begin="IMMEDIATE").begin() as conn:
        version = _read_version(conn)
        if version is not None and version > SCHEMA_VERSION:
            # Checked again here in case another program wrote the file since _inspect.
            raise _problem(path, "newer_schema", f"schema {version}")
        # Only our own tables: other packages may declare SQLModel tables of their own.
        SQLModel.metadata.create_all(conn, tables=TABLES)
        if version is None:
            conn.execute(
                table_of(Meta).insert().values(key="schema_version", value=str(SCHEMA_VERSION))
            )
            return
        while version < SCHEMA_VERSION:
            step = MIGRATIONS.get(version)
            if step is None:
                raise _problem(path, "corrupt", f"no upgrade path from schema {version}")
            step(conn)
            version += 1
            conn.execute(
                table_of(Meta)
                .update()
                .where(table_of(Meta).c.key == "schema_version")
                .values(value=str(version))
            )


# -- checking and setting aside --------------------------------------------------------------


def _inspect(path: Path) -> None:
    """Raise DatabaseProblem (after copying the file aside) unless ``path`` is usable."""
    if not path.exists() or path.stat().st_size == 0:
        return  # a new database; an empty file is a valid empty SQLite database
    with path.open("rb") as fh:
        header = fh.read(len(_SQLITE_HEADER))
    if header != _SQLITE_HEADER:
        raise _problem(path, "not_sqlite", "", backup=True)
    try:
        # Read-only: inspecting must not change the file (a read-write close would checkpoint
        # the WAL into it, after the backup was taken).
        uri = f"{path.resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise _problem(path, "unreadable", str(exc)) from exc
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        if rows != ["ok"]:
            raise _problem(path, "corrupt", "; ".join(rows[:3]), backup=True)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            return
        if "meta" not in tables:
            raise _problem(path, "foreign", "", backup=True)
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        try:
            version = int(row[0]) if row else None
        except (TypeError, ValueError):
            version = None
        if version is None:
            raise _problem(path, "corrupt", "no schema version recorded", backup=True)
        if version > SCHEMA_VERSION:
            raise _problem(path, "newer_schema", f"schema {version}", backup=True)
    except sqlite3.DatabaseError as exc:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        damaged = code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in str(exc)
        if damaged:
            raise _problem(path, "corrupt", str(exc), backup=True) from exc
        raise _problem(path, "unreadable", str(exc)) from exc
    finally:
        conn.close()


def _problem(path: Path, reason: str, detail: str, *, backup: bool = False) -> DatabaseProblem:
    # A file already copied aside unchanged (the same damaged database met on every run) is
    # not copied again: one copy per distinct content, not one per start.
    backup_path = (_identical_backup(path) or _backup(path)) if backup else None
    saved = f" A copy was saved as {backup_path}." if backup_path else " Nothing was changed."
    fresh = (
        " You can start with a fresh database: your keys stay in the system keyring and "
        "partners, clients and mappings can be fetched again from Gradient; the local push "
        "history starts over."
    )
    if reason == "newer_schema":
        text_ = (
            f"The database {path} was written by a newer version of Gradient Desktop "
            f"({detail}; this version understands schema {SCHEMA_VERSION}). Update Gradient "
            f"Desktop to keep using it.{saved}{fresh}"
        )
    elif reason == "not_sqlite":
        text_ = f"The file {path} is not a Gradient Desktop database (not SQLite).{saved}{fresh}"
    elif reason == "foreign":
        text_ = (
            f"The file {path} is an SQLite database of another program, not Gradient "
            f"Desktop.{saved}{fresh}"
        )
    elif reason == "corrupt":
        text_ = f"The database {path} is damaged ({detail}).{saved}{fresh}"
    else:
        text_ = (
            f"The database {path} could not be opened ({detail}). Check that the folder is "
            f"writable and not on a disconnected drive.{saved}"
        )
    return DatabaseProblem(text_, path=path, reason=reason, backup_path=backup_path)


def _companions(path: Path) -> list[tuple[Path, str]]:
    # SQLite names its WAL "<file>-wal", so a backup's WAL copied next to it as
    # "<backup>-wal" is picked up automatically when someone opens the backup.
    return [(path.with_name(path.name + s), s) for s in ("-wal", "-shm")]


def _backup_name(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.bak-{stamp}")
    n = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bak-{stamp}-{n}")
        n += 1
    return candidate


def _backup(path: Path) -> Path:
    target = _backup_name(path)
    shutil.copy2(path, target)
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        shutil.copy2(wal, target.with_name(target.name + "-wal"))
    log.warning("Copied problem database %s to %s", path, target)
    return target


def _same_content(a: Path, b: Path) -> bool:
    # A missing WAL and an empty one mean the same thing (a read-only open leaves an empty one).
    a_empty = not a.exists() or a.stat().st_size == 0
    b_empty = not b.exists() or b.stat().st_size == 0
    if a_empty or b_empty:
        return a_empty == b_empty
    return filecmp.cmp(a, b, shallow=False)


def _identical_backup(path: Path) -> Path | None:
    """The backup holding this exact file (and its WAL), if a DatabaseProblem made one."""
    wal = path.with_name(path.name + "-wal")
    for backup in sorted(path.parent.glob(f"{path.name}.bak-*")):
        if backup.name.endswith(("-wal", "-shm")):
            continue
        if _same_content(path, backup) and _same_content(
            wal, backup.with_name(backup.name + "-wal")
        ):
            return backup
    return None


def _has_identical_backup(path: Path) -> bool:
    """True when a DatabaseProblem just copied this exact file (and its WAL) aside."""
    return _identical_backup(path) is not None


def _set_aside(path: Path) -> None:
    """Clear ``path`` for a new database without losing the old one."""
    if not path.exists():
        for companion, _ in _companions(path):
            companion.unlink(missing_ok=True)
        return
    if _has_identical_backup(path):
        path.unlink()
        for companion, _ in _companions(path):
            companion.unlink(missing_ok=True)
        log.warning("Started a fresh database at %s (old one already backed up)", path)
        return
    target = _backup_name(path)
    path.rename(target)
    for companion, suffix in _companions(path):
        if companion.exists():
            if suffix == "-shm":
                companion.unlink()  # shared-memory index, rebuilt from the WAL on open
            else:
                companion.rename(target.with_name(target.name + suffix))
    log.warning("Started a fresh database at %s; the old one is now %s", path, target)


def database_exists(path: Path | str) -> bool:
    """True when a non-empty database file is at ``path`` (first-run detection)."""
    p = Path(path)
    return p.exists() and p.stat().st_size > 0
