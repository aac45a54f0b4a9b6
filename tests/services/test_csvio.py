"""Count files: every row validated before anything is sent, problems named by row number."""

from __future__ import annotations

import csv
import io

import pytest

from gradient_desktop.services.csvio import (
    CountFileError,
    export_counts,
    parse_count,
    parse_counts,
    spreadsheet_safe,
)


def test_valid_csv_gives_rows_with_line_numbers() -> None:
    result = parse_counts(b"accountId,serviceId,unitCount\ncust-1,svc-a,12\ncust-2,svc-a,0.5\n")
    assert result.ok
    rows = zip(result.lines, result.rows, strict=True)
    assert [(line, r.account_id, r.service_id, r.unit_count) for line, r in rows] == [
        (2, "cust-1", "svc-a", 12.0),
        (3, "cust-2", "svc-a", 0.5),
    ]


def test_every_bad_row_is_reported_with_its_row_number() -> None:
    data = (
        b"accountId,serviceId,unitCount\n,svc,1\ncust,,1\ncust,svc,abc\ncust,svc,-3\ncust,svc,4\n"
    )
    result = parse_counts(data)
    assert not result.ok
    assert [(e.line, e.message.split()[0]) for e in result.errors] == [
        (2, "accountId"),
        (3, "serviceId"),
        (4, "unitCount"),
        (5, "unitCount"),
    ]
    assert "negative" in result.errors[3].message
    assert len(result.rows) == 1


def test_missing_header_is_rejected_as_a_whole() -> None:
    with pytest.raises(CountFileError, match="header accountId,serviceId,unitCount"):
        parse_counts(b"cust-1,svc-a,12\n")


def test_bom_semicolons_and_windows_line_endings() -> None:
    data = "\ufeffAccountId;ServiceId;UnitCount\r\ncust-1;svc;7\r\n".encode()
    result = parse_counts(data)
    assert result.ok and result.rows[0].unit_count == 7.0


def test_utf16_and_cp1252_files_decode() -> None:
    text = "accountId,serviceId,unitCount\nCafé-1,svc,3\n"
    assert parse_counts(text.encode("utf-16")).rows[0].account_id == "Café-1"
    assert parse_counts(text.encode("cp1252")).rows[0].account_id == "Café-1"


def test_json_array_and_ops() -> None:
    data = b'[{"accountId":"a","serviceId":"s","unitCount":3},{"accountId":"a","serviceId":"s","unitCount":2,"op":"add"}]'
    result = parse_counts(data, filename="x.json")
    assert [(r.op, r.unit_count) for r in result.rows] == [("set", 3.0), ("add", 2.0)]


def test_json_wrong_shapes_are_typed_errors() -> None:
    with pytest.raises(CountFileError):
        parse_counts(b'{"accountId": "a"}', filename="x.json")
    with pytest.raises(CountFileError, match="not valid"):
        parse_counts(b"[{", filename="x.json")
    result = parse_counts(
        b'[1, {"accountId":"a","serviceId":"s","unitCount":true}]', filename="x.json"
    )
    assert [e.line for e in result.errors] == [1, 2]


def test_names_resolve_through_mappings() -> None:
    data = b"accountName,serviceId,unitCount\nAcme Corp.,svc,4\nNobody,svc,1\n"
    result = parse_counts(data, account_resolver={"Acme Corp.": "cust-7"}.get)
    assert result.rows[0].account_id == "cust-7"
    assert result.errors[0].line == 3 and "Nobody" in result.errors[0].message


@pytest.mark.parametrize("value", ["nan", "inf", "", None, True, "1e400"])
def test_non_finite_or_empty_counts_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_count(value)


def test_export_escapes_formulas_and_round_trips() -> None:
    text = export_counts([("=cmd|' /C calc'!A0", "svc", 3.0), ("cust-2", "svc", 2.5)])
    cells = list(csv.reader(io.StringIO(text)))
    assert cells[1][0] == "'=cmd|' /C calc'!A0"
    assert cells[2] == ["cust-2", "svc", "2.5"]
    again = parse_counts(text.encode())
    assert [r.unit_count for r in again.rows] == [3.0, 2.5]
    assert spreadsheet_safe("@SUM(A1)").startswith("'")


def test_one_stated_rule_for_numbers_and_text_ids() -> None:
    # No thousands separators of any kind, so "1,234" and "1_000" are refused alike.
    for text in ("1,234", "1_000", "1 234", "1.234,5"):
        result = parse_counts(f'accountId,serviceId,unitCount\na,s,"{text}"\n'.encode())
        assert result.errors and "plain digits" in result.errors[0].message, text
    huge = b'[{"accountId": "a", "serviceId": "s", "unitCount": 1' + b"0" * 400 + b"}]"
    assert "too large" in parse_counts(huge, filename="c.json").errors[0].message
    listy = b'[{"accountId": ["a"], "serviceId": "s", "unitCount": 1}]'
    assert "must be text" in parse_counts(listy, filename="c.json").errors[0].message
    nul = b'[{"accountId": "a\\u0000b", "serviceId": "s\\u001b[31m", "unitCount": 1}]'
    assert "control characters" in parse_counts(nul, filename="c.json").errors[0].message
    numeric = parse_counts(b'[{"accountId": 1001, "serviceId": "s", "unitCount": 1}]')
    assert numeric.rows[0].account_id == "1001"


def test_a_header_naming_a_column_twice_is_refused() -> None:
    with pytest.raises(CountFileError, match="twice"):
        parse_counts(b"accountId,serviceId,unitCount,AccountId\na,s,1,b\n")
