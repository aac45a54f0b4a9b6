"""The Usage page against a live sandbox: cells edited and Add/Subtract staged, undone and redone;
a CSV with bad rows previewed with row numbers; 2,000 imported counts pushed through faults and a
rate limit with a live progress bar and exactly one rebuild; the history chart follows; a page
opened on unfinished outbox rows says what it is finishing and finishes it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gradient_desktop.services.context import AppContext
from gradient_desktop.ui.qt import QtCore
from gradient_desktop.ui.usage.page import UsagePage
from tests.gui_helpers import screenshot, settle, wait_until
from tests.usage_helpers import PARTNER_KEY, connected_partner, service_ids

pytestmark = pytest.mark.gui


def _page(qtbot: Any, ctx: AppContext, partner: Any) -> UsagePage:
    page = UsagePage(ctx, None)
    qtbot.addWidget(page)
    page.resize(1400, 820)
    page.set_partner(partner)
    page.show()
    return page


def _wait_push(qloop: Any, page: UsagePage, timeout: float = 60) -> Any:
    assert page.push_task is not None
    return qloop.run_until_complete(asyncio.wait_for(page.push_task, timeout))


def test_models_pass_the_model_tester(
    qtbot: Any, qtmodeltester: Any, qloop: Any, ctx: AppContext, sandbox: Any
) -> None:
    partner = qloop.run_until_complete(connected_partner(ctx, sandbox, 4))
    page = _page(qtbot, ctx, partner)
    sid = service_ids(ctx, partner)[0]
    page.stage_amount([(sid, "acct-0000")], "set", "3")
    for model in (page.grid_model, page.flat_model, page.staged_model, page.history.table_model):
        qtmodeltester.check(model)
    assert page.grid_model.rowCount() == 4 and page.grid_model.columnCount() == 4
    assert page.flat_model.rowCount() == 12


def test_editing_cells_stages_highlighted_diffs_that_undo_and_redo(
    qtbot: Any, qloop: Any, ctx: AppContext, sandbox: Any
) -> None:
    partner = qloop.run_until_complete(connected_partner(ctx, sandbox, 3))
    page = _page(qtbot, ctx, partner)
    grid = page.grid_model
    cell = grid.index(0, 1)
    assert grid.setData(cell, "12")
    assert grid.data(cell) == "— → 12"
    assert grid.data(cell, QtCore.Qt.ItemDataRole.BackgroundRole) is not None
    assert page.staged_label.text() == "Staged: 1 change, not sent yet"
    page.undo_stack.undo()
    assert grid.data(cell) == "" and page.staged_model.rowCount() == 0
    page.undo_stack.redo()
    assert page.staged_model.rowCount() == 1

    # Push it, then Add / Subtract on the selected cell through the buttons.
    page.push_action.trigger()
    summary = _wait_push(qloop, page)
    assert summary.all_landed
    assert grid.data(cell) == "12"
    page.grid.setCurrentIndex(cell)
    page.amount.setText("20")
    page.subtract_button.click()
    assert "below zero" in page.notice.text() and "Subtract at most 12" in page.notice.text()
    page.amount.setText("4.5")
    page.add_button.click()
    assert grid.data(cell) == "12 +4.5"
    page.subtract_button.click()  # +4.5 − 4.5 cancels out: nothing staged
    assert page.staged_model.rowCount() == 0
    page.amount.setText("2")
    page.subtract_button.click()
    page.push_button.click()
    _wait_push(qloop, page)
    sid = service_ids(ctx, partner)[0]
    first = sorted(a.account_id for a in page.usage.refs().accounts)[0]
    assert sandbox.state.counts(PARTNER_KEY)[(sid, first)]["unitCount"] == 10
    assert page.undo_stack.count() == 0  # pushed edits are no longer undoable edits


def test_csv_with_bad_rows_is_previewed_with_row_numbers_before_staging(
    qtbot: Any, qloop: Any, ctx: AppContext, sandbox: Any
) -> None:
    partner = qloop.run_until_complete(connected_partner(ctx, sandbox, 3))
    page = _page(qtbot, ctx, partner)
    sid = service_ids(ctx, partner)[0]
    csv = f"accountId,serviceId,unitCount\nacct-0000,{sid},5\nacct-0001,{sid},-1\nnobody,{sid},3\n"
    page.import_bytes(csv.encode(), "counts.csv")
    dialog = page.import_dialog
    assert dialog is not None and dialog.isVisible()
    rows = [
        [dialog.errors_model.index(r, c).data() for c in range(2)]
        for r in range(dialog.errors_model.rowCount())
    ]
    assert [r[0] for r in rows] == ["3", "4"]
    assert "negative" in rows[0][1] and "not mapped" in rows[1][1]
    assert page.staged_model.rowCount() == 0  # nothing staged until the user says so
    dialog.stage_button.click()
    assert page.staged_model.rowCount() == 1
    assert sandbox.state.counts(PARTNER_KEY) == {}  # and nothing sent


@pytest.mark.slow
def test_importing_2000_counts_and_pushing_through_faults_lands_every_count_once(
    qtbot: Any, qloop: Any, ctx: AppContext, sandbox_factory: Any
) -> None:
    sb = sandbox_factory(seed="demo", fail_rate=0.1, rate_limit=100)
    partner = qloop.run_until_complete(connected_partner(ctx, sb, 667))
    sids = service_ids(ctx, partner)
    page = _page(qtbot, ctx, partner)
    intended = {}
    lines = ["accountId,serviceId,unitCount"]
    for i in range(2000):
        acc, sid = f"acct-{i // 3:04d}", sids[i % 3]
        intended[(sid, acc)] = round(i * 0.75 + 1, 2)
        lines.append(f"{acc},{sid},{intended[(sid, acc)]}")
    page.import_bytes("\n".join(lines).encode(), "usage-2000.csv")
    assert page.staged_model.rowCount() == 2000
    assert page.staged_label.text() == "Staged: 2,000 changes, not sent yet"
    page.grid.setCurrentIndex(page.grid_model.index(0, 1))
    page.grid.selectionModel().select(
        page.grid_model.index(1, 2), QtCore.QItemSelectionModel.SelectionFlag.Select
    )
    screenshot(page, "usage_editor.png")  # GRADIENT_DESKTOP_SCREENSHOTS=docs/screenshots

    seen: list[int] = []
    page.progress_changed.connect(lambda done, total: seen.append(done))
    page.push_action.trigger()
    wait_until(qloop, lambda: page.panel.bar.isVisible() and page.panel.bar.value() > 0)
    assert page.panel.cancel.isEnabled() and " of 2,000 sent" in page.panel.label.text()
    summary = _wait_push(qloop, page, 180)
    assert summary.all_landed, summary.text()
    assert len(set(seen)) > 20 and seen[-1] == 2000  # the bar moved live, to the end
    settle(qloop)
    # Ended: the panel says what the push did (from the partner's state), no idle bar.
    assert not page.panel.bar.isVisible() and summary.text() in page.panel.label.text()
    counts = sb.state.counts(PARTNER_KEY)
    assert {k: counts[k]["unitCount"] for k in intended} == intended
    assert sb.state.rebuilds(PARTNER_KEY) == 1

    # A second push on the first cell, then the chart shows both points.
    page.stage_amount([(sids[0], "acct-0000")], "add", "3")
    sb.options.fail_rate = 0.0
    page.push_action.trigger()
    _wait_push(qloop, page)
    page.grid.setCurrentIndex(page.grid_model.index(1, 2))
    page.grid.setCurrentIndex(page.grid_model.index(0, 1))
    history = page.history
    assert [p.total for p in history.points] == [1.0, 4.0]
    assert history.table_model.rowCount() == 2
    assert history.plot.getPlotItem().listDataItems()
    history.resize(560, 460)
    screenshot(history, "usage_history.png")


def test_a_page_opened_on_unfinished_rows_says_so_and_finishes_them(
    qtbot: Any, qloop: Any, ctx: AppContext, sandbox: Any
) -> None:
    partner = qloop.run_until_complete(connected_partner(ctx, sandbox, 2))
    sid = service_ids(ctx, partner)[0]
    ctx.outbox.enqueue(
        partner.id or 0, [(sid, "acct-0000", 6, "set"), (sid, "acct-0000", 1, "add")]
    )
    page = _page(qtbot, ctx, partner)
    assert page.banner.isVisible()
    assert page.banner.text().startswith("Finishing 2 counts queued by an earlier push")
    summary = _wait_push(qloop, page)
    assert summary.resumed == 2 and summary.all_landed
    assert not page.banner.isVisible()
    assert sandbox.state.counts(PARTNER_KEY)[(sid, "acct-0000")]["unitCount"] == 7


def test_a_push_updates_the_changed_cells_in_place_without_rebuilding_the_grid(
    qtbot: Any, qloop: Any, ctx: AppContext, sandbox: Any
) -> None:
    """Issue 16: the page rebuilt its grid from the store during a push (the loop blocked for
    every rebuild, the selection lost). Now the ledger is read on a worker thread and only the
    cells that changed are announced: no model reset from the click to the last answer."""
    partner = qloop.run_until_complete(connected_partner(ctx, sandbox, 100))
    sids = service_ids(ctx, partner)
    page = _page(qtbot, ctx, partner)
    usage = page.usage
    assert usage is not None
    base = usage.projected_totals()
    edits = [
        usage.make_edit((sid, f"acct-{i:04d}"), "set", float(i + 1), base=base)
        for i in range(100)
        for sid in sids
    ]
    page.stage_edits([e for e in edits if e is not None], "300 counts")
    grid = page.grid_model
    page.grid.setCurrentIndex(grid.index(5, 2))
    resets: list[str] = []
    live: list[bool] = []  # for each cell update: was the push still running?
    for model in (grid, page.flat_model):
        model.modelReset.connect(lambda: resets.append("reset"))
    grid.dataChanged.connect(lambda *_: live.append(page.pushing))

    page.push_action.trigger()  # ~3 s at Gradient's 100 requests/s: live refreshes happen
    summary = _wait_push(qloop, page)
    assert summary.all_landed
    assert resets == []
    assert any(live), "no cell was updated while the push ran"
    assert page.grid.currentIndex() == grid.index(5, 2)  # a reset would have dropped it
    assert grid.data(grid.index(0, 1)) == "1"
    row = next(
        r
        for r in range(page.flat_model.rowCount())
        if page.flat_model.cell_key(page.flat_model.index(r, 0)) == (sids[2], "acct-0099")
    )
    assert page.flat_model.data(page.flat_model.index(row, 2)) == "100"
