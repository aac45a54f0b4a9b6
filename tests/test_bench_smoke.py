"""The performance suite cannot rot: its benchmarks run end to end in their quick sizes.

Only that they run and print their rows is checked, never a timing: these are benchmarks on a
shared, noisy machine, and their goals are judged from ``python -m bench``'s table. One fact is
checked because it is not a timing: the headless CLI imports no Qt.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_bench(tmp_path: Path, only: str, timeout: float) -> tuple[str, dict[str, Any]]:
    out = tmp_path / "bench.json"
    cmd = [sys.executable, "-m", "bench", "--quick", "--reps", "1", "--json", str(out)]
    cmd += ["--plot", str(tmp_path / "curve.png")]  # never the committed docs/ plot
    proc = subprocess.run(
        [*cmd, "--only", only], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| benchmark" in proc.stdout and "| goal" in proc.stdout, proc.stdout
    data = json.loads(out.read_text())
    assert data["quick"] is True
    return proc.stdout, {r["name"]: r for r in data["rows"]}


def test_cheapest_benchmarks_run_and_print_their_rows(tmp_path: Path) -> None:
    table, rows = run_bench(tmp_path, "cli,ledger,paging", timeout=240)
    for name in (
        "CLI start: push --help",
        "CLI start: Qt modules imported",
        "ledger 20000 pushes",
        "paging 10000 clients",
    ):
        assert f"| {name}" in table, table
    for name in ("CLI start: push --help", "ledger 20000 pushes", "paging 10000 clients"):
        assert rows[name]["ratio"] > 0 and rows[name]["goal"].startswith("≤"), rows[name]
    assert rows["CLI start: Qt modules imported"]["measured"] == "none", rows


def test_match_benchmark_prints_quality_and_speed(tmp_path: Path) -> None:
    table, rows = run_bench(tmp_path, "match", timeout=240)
    for name in (
        "match precision at 90 %",
        "match recall at 90 %",
        "match no-counterpart ≥ 90 %",
        "match issue #19 examples",
    ):
        assert rows[name]["met"] is True, (name, table)
    assert rows["match 20k×20k"]["ratio"] > 0 and "(old)" in rows["match 20k×20k"]["baseline"]


@pytest.mark.slow
def test_every_benchmark_runs_in_its_quick_size(tmp_path: Path) -> None:
    """The whole quick suite, one repetition each (about a minute: the push benchmark waits
    on the sandbox's 200 ms latency). A benchmark whose subject is not written yet may report
    ``pending``; none may fail to run."""
    table, rows = run_bench(tmp_path, "cli,coldstart,ledger,paging,grid,push,syncall", timeout=300)
    assert not [r for r in rows.values() if r["measured"] == "error"], table
    prefixes = ("CLI start", "cold start", "ledger", "paging", "grid", "push 500", "push curve")
    for prefix in prefixes:
        assert any(name.startswith(prefix) for name in rows), (prefix, table)
    assert (tmp_path / "curve.png").stat().st_size > 0


@pytest.mark.slow
def test_issue_16_benchmarks_run_in_their_quick_size(tmp_path: Path) -> None:
    """Issue #16's rows: GUI vs asyncio push, the GUI loop during a push, adaptive rate, 60/s
    server, reconnect, the 200,000-row file (20,000 quick), app.sh; each prints its baseline
    and goal."""
    table, rows = run_bench(
        tmp_path, "appsh,reconnect,guipush,guiloop,adaptive,bigfile", timeout=500
    )
    assert not [r for r in rows.values() if r["measured"] == "error"], table
    for prefix in (
        "app.sh second start",
        "reconnect: reload 200 clients",
        "GUI push 400 vs asyncio",
        "GUI push 400: longest loop stall",
        "GUI push 400: grid rebuilds",
        "send rate @200 ms (sustained)",
        "send rate busiest second",
        "push vs a 60/s server",
        "push file 20000: peak memory",
        "push file 20000: first request",
    ):
        row = rows.get(prefix)
        assert row is not None, (prefix, table)
        assert row["baseline"] and row["goal"][0] in "≤≥", row


def test_unknown_benchmark_name_is_refused() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "nosuch"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "unknown benchmark nosuch" in proc.stderr
