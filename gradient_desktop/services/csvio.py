"""Reading and writing unit-count files (CSV or JSON), validated whole before anything is sent.

A file is accepted only when every row is valid; otherwise the caller gets every problem with its
row number, so a user fixes the file once instead of discovering errors one push at a time.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from gradient_desktop.counts import CountRow, Op, parse_op
from gradient_desktop.services.wording import noun

MAX_FILE_BYTES = 200 * 1024 * 1024  # a 2M-row CSV is ~60 MB; anything beyond this is a mistake
MAX_ERRORS = 200  # past this, listing more does not help the user fix the file

# Accepted header spellings, normalised (lower case, no spaces/underscores/dashes).
_ALIASES = {
    "accountid": "account_id",
    "account": "account_id",
    "accountname": "account_name",
    "customer": "account_name",
    "serviceid": "service_id",
    "service": "service_id",
    "sku": "service_id",
    "servicename": "service_name",
    "unitcount": "unit_count",
    "count": "unit_count",
    "quantity": "unit_count",
    "units": "unit_count",
    "op": "op",
    "operation": "op",
}


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"row {self.line}: {self.message}" if self.line else self.message


@dataclass
class Problems:
    """The problems of a file's rows (the first ``MAX_ERRORS``), in words for the user."""

    errors: list[RowError] = field(default_factory=list)
    truncated_errors: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def error_text(self, limit: int = 20) -> str:
        lines = [str(e) for e in self.errors[:limit]]
        more = len(self.errors) - limit
        if more > 0 or self.truncated_errors:
            lines.append(
                f"... and {max(more, 0)} more {noun(max(more, 0), 'problem')}"
                + (" (stopped counting)" if self.truncated_errors else "")
            )
        return "\n".join(lines)


@dataclass
class ParseResult(Problems):
    """The valid rows (``counts.CountRow``), each one's line in ``lines``, and every problem."""

    rows: list[CountRow] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


class CountFileError(ValueError):
    """The whole file is unusable (unreadable, wrong format, no header)."""


Resolver = Callable[[str], "str | None"]


def decode_bytes(data: bytes) -> str:
    """Decode a user's file: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in the ANSI code page; cp1252 decodes every byte but 5.
        return data.decode("cp1252", errors="replace")


#: The one rule for a count written as text: digits with an optional decimal point ("1234",
#: "12.5"; an exponent as spreadsheets write tiny values is read too). No thousands separator
#: of any kind - "1,234", "1 234", "1_000" are all refused - since a separator means different
#: things in different locales ("1,5" is one and a half in half of Europe).
COUNT_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
COUNT_RULE = "write counts as plain digits with an optional decimal point, e.g. 1234 or 12.5"
#: Ids are text of at most this many printable characters (no control characters).
MAX_ID_CHARS = 200
#: Unicode category Cc is exactly these code points (one regex search instead of a lookup of
#: each character's category: a 200,000-row file is validated before anything is sent).
CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f]")


def parse_count(value: object) -> float:
    """A unit count from a cell or JSON value; raises ValueError with a user-facing reason."""
    if isinstance(value, bool) or value is None:
        raise ValueError("unitCount must be a number")
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # a 400-digit JSON integer
            raise ValueError("unitCount is too large to be a count") from None
    else:
        text = str(value).strip()
        if not text:
            raise ValueError("unitCount is empty")
        if not COUNT_TEXT.fullmatch(text):
            raise ValueError(f"unitCount {text[:40]!r} is not a number ({COUNT_RULE})")
        number = float(text)
    if math.isnan(number) or math.isinf(number):
        raise ValueError("unitCount must be a finite number")
    if number < 0:
        raise ValueError(f"unitCount {number:g} is negative; counts are absolute quantities ≥ 0")
    if number > 1e15:
        raise ValueError(f"unitCount {number:g} is too large to be a count")
    return number


def parse_id(value: object, name: str) -> str:
    """An account or service id: text (a JSON number is taken as its digits), printable, short.
    Raises ValueError naming the field."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"{name} must be text, not {type(value).__name__}")
    text = str(value).strip()
    if CONTROL_CHARS.search(text):  # NUL, ESC, bell...
        raise ValueError(f"{name} {text[:40]!r} contains control characters")
    if len(text) > MAX_ID_CHARS:
        raise ValueError(f"{name} is longer than {MAX_ID_CHARS} characters")
    return text


def _normalise_header(name: str) -> str:
    key = name.strip().lstrip("\ufeff").lower().replace(" ", "").replace("_", "").replace("-", "")
    return _ALIASES.get(key, key)


def _sniff_delimiter(sample: str) -> str:
    first = sample.splitlines()[0] if sample else ""
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


class ErrorList:
    """Row problems, at most ``MAX_ERRORS`` of them kept (then ``truncated``)."""

    def __init__(self, errors: list[RowError] | None = None) -> None:
        self.errors = errors if errors is not None else []
        self.truncated = False

    def add(self, line: int, message: str) -> None:
        if len(self.errors) >= MAX_ERRORS:
            self.truncated = True
            return
        self.errors.append(RowError(line, message))


def checked_rows(
    records: Iterable[tuple[int, dict[str, object]]],
    problems: ErrorList,
    account_resolver: Resolver | None = None,
    service_resolver: Resolver | None = None,
) -> Iterator[tuple[int, CountRow]]:
    """``(line, CountRow)`` of each valid record; each invalid one goes to ``problems``."""
    add_error = problems.add
    for line, rec in records:
        try:
            account = parse_id(rec.get("account_id") or "", "accountId")
            service = parse_id(rec.get("service_id") or "", "serviceId")
        except ValueError as exc:
            add_error(line, str(exc))
            continue
        if not account and rec.get("account_name") and account_resolver:
            name = str(rec["account_name"]).strip()
            account = account_resolver(name) or ""
            if not account:
                add_error(line, f"no mapped account is named {name!r}")
                continue
        if not service and rec.get("service_name") and service_resolver:
            name = str(rec["service_name"]).strip()
            service = service_resolver(name) or ""
            if not service:
                add_error(line, f"no service is named {name!r}")
                continue
        if not account:
            add_error(line, "accountId is empty")
            continue
        if not service:
            add_error(line, "serviceId is empty")
            continue
        try:
            op = parse_op(rec.get("op"))
        except ValueError:
            add_error(line, f"op {str(rec.get('op')).strip()!r} must be one of set, add, subtract")
            continue
        try:
            count = parse_count(rec.get("unit_count"))
        except ValueError as exc:
            add_error(line, str(exc))
            continue
        if op != "set" and count == 0:
            add_error(line, f"{op} of 0 changes nothing")
            continue
        yield line, CountRow(service, account, count, op)


def _validate(
    records: Iterable[tuple[int, dict[str, object]]],
    result: ParseResult,
    account_resolver: Resolver | None,
    service_resolver: Resolver | None,
) -> None:
    problems = ErrorList(result.errors)
    for line, row in checked_rows(records, problems, account_resolver, service_resolver):
        result.rows.append(row)
        result.lines.append(line)
    result.truncated_errors = result.truncated_errors or problems.truncated


def parse_counts(
    data: bytes,
    *,
    filename: str = "",
    account_resolver: Resolver | None = None,
    service_resolver: Resolver | None = None,
) -> ParseResult:
    """Parse a CSV (header ``accountId,serviceId,unitCount[,op]``) or a JSON array of objects.

    Raises CountFileError when the file as a whole is unusable; row problems land in
    ``ParseResult.errors`` with 1-based line numbers (the header is line 1).
    """
    if len(data) > MAX_FILE_BYTES:
        raise CountFileError(
            f"The file is {len(data) / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES / 1e6:.0f} MB. Split it."
        )
    text = decode_bytes(data)
    result = ParseResult()
    stripped = text.lstrip()
    if filename.lower().endswith(".json") or stripped.startswith(("[", "{")):
        _parse_json(stripped, result, account_resolver, service_resolver)
    else:
        _parse_csv(text, result, account_resolver, service_resolver)
    return result


def _parse_json(
    text: str,
    result: ParseResult,
    account_resolver: Resolver | None,
    service_resolver: Resolver | None,
) -> None:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CountFileError(
            f"The JSON is not valid (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from None
    except RecursionError:
        raise CountFileError("The JSON is nested too deeply to be a list of counts.") from None
    if isinstance(doc, dict) and isinstance(doc.get("counts"), list):
        doc = doc["counts"]
    if not isinstance(doc, list):
        raise CountFileError(
            "The JSON must be an array of {accountId, serviceId, unitCount} objects."
        )

    def records() -> Iterable[tuple[int, dict[str, object]]]:
        for index, item in enumerate(doc, start=1):
            if not isinstance(item, dict):
                result.errors.append(RowError(index, "item is not an object"))
                continue
            fields = [_normalise_header(str(k)) for k in item]
            if len(set(fields)) < len(fields):
                result.errors.append(RowError(index, "names the same field twice"))
                continue
            yield index, dict(zip(fields, item.values(), strict=True))

    _validate(records(), result, account_resolver, service_resolver)


def _parse_csv(
    text: str,
    result: ParseResult,
    account_resolver: Resolver | None,
    service_resolver: Resolver | None,
) -> None:
    if not text.strip():
        raise CountFileError(
            "The file is empty. Expected a header line: accountId,serviceId,unitCount"
        )
    problems = ErrorList(result.errors)
    records = csv_records(
        io.StringIO(text, newline=""), text[:4096], problems, account_resolver, service_resolver
    )
    _validate(records, result, account_resolver, service_resolver)
    result.truncated_errors = result.truncated_errors or problems.truncated


def csv_records(
    lines: Iterable[str],
    sample: str,
    problems: ErrorList,
    account_resolver: Resolver | None = None,
    service_resolver: Resolver | None = None,
) -> Iterator[tuple[int, dict[str, object]]]:
    """``(line, {column: cell})`` of each data line of a CSV read from ``lines`` (a text
    file or a StringIO, opened with ``newline=""``), whose first 4 KiB are ``sample`` (to
    choose the delimiter). The header is checked now (``CountFileError``); unreadable lines
    go to ``problems``. Reads as it is iterated: a file of any length in constant memory."""
    reader, columns = _csv_header(lines, sample, account_resolver, service_resolver)
    return _csv_lines(reader, columns, problems)


def _csv_header(
    lines: Iterable[str],
    sample: str,
    account_resolver: Resolver | None,
    service_resolver: Resolver | None,
) -> tuple[Any, list[str]]:
    reader = csv.reader(lines, delimiter=_sniff_delimiter(sample))
    try:
        header = next(reader)
    except StopIteration:
        raise CountFileError(
            "The file is empty. Expected a header line: accountId,serviceId,unitCount"
        ) from None
    except csv.Error as exc:
        raise CountFileError(f"The CSV cannot be read: {exc}") from None
    columns = [_normalise_header(h) for h in header]
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        raise CountFileError(
            f"The header names the column {', '.join(repeated)} twice; keep one of them."
        )
    has_account = "account_id" in columns or ("account_name" in columns and account_resolver)
    has_service = "service_id" in columns or ("service_name" in columns and service_resolver)
    if not (has_account and has_service and "unit_count" in columns):
        raise CountFileError(
            "The first line must be the header accountId,serviceId,unitCount "
            f"(found: {', '.join(h.strip()[:30] for h in header[:6]) or 'nothing'})."
        )
    return reader, columns


def _csv_lines(
    reader: Any, columns: list[str], problems: ErrorList, line: int = 1
) -> Iterator[tuple[int, dict[str, object]]]:
    width = len(columns)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line += 1
            problems.add(line, f"unreadable CSV: {exc}")
            continue
        line += 1
        if not cells or all(not c.strip() for c in cells):
            continue  # blank lines (often the last one) are not rows
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            problems.add(line, f"{len(cells)} cells, but the header has {width}")
            continue
        yield line, dict(zip(columns, cells, strict=False))  # short rows: missing cells


def csv_id_rows(
    lines: Iterable[str], sample: str, problems: ErrorList
) -> Iterator[tuple[str, str, float, Op]]:
    """``(service_id, account_id, count, op)`` of each valid line of a CSV of ids (no name
    columns to resolve): the same rows and problems as ``checked_rows(csv_records(...))``,
    at a third of its cost - no dict and no object per line. A line that is not plainly
    valid goes through ``checked_rows`` itself, so every rule and message stays there."""
    reader, columns = _csv_header(lines, sample, None, None)
    width = len(columns)
    at = {name: columns.index(name) for name in ("account_id", "service_id", "unit_count")}
    ai, si, ci = at["account_id"], at["service_id"], at["unit_count"]
    oi = columns.index("op") if "op" in columns else -1
    need = max(ai, si, ci, oi) + 1
    ops = {"": Op.SET, **{o.value: o for o in Op}}
    plain_count, control = COUNT_TEXT.fullmatch, CONTROL_CHARS.search
    longest = MAX_ID_CHARS
    line = 1
    rows = iter(reader)
    while True:
        try:
            for cells in rows:
                line += 1
                if need <= len(cells) <= width:
                    account, service = cells[ai].strip(), cells[si].strip()
                    count_text = cells[ci].strip()
                    op = ops.get(cells[oi].strip().lower()) if oi >= 0 else Op.SET
                    # parse_id's and parse_count's checks, inline (200,000 lines: calls add up).
                    if (
                        op is not None
                        and 0 < len(account) <= longest
                        and 0 < len(service) <= longest
                        and not control(account + service)
                        and plain_count(count_text)
                    ):
                        count = float(count_text)
                        if 0.0 <= count <= 1e15 and (count > 0 or op == Op.SET):
                            yield service, account, count, op
                            continue
                # Anything else (blank, short or long lines, a problem): the general path.
                for _line, row in checked_rows(
                    _csv_lines(iter([cells]), columns, problems, line - 1), problems
                ):
                    yield row.service_id, row.account_id, row.unit_count, row.op
            return
        except csv.Error as exc:
            line += 1
            problems.add(line, f"unreadable CSV: {exc}")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """Neutralise text a spreadsheet would run as a formula (CSV injection, e.g. ``=cmd|...``)."""
    if value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_counts(
    rows: Sequence[tuple[str, str, float, *tuple[str, ...]]], extra_headers: Sequence[str] = ()
) -> str:
    """CSV text with header accountId,serviceId,unitCount; ids are made spreadsheet-safe."""
    out = io.StringIO(newline="")
    # RFC 4180 line ends: with "\r\n" the csv module quotes any value holding a bare CR, so a
    # name like "Acme\r=cmd|..." cannot split the row and start a live formula cell.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["accountId", "serviceId", "unitCount", *extra_headers])
    for row in rows:
        account, service, count, *extra = row
        writer.writerow(
            [spreadsheet_safe(str(account)), spreadsheet_safe(str(service)), format_count(count)]
            + [spreadsheet_safe(str(x)) for x in extra]
        )
    return out.getvalue()


def format_count(count: float) -> str:
    """Counts print without a trailing .0 for whole numbers, and without exponent notation."""
    if float(count).is_integer():
        return str(int(count))
    return f"{count:.10f}".rstrip("0").rstrip(".")
