"""Property-based tests of everything a user can feed in as a file: count imports (CSV/JSON) and
what the app exports back to spreadsheets.

* Any bytes: a ``ParseResult`` (valid rows + row errors with line numbers) or a
  ``CountFileError`` with a sentence — never another exception.
* Valid rows survive any encoding (UTF-8 with/without BOM, UTF-16, Windows-1252), delimiter
  (``, ; TAB |``), line ending, quoting and header spelling, in CSV and JSON.
* Exports never leave a cell a spreadsheet would run as a formula (``=cmd|' /C calc'!A0``).
* A big file parses in reasonable time; an oversized one is refused up front.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gradient_desktop.counts import CountRow
from gradient_desktop.services import csvio
from gradient_desktop.services.csvio import (
    CountFileError,
    ParseResult,
    export_counts,
    parse_counts,
)
from gradient_desktop.services.mapping_csv import export_mappings
from tests.reliability.helpers import FIGURES, FULL, sized

SETTINGS = settings(
    max_examples=int(os.environ.get("GD_FUZZ_EXAMPLES", 3_000 if FULL else 300)),
    deadline=None,
    derandomize=not FULL,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Ids as users have them: any printable text, including delimiters, quotes, formula starts and
# non-Latin scripts; never blank after stripping (a blank id is a row error, tested apart).
ids = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"),
        min_size=1,
        max_size=24,
    )
    .map(str.strip)
    .filter(bool)
)
counts = st.one_of(
    st.integers(0, 10**9).map(float),
    st.floats(0, 1e9, allow_nan=False, allow_infinity=False),
)
ops = st.sampled_from(["set", "add", "subtract"])
rows_strategy = st.lists(st.tuples(ids, ids, counts, ops), min_size=1, max_size=25).map(
    lambda rows: [(a, s, c if op == "set" or c > 0 else 1.0, op) for a, s, c, op in rows]
)


def _check_result(result: ParseResult) -> None:
    assert isinstance(result, ParseResult)
    for row in result.rows:
        assert isinstance(row, CountRow)
        assert row.account_id.strip() and row.service_id.strip()
        assert math.isfinite(row.unit_count) and row.unit_count >= 0
        assert row.op in ("set", "add", "subtract")
    for error in result.errors:
        assert isinstance(error.message, str) and error.message and error.line >= 0
    assert isinstance(result.error_text(), str)


def _parse_anything(data: bytes, filename: str = "") -> None:
    FIGURES["fuzz: import files generated"] += 1
    try:
        result = parse_counts(data, filename=filename)
    except CountFileError as exc:
        assert str(exc).strip() and "Traceback" not in str(exc)
        return
    _check_result(result)


@SETTINGS
@given(data=st.binary(max_size=3_000), name=st.sampled_from(["", "counts.csv", "counts.json"]))
def test_any_bytes_give_rows_and_row_errors_or_a_file_error(data: bytes, name: str) -> None:
    _parse_anything(data, name)


csv_like_text = st.lists(
    st.lists(
        st.one_of(
            ids,
            st.sampled_from(
                [
                    "",
                    " ",
                    '"',
                    '""',
                    "=1+1",
                    "1,5",
                    "1.234,5",
                    "NaN",
                    "-3",
                    "1e400",
                    "inf",
                    "accountId",
                    "unitCount",
                ]
            ),
        ),
        max_size=6,
    ),
    max_size=12,
)


@SETTINGS
@given(
    table=csv_like_text,
    header=st.sampled_from(
        [
            ["accountId", "serviceId", "unitCount"],
            ["account", "sku", "quantity", "op"],
            ["Account ID", "Service_ID", "Units", "Operation"],
            ["x", "y"],
            [],
        ]
    ),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
)
def test_csv_shaped_garbage_gives_rows_and_row_errors_or_a_file_error(
    table: list[list[str]], header: list[str], delimiter: str, encoding: str
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(table)
    _parse_anything(out.getvalue().encode(encoding, errors="replace"))


json_docs = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(
            st.sampled_from(["accountId", "serviceId", "unitCount", "op", "counts", "x", "sku"]),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@SETTINGS
@given(doc=json_docs)
def test_json_shaped_garbage_gives_rows_and_row_errors_or_a_file_error(doc: object) -> None:
    _parse_anything(json.dumps(doc).encode(), "counts.json")


@SETTINGS
@given(
    rows=rows_strategy,
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
    header=st.sampled_from(
        [
            ("accountId", "serviceId", "unitCount", "op"),
            ("Account", "SKU", "Quantity", "Operation"),
            ("account_id", "service-id", "Unit Count", "OP"),
        ]
    ),
)
def test_valid_rows_survive_any_encoding_delimiter_quoting_and_header_spelling(
    rows: list[tuple[str, str, float, str]],
    delimiter: str,
    encoding: str,
    newline: str,
    quoting: int,
    header: tuple[str, ...],
) -> None:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline, quoting=quoting)
    writer.writerow(header)
    for account, service, count, op in rows:
        writer.writerow([account, service, repr(count), op])
    text = out.getvalue()
    if encoding == "cp1252":
        try:
            data = text.encode("cp1252")
        except UnicodeEncodeError:
            assume(False)
        # Bytes that are also valid UTF-8 are read as UTF-8 (the common case); such a file
        # could not be told apart, so only unambiguous ones are checked here.
        try:
            data.decode("utf-8")
            assume(text.isascii())
        except UnicodeDecodeError:
            pass
    else:
        data = text.encode(encoding)
    FIGURES["fuzz: import files generated"] += 1

    result = parse_counts(data)

    assert result.errors == [], result.error_text()
    got = [(r.account_id, r.service_id, r.unit_count, r.op) for r in result.rows]
    assert got == [(a.strip(), s.strip(), c, op) for a, s, c, op in rows]


@SETTINGS
@given(rows=rows_strategy, style=st.sampled_from(["array", "envelope"]))
def test_valid_rows_survive_a_json_round_trip(
    rows: list[tuple[str, str, float, str]], style: str
) -> None:
    items = [{"accountId": a, "serviceId": s, "unitCount": c, "op": op} for a, s, c, op in rows]
    doc: object = items if style == "array" else {"counts": items}
    FIGURES["fuzz: import files generated"] += 1
    result = parse_counts(json.dumps(doc, ensure_ascii=False).encode(), filename="c.json")
    assert result.errors == []
    assert [(r.account_id, r.service_id, r.unit_count, r.op) for r in result.rows] == rows


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


@SETTINGS
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(
                ids,
                st.sampled_from(
                    [
                        "=cmd|' /C calc'!A0",
                        "+1+1",
                        "-2+3",
                        "@SUM(A1)",
                        "\t=1",
                        "\r=1",
                        "ok\r=1+1",
                        "ok\n=1+1",
                        '=HYPERLINK("http://x")',
                    ]
                ),
            ),
            ids,
            counts,
            st.text(max_size=15),  # names from the MSP's PSA: anything, CR and LF included
        ),
        max_size=20,
    )
)
def test_exports_never_leave_a_cell_a_spreadsheet_would_run(
    rows: list[tuple[str, str, float, str]],
) -> None:
    FIGURES["fuzz: export rows generated"] += len(rows)
    exported = export_counts(rows, ("accountName",))
    mapped = export_mappings([(a, n) for a, _s, _c, n in rows])
    for text in (exported, mapped):
        for cell in _cells(text):
            assert not cell.startswith(FORMULA_START), repr(cell)
    # A neutralised cell still shows the user's text, after one leading quote.
    body = [row for row in csv.reader(io.StringIO(exported, newline=""))][1:]
    for (account, service, _count, name), cells in zip(rows, body, strict=True):
        for original, cell in ((account, cells[0]), (service, cells[1]), (name, cells[3])):
            assert cell == ("'" + original if original.startswith(FORMULA_START) else original)


CR_VALUES = ["Acme\r=cmd|' /C calc'!A0", "\r=1+1", "Acme\r@SUM(A1)", "x\r\t=1"]


@pytest.mark.parametrize("value", CR_VALUES)
def test_a_carriage_return_inside_a_count_export_cannot_start_a_formula_cell(value: str) -> None:
    text = export_counts([(value, "svc", 1.0, value)], ("accountName",))
    for cell in _cells(text):
        assert not cell.startswith(FORMULA_START), (repr(cell), repr(text))


@pytest.mark.parametrize("value", CR_VALUES)
def test_a_carriage_return_inside_a_mapping_export_cannot_start_a_formula_cell(value: str) -> None:
    for cell in _cells(export_mappings([(value, value)])):
        assert not cell.startswith(FORMULA_START), repr(cell)


@pytest.mark.parametrize("data", [b"[" * 100_000, b'{"counts": ' + b"[" * 100_000])
def test_deeply_nested_json_is_a_file_error_not_a_crash(data: bytes) -> None:
    with pytest.raises(CountFileError):
        parse_counts(data, filename="counts.json")


def test_an_oversized_file_is_refused_before_it_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csvio, "MAX_FILE_BYTES", 1_000)
    with pytest.raises(CountFileError, match="limit"):
        parse_counts(b"accountId,serviceId,unitCount\n" + b"a,s,1\n" * 200)


@pytest.mark.slow
def test_a_big_file_parses_in_reasonable_time() -> None:
    n = sized(200_000, 2_000_000)
    lines = ["accountId;serviceId;unitCount;op"]
    lines += [f"acct-{i};svc-{i % 7};{i % 1000}.5;{('set', 'add')[i % 2]}" for i in range(n)]
    data = ("\ufeff" + "\r\n".join(lines)).encode("utf-8")
    started = time.perf_counter()
    result = parse_counts(data)
    elapsed = time.perf_counter() - started
    assert result.ok and len(result.rows) == n
    FIGURES["fuzz: big file rows parsed"] += n
    assert elapsed < n / 20_000 + 5, f"{n} rows took {elapsed:.1f} s"


NASTY_FILES = {
    "binary.csv": bytes(range(256)) * 4,
    "empty.csv": b"",
    "header-only.csv": b"accountId,serviceId,unitCount\n",
    "nul.csv": b"accountId,serviceId,unitCount\nacc\x00,svc,1\n",
    "deep.json": b"[" * 100_000,
    "utf16-nobom.csv": "accountId,serviceId,unitCount\nä,s,1\n".encode("utf-16-le"),
    "bad-json.json": b'[{"accountId": "a", "serviceId": "s", "unitCount": 1e999}',
    "formula.csv": b"accountId,serviceId,unitCount\n=cmd|' /C calc'!A0,svc,=1+1\n",
    "negative.csv": b"accountId,serviceId,unitCount,op\na,s,-1,set\na,s,0,add\na,s,1,multiply\n",
    "wide.csv": b"accountId,serviceId,unitCount\n" + b"a,s,1," + b"x," * 10_000 + b"\n",
    "long-line.csv": b"accountId,serviceId,unitCount\n" + b"a" * 2_000_000 + b",s,1\n",
}


@pytest.mark.parametrize("name", sorted(NASTY_FILES))
def test_the_cli_answers_any_file_with_a_sentence_never_a_traceback(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradient_desktop import cli

    path = tmp_path / name
    path.write_bytes(NASTY_FILES[name])
    code = cli.main(["push", str(path), "--base-url", "https://gradient.example", "--dry-run"])
    out, err = capsys.readouterr()
    FIGURES["fuzz: import files generated"] += 1
    assert code in (0, 2), (code, err[-500:])
    assert "Traceback" not in out + err
    if code == 2:
        assert err.startswith("gradient-desktop: ") and len(err.strip()) > 20
