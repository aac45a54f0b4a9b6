"""A count file on disk read in constant memory: checked whole first, then handed out in parts.

``push FILE`` promises that a file is validated whole before anything is sent: one bad row
and nothing is queued. A 200,000-row file read into memory, parsed into row objects and
queued in one transaction peaked at ~400 MB and sent its first request after ~15 s. So a
CSV is read twice, as a stream, never whole:

1. ``check()``: the SHA-256 of the bytes (the file's identity in the outbox), the encoding,
   and every row validated by the same rules as an import (services/csvio.py); only the
   count of valid rows, whether any is an add/subtract, and the first 200 problems are kept.
2. ``parts(size, skip)``: the rows again, as ``CountRow`` lists of ``size``, for the outbox
   to queue part by part while the first parts are already being sent. The file is checked
   to be unchanged (size, modification time) and every row is validated again: a row that
   fails now means the file changed since step 1, and the reading stops (``FileChanged``).

A JSON file is one document: it is parsed whole (the size limit bounds it) and its rows are
kept in memory between the two steps.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
import stat
import tempfile
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from gradient_desktop.counts import CountRow, Op
from gradient_desktop.services import csvio
from gradient_desktop.services.csvio import (
    CountFileError,
    ErrorList,
    Problems,
    csv_id_rows,
    parse_counts,
)

_READ = 1 << 20  # bytes per read while hashing


def _remove(name: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(name)


class FileChanged(CountFileError):
    """The file changed between its check and its reading for the outbox."""


@dataclass
class FileCheck(Problems):
    """What ``CountFile.check`` found: enough to decide, nothing per row."""

    rows: int = 0
    digest: str = ""
    has_deltas: bool = False


class CountFile:
    """One file of counts (CSV with header ``accountId,serviceId,unitCount[,op]``, or JSON)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.encoding = "utf-8"
        self.errors = "strict"
        self.is_json = False
        self._json_rows: list[CountRow] | None = None
        self._seen: tuple[int, int] | None = None  # (size, mtime_ns) at check time
        self._copy: Any = None  # the copy of a pipe or device, read instead of it
        self._source = path  # what is read after the check: the file, or that copy

    # -- step 1 ----------------------------------------------------------------------------

    def check(self) -> FileCheck:
        """Hash, detect the encoding and validate every row (``CountFileError`` when the file
        as a whole is unusable: too large, not a file, no header)."""
        digest, head, utf8 = self._scan()
        self.is_json = self.path.name.lower().endswith(".json") or head.lstrip().startswith(
            (b"[", b"{")
        )
        if head.startswith(codecs.BOM_UTF8):
            self.encoding = "utf-8-sig"
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            self.encoding = "utf-16"
        elif not utf8:
            # Excel on Windows saves "CSV" in the ANSI code page (csvio.decode_bytes).
            self.encoding, self.errors = "cp1252", "replace"
        result = FileCheck(digest=digest)
        if self.is_json:
            parsed = parse_counts(self._source.read_bytes(), filename=self.path.name)
            self._json_rows = parsed.rows
            result.rows = len(parsed.rows)
            result.has_deltas = any(r.op != Op.SET for r in parsed.rows)
            result.errors, result.truncated_errors = parsed.errors, parsed.truncated_errors
            return result
        problems = ErrorList(result.errors)
        rows = 0
        deltas = False
        with self._open() as text:
            for _service, _account, _count, op in csv_id_rows(text, self._sample(), problems):
                rows += 1
                if op != Op.SET:
                    deltas = True
        result.rows, result.has_deltas = rows, deltas
        result.truncated_errors = problems.truncated
        return result

    # -- step 2 ----------------------------------------------------------------------------

    def parts(self, size: int, skip: int = 0, first: int = 0) -> Iterator[list[CountRow]]:
        """The valid rows again, ``size`` at a time (the first part ``first`` if given), after
        the first ``skip`` of them (queued by an earlier, interrupted run). Only after a clean
        ``check()``."""
        if self._seen is None:
            raise RuntimeError("check() the file first")
        if self._json_rows is not None:
            rows = self._json_rows[skip:]
            head = first or size
            if rows[:head]:
                yield rows[:head]
            for i in range(head, len(rows), size):
                yield rows[i : i + size]
            return
        if self._stat() != self._seen:
            raise FileChanged(f"{self.path} changed after it was checked; nothing more is queued.")
        problems = ErrorList()
        part: list[CountRow] = []
        want = first or size
        seen = 0
        with self._open() as text:
            for service, account, count, op in csv_id_rows(text, self._sample(), problems):
                if problems.errors:
                    break
                seen += 1
                if seen <= skip:
                    continue
                part.append(CountRow(service, account, count, op))
                if len(part) == want:
                    yield part
                    part, want = [], size
        if problems.errors:
            raise FileChanged(
                f"{self.path} changed after it was checked ({problems.errors[0]}); "
                "nothing more is queued."
            )
        if part:
            yield part

    # -- reading ---------------------------------------------------------------------------

    def _stat(self) -> tuple[int, int]:
        info = os.stat(self._source)
        return info.st_size, info.st_mtime_ns

    def _scan(self) -> tuple[str, bytes, bool]:
        """SHA-256, the first 4 KiB and whether the bytes are valid UTF-8, in one read."""
        limit = csvio.MAX_FILE_BYTES  # read now: tests lower it
        limit_mb = limit // (1024 * 1024)
        sha = hashlib.sha256()
        utf8 = codecs.getincrementaldecoder("utf-8")()
        valid = True
        head = b""
        total = 0
        copy: Any = None
        try:
            with self.path.open("rb") as fh:
                info = os.fstat(fh.fileno())
                if stat.S_ISREG(info.st_mode) and info.st_size > limit:
                    raise CountFileError(
                        f"{self.path} is {info.st_size / 1e6:.0f} MB; the limit is "
                        f"{limit_mb} MB. Split it; nothing was sent."
                    )
                if not stat.S_ISREG(info.st_mode):
                    # A pipe or device can be read once: keep a copy to read it again.
                    copy = self._spool()
                while chunk := fh.read(_READ):
                    total += len(chunk)
                    if total > limit:
                        raise CountFileError(
                            f"{self.path} is larger than {limit_mb} MB. Split it; nothing was sent."
                        )
                    if copy is not None:
                        copy.write(chunk)
                    if not head:
                        head = chunk[:4096]
                    sha.update(chunk)
                    if valid:
                        try:
                            utf8.decode(chunk)
                        except UnicodeDecodeError:
                            valid = False
                if valid:
                    try:
                        utf8.decode(b"", final=True)
                    except UnicodeDecodeError:
                        valid = False
        except IsADirectoryError:
            raise CountFileError(f"{self.path} is a folder, not a file of counts.") from None
        except OSError as exc:
            raise CountFileError(f"Cannot read {self.path}: {exc.strerror or exc}") from None
        finally:
            if copy is not None:
                copy.close()
        if self._copy is not None:
            self._source = Path(self._copy.name)
        self._seen = self._stat()
        if total == 0:
            raise CountFileError(
                "The file is empty. Expected a header line: accountId,serviceId,unitCount"
            )
        return sha.hexdigest(), head, valid

    def _spool(self) -> Any:
        copy = tempfile.NamedTemporaryFile(prefix="gradient-counts-", suffix=".csv", delete=False)
        self._copy = copy
        weakref.finalize(self, _remove, copy.name)
        return copy

    def _open(self) -> TextIO:
        return self._source.open("r", encoding=self.encoding, errors=self.errors, newline="")

    def _sample(self) -> str:
        with self._open() as text:
            return text.read(4096)
