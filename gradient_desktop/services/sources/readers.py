"""Reading raw records from a usage source: a file (CSV, JSON, XLSX; a fixed path or the newest
match in a folder), a read-only SQL query, or a paged HTTP JSON endpoint.

Every reader returns ``[(row number, {field: value})]`` or raises ``SourceError`` naming the
source: a sync never pushes from a source it could not read whole.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from gradient_desktop.services import csvio
from gradient_desktop.services.sources.config import (
    SourceConfig,
    SourceError,
    redact_url,
    store_secret_advice,
)

Record = tuple[int, dict[str, Any]]
#: A file is read once it has not changed for this long (an export may still be writing it),
#: waiting at most ``_ATTEMPTS`` times.
_SETTLE_S = 0.5
_ATTEMPTS = 6
_MAX_PAGES = 10_000


async def read_records(config: SourceConfig, secret: str | None = None) -> list[Record]:
    if config.kind == "file":
        return await asyncio.to_thread(read_file, config)
    if config.kind == "sql":
        return await asyncio.to_thread(read_sql, config, secret)
    return await read_http(config, secret)


# -- files ------------------------------------------------------------------------------------


def resolve_path(config: SourceConfig) -> Path:
    """The file to read: the configured file, or the newest match in the configured folder."""
    path = Path(config.path).expanduser()
    if path.is_dir():
        matches = [p for p in path.glob(config.pattern or "*") if p.is_file()]
        if not matches:
            raise SourceError(config.name, f"no file matching {config.pattern or '*'!r} in {path}.")
        return max(matches, key=lambda p: p.stat().st_mtime_ns)
    if not path.exists():
        raise SourceError(config.name, f"the file {path} does not exist.")
    return path


def _stable_bytes(config: SourceConfig, path: Path) -> bytes:
    """The file's bytes, read only once it has been quiet for ``_SETTLE_S`` (an export may be
    writing it right now) and unchanged across the read; refused if it never settles."""
    for _ in range(_ATTEMPTS):
        try:
            before = path.stat()
            age = time.time() - before.st_mtime
            if age < _SETTLE_S:
                time.sleep(min(_SETTLE_S - age, _SETTLE_S))  # capped: a clock ahead of ours
                continue
            data = path.read_bytes()
            after = path.stat()
        except OSError as exc:
            raise SourceError(config.name, f"cannot read {path}: {exc.strerror or exc}.") from None
        same = (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns)
        if same and len(data) == after.st_size:
            return data
    raise SourceError(
        config.name,
        f"{path} kept changing while it was read (is an export still writing it?); "
        "the next sync tries again.",
    )


def read_file(config: SourceConfig) -> list[Record]:
    path = resolve_path(config)
    data = _stable_bytes(config, path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            return _xlsx(data, config.sheet)
        if suffix == ".json":
            return _records_at(json.loads(csvio.decode_bytes(data)), config.records_path)
        return _csv(csvio.decode_bytes(data))
    except SourceError as exc:
        raise SourceError(config.name, f"{path.name}: {exc.reason}") from None
    except (ValueError, KeyError, OSError) as exc:
        raise SourceError(config.name, f"{path.name} cannot be read: {exc}.") from None


def _csv(text: str) -> list[Record]:
    first = text.splitlines()[0] if text else ""
    delimiter = max((",", ";", "\t"), key=first.count) if first else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    out = []
    for row in reader:
        out.append((reader.line_num, {(k or "").strip(): v for k, v in row.items()}))
    return out


def _xlsx(data: bytes, sheet: str) -> list[Record]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException types
        raise SourceError("", f"not a readable Excel workbook ({type(exc).__name__})") from None
    try:
        if sheet and sheet not in book.sheetnames:
            raise SourceError(
                "", f"no sheet named {sheet!r} (sheets: {', '.join(book.sheetnames)})"
            )
        rows = (book[sheet] if sheet else book.worksheets[0]).iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        out = []
        for number, values in enumerate(rows, start=2):
            if all(v is None for v in values):
                continue  # Excel leaves formatted empty rows at the end
            out.append((number, dict(zip(header, values, strict=False))))
        return out
    finally:
        book.close()


def _records_at(body: Any, path: str) -> list[Record]:
    for part in [p for p in path.split(".") if p]:
        if not isinstance(body, dict) or part not in body:
            raise SourceError("", f"the JSON has no {path!r} list")
        body = body[part]
    if not isinstance(body, list) or not all(isinstance(r, dict) for r in body):
        raise SourceError("", "expected a list of objects (set where the records are)")
    return list(enumerate(body, start=1))


# -- SQL --------------------------------------------------------------------------------------


def sql_engine(config: SourceConfig, secret: str | None) -> Any:
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(config.url)
    except ArgumentError:
        raise SourceError(config.name, "the database address is not valid.") from None
    if secret:
        url = url.set(password=secret)
    backend = url.get_backend_name()
    connect_args: dict[str, Any] = {}
    timeout = int(config.timeout_s)
    if backend == "sqlite":
        if not url.database or not Path(url.database).exists():
            raise SourceError(config.name, f"the database file {url.database} does not exist.")
        # mode=ro: SQLite itself refuses any write, whatever the query says.
        url = url.set(database=f"file:{url.database}?mode=ro", query={"uri": "true"})
    elif backend == "postgresql":
        connect_args = {"connect_timeout": timeout}
    elif backend in ("mysql", "mariadb"):
        connect_args = {"connect_timeout": timeout, "read_timeout": timeout}
    try:
        engine = create_engine(url, connect_args=connect_args, poolclass=_null_pool())
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        extra = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql"}.get(backend, "")
        hint = f" Install it with: pip install 'gradient-desktop[{extra}]'." if extra else ""
        raise SourceError(
            config.name, f"the driver for {backend} is not installed ({exc}).{hint}"
        ) from None

    @event.listens_for(engine, "begin")
    def _read_only(conn: Any) -> None:
        # The first statement of every transaction: the server refuses writes from here on.
        if backend == "postgresql":
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        elif backend in ("mysql", "mariadb"):
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")

    return engine


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool  # one query per run: no idle connection left behind


def read_sql(config: SourceConfig, secret: str | None) -> list[Record]:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    engine = sql_engine(config, secret)
    try:
        with engine.connect() as conn, conn.begin():
            result = conn.execute(text(config.query))
            return [(i, dict(row)) for i, row in enumerate(result.mappings(), start=1)]
    except DBAPIError as exc:
        raise SourceError(config.name, _db_reason(config, exc)) from None
    except SQLAlchemyError as exc:
        raise SourceError(config.name, f"the query failed: {type(exc).__name__}.") from None
    finally:
        engine.dispose()


def _db_reason(config: SourceConfig, exc: Any) -> str:
    """A sentence for a driver error; the driver's first line (never the URL or password)."""
    orig = exc.orig
    args: tuple[Any, ...] = tuple(getattr(orig, "args", None) or ())
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        detail = args[1]  # pymysql: (error number, message); the number means nothing to a user
    else:
        detail = str(orig) if orig is not None else type(exc).__name__
    detail = (detail.strip().splitlines() or [type(exc).__name__])[0]
    low = detail.lower()
    where = redact_url(config.url)
    if "password" in low or "access denied" in low or "authentication" in low:
        return (
            f"the database at {where} refused the user name or password ({detail}). "
            + store_secret_advice(config.name)
        )
    if exc.connection_invalidated or "connect" in low or "timeout" in low or "resolve" in low:
        return f"cannot reach the database at {where} ({detail}). Check that it is running."
    return f"the query failed ({detail}). Check it in your database tool first."


# -- HTTP -------------------------------------------------------------------------------------


async def read_http(config: SourceConfig, secret: str | None) -> list[Record]:
    import httpx

    headers = {"Accept": "application/json"}
    if secret:
        name = config.auth_header or "Authorization"
        headers[name] = f"Bearer {secret}" if name.lower() == "authorization" else secret
    out: list[Record] = []
    url: str | None = config.url
    seen: set[str] = set()
    timeout = httpx.Timeout(config.timeout_s)
    async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:
        while url and len(seen) < _MAX_PAGES:
            if url in seen:
                raise SourceError(config.name, f"the next-page link loops back to {url}.")
            seen.add(url)
            try:
                response = await client.get(url)
            except httpx.TimeoutException:
                raise SourceError(
                    config.name,
                    f"{url} did not answer within {config.timeout_s:g} s.",
                ) from None
            except httpx.HTTPError as exc:
                raise SourceError(
                    config.name, f"cannot reach {url} ({type(exc).__name__})."
                ) from None
            if response.status_code in (401, 403):
                raise SourceError(
                    config.name,
                    f"{url} refused the request ({response.status_code}). "
                    + store_secret_advice(config.name, "token"),
                )
            if response.status_code != 200:
                raise SourceError(config.name, f"{url} answered {response.status_code}.")
            try:
                body = response.json()
                page = _records_at(body, config.records_path)
            except ValueError:
                raise SourceError(config.name, f"{url} did not return JSON.") from None
            except SourceError as exc:
                raise SourceError(config.name, f"{url}: {exc.reason}.") from None
            start = len(out)
            out.extend((start + i, rec) for i, rec in page)
            url = _next_link(body, config.next_path, response)
            url = urljoin(str(response.url), url) if url else None
    return out


def _next_link(body: Any, path: str, response: Any) -> str | None:
    if path:
        for part in path.split("."):
            body = body.get(part) if isinstance(body, dict) else None
        return str(body) if body else None
    link = response.links.get("next")
    return link.get("url") if link else None
