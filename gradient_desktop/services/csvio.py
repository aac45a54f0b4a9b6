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
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from gradient_desktop.services.wording import noun
from gradient_desktop.counts import CountRow, parse_op

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
class ParseResult:
    """The valid rows (``counts.CountRow``), each one's line in ``lines``, and every problem."""

    rows: list[CountRow] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
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
_COUNT_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
COUNT_RULE = "write counts as plain digits with an optional decimal point, e.g. 1234 or 12.5"
#: Ids are text of at most this many printable characters (no control characters).
MAX_ID_CHARS = 200


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
        if not _COUNT_TEXT.fullmatch(text):
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
    if any(unicodedata.category(c) == "Cc" for c in text):  # NUL, ESC, bell...
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


def _validate(
    records: Iterable[tuple[int, dict[str, object]]],
    result: ParseResult,
    account_resolver: Resolver | None,
    service_resolver: Resolver | None,
) -> None:
    def add_error(line: int, message: str) -> None:
        if len(result.errors) >= MAX_ERRORS:
            result.truncated_errors = True
            return
        result.errors.append(RowError(line, message))

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
        result.rows.append(CountRow(service, account, count, op))
        result.lines.append(line)


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
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text[:4096]))
    try:
        header = next(reader)
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

    def records() -> Iterable[tuple[int, dict[str, object]]]:
        line = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                line += 1
                result.errors.append(RowError(line, f"unreadable CSV: {exc}"))
                continue
            line += 1
            if not cells or all(not c.strip() for c in cells):
                continue  # blank lines (often the last one) are not rows
            if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
                result.errors.append(
                    RowError(line, f"{len(cells)} cells, but the header has {len(columns)}")
                )
                continue
            yield line, dict(zip(columns, cells, strict=False))  # short rows: missing cells

    _validate(records(), result, account_resolver, service_resolver)


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
