"""The ledger is the record of truth for add/subtract, so it is backed up and portable: a copy
after each push session, export -> fresh data folder -> import keeping every known total (and
letting add/subtract continue), import of current totals, and a refusal of a newer format."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.cli import main
from gradient_desktop.sandbox.seed import VENDOR_KEY
from tests.reliability.helpers import new_partner


def _csv(path: Path, rows: list[tuple[str, str, float, str]]) -> Path:
    lines = "".join(f"{a},{s},{c:g},{op}\n" for a, s, c, op in rows)
    path.write_text("accountId,serviceId,unitCount,op\n" + lines, encoding="utf-8")
    return path


@pytest.fixture
def partner(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    key, skus = new_partner(sandbox.state, 4, prefix="port")
    monkeypatch.setenv("GRADIENT_VENDOR_KEY", VENDOR_KEY)
    monkeypatch.setenv("GRADIENT_PARTNER_KEY", key)
    return key, skus


def test_export_to_a_fresh_folder_and_import_lets_add_and_subtract_continue(
    sandbox: Any,
    partner: tuple[str, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key, skus = partner
    url = sandbox.base_url
    sets = _csv(
        tmp_path / "sets.csv", [("acc-0", skus[0], 10, "set"), ("acc-1", skus[0], 4, "set")]
    )
    assert main(["push", str(sets), "--base-url", url]) == 0, capsys.readouterr().err
    # A copy of the ledger is made after each push session.
    assert list((Path(os.environ["GRADIENT_DESKTOP_HOME"]) / "data" / "backups").glob("*.sqlite3"))
    export = tmp_path / "ledger.json"
    assert main(["data", "export", str(export)]) == 0
    doc = json.loads(export.read_text())
    assert (
        doc["format"] == 1
        and key not in export.read_text()
        and VENDOR_KEY not in export.read_text()
    )

    monkeypatch.setenv("GRADIENT_DESKTOP_HOME", str(tmp_path / "new-laptop"))
    assert main(["data", "import", str(export)]) == 0, capsys.readouterr().err
    deltas = _csv(
        tmp_path / "deltas.csv", [("acc-0", skus[0], 5, "add"), ("acc-1", skus[0], 9, "subtract")]
    )
    assert main(["push", str(deltas), "--base-url", url]) == 0, capsys.readouterr().err
    counts = sandbox.state.counts(key)
    assert counts[(skus[0], "acc-0")]["unitCount"] == 15
    assert counts[(skus[0], "acc-1")]["unitCount"] == 0  # floored, and the user was told
    assert "set to 0" in capsys.readouterr().err
    assert list((tmp_path / "new-laptop" / "data" / "backups").glob("*.sqlite3"))
    # A second import into a folder that has data is refused; so is a newer format.
    assert main(["data", "import", str(export)]) == 2
    doc["format"] = 99
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(doc))
    monkeypatch.setenv("GRADIENT_DESKTOP_HOME", str(tmp_path / "third"))
    assert main(["data", "import", str(newer)]) == 2
    assert "newer version" in capsys.readouterr().err


def test_add_needs_a_known_total_and_imported_totals_provide_it(
    sandbox: Any, partner: tuple[str, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, skus = partner
    url = sandbox.base_url
    add = _csv(tmp_path / "add.csv", [("acc-2", skus[1], 5, "add")])
    assert main(["push", str(add), "--base-url", url]) == 2
    assert "Set an absolute count first, or import the current totals" in capsys.readouterr().err
    totals = _csv(tmp_path / "totals.csv", [("acc-2", skus[1], 30, "set")])
    assert main(["data", "import-totals", str(totals), "--base-url", url]) == 0
    assert main(["push", str(add), "--base-url", url]) == 0, capsys.readouterr().err
    assert sandbox.state.counts(key)[(skus[1], "acc-2")]["unitCount"] == 35
