"""Mapping CSV import/export: round trip, spreadsheet safety, and row-numbered errors."""

from __future__ import annotations

import pytest

from gradient_desktop.services.mapping import MappingChange
from gradient_desktop.services.mapping_csv import (
    MappingCsvError,
    export_mappings,
    parse_mappings,
)


def test_export_then_import_gives_the_same_mapping() -> None:
    mapping = {"cust-2": "client-b", "cust-1": "client-a", "=cmd|calc": "-client"}
    text = export_mappings(mapping)
    assert text.splitlines()[0] == "vendorAccountId,gradientClientId"
    parsed = parse_mappings(text, accounts=mapping, clients=mapping.values())
    assert parsed.ok
    assert {c.source_id: c.target_id for c in parsed.changes} == mapping
    assert all(c.origin == "import" for c in parsed.changes)


def test_export_neutralises_formulas_for_spreadsheets() -> None:
    text = export_mappings({"=HYPERLINK(1)": "@evil"})
    assert "'=HYPERLINK(1)" in text and "'@evil" in text


def test_errors_name_their_line_and_nothing_is_imported() -> None:
    text = (
        "vendorAccountId,gradientClientId\n"
        "cust-1,client-a\n"
        ",client-a\n"  # line 3: no account
        "cust-9,client-a\n"  # line 4: unknown account
        "cust-2,client-zzz\n"  # line 5: unknown client
        "cust-1,client-b\n"  # line 6: duplicate
    )
    parsed = parse_mappings(text, accounts={"cust-1", "cust-2"}, clients={"client-a", "client-b"})
    assert [line for line, _msg in parsed.errors] == [3, 4, 5, 6]
    with pytest.raises(MappingCsvError) as exc:
        parsed.raise_for_errors()
    message = str(exc.value)
    assert "line 4: no vendor account has the id 'cust-9'" in message
    assert "line 6: account 'cust-1' appears again (first on line 2)" in message


def test_missing_header_and_empty_file_are_explained() -> None:
    assert parse_mappings("a,b\n1,2\n").errors[0][0] == 1
    assert "missing gradientClientId" in parse_mappings("vendorAccountId\nx\n").errors[0][1]
    assert "empty" in parse_mappings("").errors[0][1]


def test_empty_client_unmaps_and_columns_may_come_in_any_order_with_bom() -> None:
    text = (
        "\ufeffgradientClientId;x,vendorAccountId\n".replace(";x", "")
        + ",cust-1\nclient-a,cust-2\n"
    )
    parsed = parse_mappings(text.encode("utf-8-sig"))
    assert parsed.changes == [
        MappingChange("cust-1", None, "import"),
        MappingChange("cust-2", "client-a", "import"),
    ]
