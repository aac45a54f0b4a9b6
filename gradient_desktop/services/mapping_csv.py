"""CSV import and export of account mappings: ``vendorAccountId,gradientClientId``.

An import is validated as a whole before anything is applied, and every problem names its line
("line 7: ..."), so a user fixes the file in one go. An empty ``gradientClientId`` unmaps the
account. Exports are spreadsheet-safe (a cell starting with ``=`` is not run as a formula) and
an import undoes that quoting again, so an export → import round trip is exact.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gradient_desktop.services.csvio import decode_bytes, spreadsheet_safe
from gradient_desktop.services.mapping import MappingChange
from gradient_desktop.services.wording import noun
from gradient_desktop.store.models import MappingOrigin

HEADER = ("vendorAccountId", "gradientClientId")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_ERRORS_SHOWN = 20


class MappingCsvError(ValueError):
    """The file cannot be imported; ``str()`` lists the problems with their line numbers."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        shown = [f"line {line}: {message}" for line, message in errors[:MAX_ERRORS_SHOWN]]
        more = len(errors) - len(shown)
        if more > 0:
            shown.append(f"… and {more} more {noun(more, 'problem')}")
        super().__init__(
            "The mapping file was not imported; fix these lines and import it again:\n"
            + "\n".join(shown)
        )


@dataclass
class MappingImport:
    """What an import would change; ``errors`` empty means it can be applied."""

    changes: list[MappingChange] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        if self.errors:
            raise MappingCsvError(self.errors)


def export_mappings(mapping: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """CSV text with the header ``vendorAccountId,gradientClientId``, rows sorted by account."""
    pairs = mapping.items() if isinstance(mapping, Mapping) else mapping
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180: a bare CR in a name gets quoted
    writer.writerow(HEADER)
    for account, client in sorted(pairs):
        writer.writerow([spreadsheet_safe(str(account)), spreadsheet_safe(str(client))])
    return out.getvalue()


def _unsafe(value: str) -> str:
    """Undo ``spreadsheet_safe``: a quote in front of a formula character was ours."""
    value = value.strip()
    if value.startswith("'") and value[1:2] and value[1:].startswith(_FORMULA_START):
        return value[1:]
    return value


def parse_mappings(
    data: str | bytes,
    *,
    accounts: Iterable[str] | None = None,
    clients: Iterable[str] | None = None,
) -> MappingImport:
    """Validate a mapping CSV; unknown ids are errors when ``accounts``/``clients`` are given."""
    text = decode_bytes(data) if isinstance(data, bytes) else data
    known_accounts = set(accounts) if accounts is not None else None
    known_clients = set(clients) if clients is not None else None
    result = MappingImport()
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header: list[str] | None = None
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank lines (a trailing newline, spreadsheet padding) are not errors
        if header is None:
            header = [c.strip() for c in row]
            missing = [h for h in HEADER if h.lower() not in {c.lower() for c in header}]
            if missing:
                result.errors.append(
                    (
                        line,
                        f"the header must name the columns {','.join(HEADER)} "
                        f"(missing {', '.join(missing)})",
                    )
                )
                return result
            lowered = [c.lower() for c in header]
            acc_col, cli_col = (lowered.index(h.lower()) for h in HEADER)
            continue
        account = _unsafe(row[acc_col]) if acc_col < len(row) else ""
        client = _unsafe(row[cli_col]) if cli_col < len(row) else ""
        if not account:
            result.errors.append((line, "vendorAccountId is empty"))
            continue
        if account in seen:
            result.errors.append(
                (line, f"account {account!r} appears again (first on line {seen[account]})")
            )
            continue
        seen[account] = line
        if known_accounts is not None and account not in known_accounts:
            result.errors.append((line, f"no vendor account has the id {account!r}"))
            continue
        if client and known_clients is not None and client not in known_clients:
            result.errors.append((line, f"no Gradient client has the id {client!r}"))
            continue
        result.changes.append(MappingChange(account, client or None, MappingOrigin.IMPORT.value))
    if header is None:
        result.errors.append((1, f"the file is empty; the first line must be {','.join(HEADER)}"))
    return result
