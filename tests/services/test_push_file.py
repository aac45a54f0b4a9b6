"""A count file checked whole, then queued in parts while it is sent (services/push_file.py,
services/count_file.py, services/push_windows.py), against the sandbox over a real socket:
every row lands once, one rebuild, cells in order; a file cut off between parts resumes at its
first unqueued row; the streaming check says exactly what the whole-file parser says."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradient_desktop.counts import CountRow
from gradient_desktop.services import csvio, push_file, push_windows
from gradient_desktop.services.count_file import CountFile, FileChanged
from gradient_desktop.services.push_file import FilePush
from gradient_desktop.store.outbox import new_batch_id
from tests.reliability.helpers import (
    accounts_for,
    add_partner,
    fold,
    make_context,
    new_partner,
    set_rows,
    write_rows_csv,
    wrong_counts,
)


@pytest.fixture
def small_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows and parts small enough that a test file spans many of each."""
    monkeypatch.setattr(push_windows, "WINDOW", 97)
    monkeypatch.setattr(push_file, "PART", 211)
    monkeypatch.setattr(push_file, "FIRST_PART", 13)


def _world(sandbox_factory: Any, tmp_path: Path, n: int, twice_every: int = 0) -> Any:
    """A sandbox, a partner with ``n / 3`` mapped accounts, a file of ``n`` sets (plus a
    second value for every ``twice_every``-th cell) and an app context."""
    sb = sandbox_factory(seed="demo", rate_limit=None)
    key, skus = new_partner(sb.state, accounts_for(n))
    rows = set_rows(skus, n)
    if twice_every:
        rows += [(s, a, c + 1, op) for s, a, c, op in rows[::twice_every]]
    path = tmp_path / "counts.csv"
    write_rows_csv(path, rows)
    return sb, key, rows, path, make_context(tmp_path / "db.sqlite3")


def _push(ctx: Any, partner: Any, path: Path, **kwargs: Any) -> FilePush:
    file = CountFile(path)
    check = file.check()
    assert check.ok, check.error_text()

    async def main() -> FilePush:
        try:
            return await push_file.push_file(ctx, partner, file, check, actor="test", **kwargs)
        finally:
            await ctx.aclose()

    return asyncio.run(main())


def test_a_streamed_file_lands_once_with_one_rebuild(
    sandbox_factory: Any, tmp_path: Path, small_windows: None
) -> None:
    # Every cell twice: the later value must win, so the rows of a cell keep their order
    # across parts and windows.
    sb, key, rows, path, ctx = _world(sandbox_factory, tmp_path, 1200, twice_every=7)
    try:
        partner = add_partner(ctx, sb.base_url, key)
        done = _push(ctx, partner, path)
        report = done.summary.report
        assert done.queued == len(rows) and not done.repeat
        assert (report.total, report.ok) == (len(rows), len(rows)), done.summary.text()
        assert report.rebuild_triggered and sb.state.rebuilds(key) == 1
        assert wrong_counts(sb.state, key, fold(rows)) == []
        assert ctx.outbox.pending_count(partner.id) == 0
        # The same file again: nothing is queued twice.
        again = _push(ctx, partner, path)
        assert again.repeat and again.queued == 0 and again.summary.report.total == 0
    finally:
        ctx.close()


def test_a_file_cut_off_between_parts_resumes_at_its_first_unqueued_row(
    sandbox_factory: Any, tmp_path: Path, small_windows: None
) -> None:
    n = 600
    sb, key, rows, path, ctx = _world(sandbox_factory, tmp_path, n)
    try:
        partner = add_partner(ctx, sb.base_url, key)
        # What a run killed after its first part leaves: 250 rows queued under the source.
        file = CountFile(path)
        check = file.check()
        batch = new_batch_id()
        first = next(file.parts(250))
        ctx.outbox.enqueue(
            partner.id, first, "killed", source=f"sha256:{check.digest}", batch_id=batch, start=0
        )
        assert ctx.outbox.source_progress(partner.id, f"sha256:{check.digest}") == (batch, 250)
        done = _push(ctx, partner, path)
        assert done.continued and done.queued == n - 250
        assert done.summary.report.ok == n and sb.state.rebuilds(key) == 1
        assert wrong_counts(sb.state, key, fold(rows)) == []
        # One batch, every position once: the idempotency keys continue where the part ended.
        assert ctx.outbox.source_progress(partner.id, f"sha256:{check.digest}") == (batch, n)
    finally:
        ctx.close()


def test_billing_is_rebuilt_once_when_the_last_window_lands_nothing(
    sandbox_factory: Any, tmp_path: Path, small_windows: None
) -> None:
    sb, key, rows, path, ctx = _world(sandbox_factory, tmp_path, 300)
    # Then two windows' worth of accounts the MSP never mapped: the final window lands nothing.
    unmapped = [(rows[0][0], f"nobody-{i}", 1.0, "set") for i in range(250)]
    write_rows_csv(path, rows + unmapped)
    try:
        partner = add_partner(ctx, sb.base_url, key)
        report = _push(ctx, partner, path).summary.report
        assert (report.ok, report.unmapped) == (300, 250)
        assert report.rebuild_triggered and sb.state.rebuilds(key) == 1
        assert wrong_counts(sb.state, key, fold(rows)) == []
    finally:
        ctx.close()


def test_a_file_changed_after_its_check_queues_nothing_more(tmp_path: Path) -> None:
    path = tmp_path / "counts.csv"
    path.write_text("accountId,serviceId,unitCount\na,s,1\nb,s,2\n")
    file = CountFile(path)
    assert file.check().rows == 2
    path.write_text("accountId,serviceId,unitCount\na,s,1\nb,s,-2\n")
    with pytest.raises(FileChanged, match="changed"):
        list(file.parts(10))


def test_a_pipe_is_read_once_and_checked_like_a_file(tmp_path: Path) -> None:
    import os

    read, write = os.pipe()
    os.write(write, b"accountId,serviceId,unitCount,op\na,s,1,set\nb,s,2,add\n")
    os.close(write)
    file = CountFile(Path(f"/dev/fd/{read}"))
    try:
        check = file.check()
        assert (check.rows, check.has_deltas, check.ok) == (2, True, True)
        assert [r for part in file.parts(1) for r in part] == [
            CountRow("s", "a", 1),
            CountRow("s", "b", 2, "add"),  # type: ignore[arg-type]
        ]
    finally:
        os.close(read)


# -- the fast check of a CSV of ids is the general check -------------------------------------

_cell = st.one_of(
    st.sampled_from(["", " ", "acc-1", "svc", "12", "0", "-3", "1e3", "1,5", "abc", "x" * 201]),
    st.sampled_from(["set", "ADD", " subtract ", "add", "multiply", "1e999", "\x07bell"]),
    st.text(max_size=6),
)
_line = st.lists(_cell, min_size=0, max_size=5)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(header_op=st.booleans(), lines=st.lists(_line, max_size=12))
def test_the_fast_csv_check_says_what_the_general_one_says(
    header_op: bool, lines: list[list[str]]
) -> None:
    import csv

    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["accountId", "serviceId", "unitCount", *(["op"] if header_op else [])])
    writer.writerows(lines)
    text = out.getvalue()

    fast_problems = csvio.ErrorList()
    fast = list(csvio.csv_id_rows(io.StringIO(text, newline=""), text[:4096], fast_problems))
    slow_problems = csvio.ErrorList()
    records = csvio.csv_records(io.StringIO(text, newline=""), text[:4096], slow_problems)
    slow = [
        (r.service_id, r.account_id, r.unit_count, r.op)
        for _line, r in csvio.checked_rows(records, slow_problems)
    ]
    assert fast == slow
    assert fast_problems.errors == slow_problems.errors
