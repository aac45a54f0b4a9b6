"""The mapping grid against a live sandbox: drags (model MIME round trip and real drop events),
multi-select, keyboard paths, undo/redo, suggestions, conflicts, stale clients, CSV, restart
survival and sync to Gradient."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gradient_desktop.sandbox.seed import PARTNER_DEMO, VENDOR_KEY, demo_vendor_customers
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.integration import Customer, IntegrationService
from gradient_desktop.services.mapping import MappingService
from gradient_desktop.services.mapping_csv import MappingCsvError
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.store.models import Partner
from gradient_desktop.ui.mapping.grid import MappingGrid
from gradient_desktop.ui.mapping.models import ACCOUNT_MIME, CLIENT_MIME
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets
from tests.gui_helpers import screenshot

pytestmark = pytest.mark.gui
Qt = QtCore.Qt


@pytest.fixture
def partner(ctx: AppContext, sandbox: Any, qloop: Any) -> Partner:
    """Contoso on the sandbox: the vendor's 184 demo customers saved, 200 clients synced."""
    directory = PartnerDirectory(ctx)
    profile = directory.save_profile("northwind", sandbox.base_url, VENDOR_KEY)
    p = directory.add("Contoso", profile, PARTNER_DEMO)
    service = IntegrationService(ctx)
    service.save_customers(
        p,
        [
            Customer(c["id"], c["name"], c["description"])
            for c in demo_vendor_customers(PARTNER_DEMO)
        ],
    )
    qloop.run_until_complete(service.sync_clients(p))
    return p


@pytest.fixture
def grid(ctx: AppContext, partner: Partner, qtbot: Any) -> MappingGrid:
    widget = MappingGrid(ctx)
    qtbot.addWidget(widget)
    widget.set_partner(partner)
    return widget


def client_named(grid: MappingGrid, name: str) -> str:
    side = grid.state.right
    return side.ids[side.names.index(name)]


def select_accounts(grid: MappingGrid, ids: list[str]) -> None:
    view, model = grid.accounts_view, grid.accounts_model
    selection = QtCore.QItemSelection()
    for rid in ids:
        row = model.visible_row_of(rid)
        selection.select(model.index(row, 0), model.index(row, model.columnCount() - 1))
    view.selectionModel().select(selection, QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect)


def unmapped_without_suggestion(grid: MappingGrid) -> list[str]:
    return [i for i in grid.state.left.ids if grid.state.left_state(i) == "unmapped"]


def test_models_pass_the_qt_model_tester(grid: MappingGrid, qtmodeltester: Any) -> None:
    qtmodeltester.check(grid.accounts_model)
    qtmodeltester.check(grid.clients_model)
    grid.accounts_model.set_filter("dental")
    qtmodeltester.check(grid.accounts_model)


def test_dragging_several_selected_accounts_onto_a_client_maps_them_in_one_undo_step(
    grid: MappingGrid, ctx: AppContext, partner: Partner
) -> None:
    ids = grid.state.left.ids[:3]
    select_accounts(grid, ids)
    assert grid.selected_accounts() == sorted(
        ids, key=lambda i: grid.accounts_model.visible_row_of(i)
    )
    indexes = grid.accounts_view.selectionModel().selectedIndexes()
    mime = grid.accounts_model.mimeData(indexes)
    assert mime.hasFormat(ACCOUNT_MIME) and set(mime.text().split("\n")) == set(ids)
    target_row = 5
    target = grid.clients_model.id_at(target_row)
    parent = grid.clients_model.index(target_row, 0)
    assert grid.clients_model.canDropMimeData(mime, Qt.DropAction.CopyAction, -1, -1, parent)
    assert grid.clients_model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, -1, parent)

    stored = MappingService(ctx).mappings(partner)
    assert {i: stored[i] for i in ids} == dict.fromkeys(ids, target)
    assert grid.undo_stack.count() == 1
    assert all(grid.state.left_state(i) == "conflict" for i in ids)  # one account per client

    grid.undo_stack.undo()
    assert not set(ids) & set(MappingService(ctx).mappings(partner))
    grid.undo_stack.redo()
    assert set(MappingService(ctx).mappings(partner)) >= set(ids)


def test_plain_text_ids_can_be_dropped_too(grid: MappingGrid) -> None:
    mime = QtCore.QMimeData()
    mime.setText("cust-0001, cust-0002\nnot-an-id")
    parent = grid.clients_model.index(0, 0)
    assert grid.clients_model.dropMimeData(mime, Qt.DropAction.CopyAction, -1, -1, parent)
    assert set(grid.state.mapping) == {"cust-0001", "cust-0002"}


def test_a_real_drop_event_on_the_client_list_maps(grid: MappingGrid, qtbot: Any) -> None:
    grid.resize(1200, 600)
    grid.show()
    qtbot.waitExposed(grid)
    view = grid.clients_view
    mime = QtCore.QMimeData()
    mime.setData(ACCOUNT_MIME, QtCore.QByteArray(b'["cust-0003"]'))
    rect = view.visualRect(grid.clients_model.index(2, 0))
    pos = QtCore.QPointF(rect.center())
    target = grid.clients_model.id_at(2)
    viewport = view.viewport()
    for event in (
        QtGui.QDragEnterEvent(
            pos.toPoint(),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        ),
        QtGui.QDragMoveEvent(
            pos.toPoint(),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        ),
        QtGui.QDropEvent(
            pos,
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        ),
    ):
        QtWidgets.QApplication.sendEvent(viewport, event)
    assert grid.state.mapping == {"cust-0003": target}


def test_dragging_a_client_back_to_the_accounts_pane_or_delete_unmaps(
    grid: MappingGrid, qtbot: Any
) -> None:
    a, b, c = grid.state.left.ids[:3]
    grid.map_accounts([a, b], grid.state.right.ids[0])
    grid.map_accounts([c], grid.state.right.ids[1])
    row = grid.clients_model.visible_row_of(grid.state.right.ids[0])
    mime = grid.clients_model.mimeData([grid.clients_model.index(row, 0)])
    assert mime.hasFormat(CLIENT_MIME)
    assert grid.accounts_model.dropMimeData(
        mime, Qt.DropAction.CopyAction, -1, -1, QtCore.QModelIndex()
    )
    assert set(grid.state.mapping) == {c}

    select_accounts(grid, [c])
    qtbot.keyClick(grid.accounts_view, Qt.Key.Key_Delete)
    assert grid.state.mapping == {}
    assert grid.undo_stack.count() == 4
    grid.undo_stack.undo()
    grid.undo_stack.undo()
    assert set(grid.state.mapping) == {a, b, c}


def test_keyboard_only_select_accounts_focus_clients_and_press_enter(
    grid: MappingGrid, qtbot: Any
) -> None:
    ids = unmapped_without_suggestion(grid)[:2]
    select_accounts(grid, ids)
    grid.clients_view.select_row(7)
    target = grid.clients_model.id_at(7)
    qtbot.keyClick(grid.clients_view, Qt.Key.Key_Return)
    assert {i: grid.state.mapping[i] for i in ids} == dict.fromkeys(ids, target)
    qtbot.keyClick(grid.clients_view, Qt.Key.Key_Delete)  # unmap what the client has
    assert not set(ids) & set(grid.state.mapping)
    select_accounts(grid, ids)
    qtbot.keyClick(grid.accounts_view, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert set(ids) <= set(grid.state.mapping)


def test_enter_accepts_the_suggestion_of_the_selected_rows(grid: MappingGrid, qtbot: Any) -> None:
    assert grid.state.left_state("cust-0001") == "suggested"
    select_accounts(grid, ["cust-0001"])
    qtbot.keyClick(grid.accounts_view, Qt.Key.Key_Enter)
    assert grid.state.target_name(grid.state.mapping["cust-0001"]) == "Acme Corporation"
    assert grid.state.origin["cust-0001"] == "suggested"


def test_accepting_all_suggestions_maps_the_demo_in_one_undoable_step(
    grid: MappingGrid, qtbot: Any
) -> None:
    grid.show()
    grid.activateWindow()
    qtbot.waitActive(grid)
    grid.accounts_view.setFocus()
    qtbot.waitUntil(grid.accounts_view.hasFocus, timeout=2000)
    before = grid.state.counters()
    assert before["suggested"] >= 170 and before["mapped"] == 0
    qtbot.keyClick(
        grid.accounts_view,
        Qt.Key.Key_A,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    after = grid.state.counters()
    assert after["mapped"] == before["suggested"] and after["suggested"] == 0
    assert grid.undo_stack.count() == 1 and grid.undo_stack.undoText().startswith("Accept")
    # The few left over are mapped by hand (a drop each).
    leftovers = unmapped_without_suggestion(grid)
    free = [c for c in grid.state.right.ids if c not in grid.state.target_count]
    for account, client in zip(leftovers, free, strict=False):
        grid.map_accounts([account], client)
    assert grid.state.counters()["unmapped"] == 0 and grid.state.counters()["conflict"] == 0
    while grid.undo_stack.canUndo():
        grid.undo_stack.undo()
    assert grid.state.mapping == {} and grid.state.counters()["suggested"] == before["suggested"]


def test_threshold_limits_what_accept_all_takes(grid: MappingGrid) -> None:
    grid.state.set_suggestions([])
    from gradient_desktop.services.suggest import Suggestion

    c1, c2 = grid.state.right.ids[:2]
    grid.state.set_suggestions([Suggestion("cust-0001", c1, 95), Suggestion("cust-0002", c2, 70)])
    grid.suggestion_bar.threshold.setValue(90)
    assert grid.accept_all() == 1
    assert set(grid.state.mapping) == {"cust-0001"}
    assert grid.accept_all(60) == 1


def test_conflicts_are_flagged_only_with_one_account_per_client(grid: MappingGrid) -> None:
    a, b = unmapped_without_suggestion(grid)[:2]
    client = grid.state.right.ids[3]
    grid.map_accounts([a], client)
    grid.map_accounts([b], client)
    assert grid.state.left_state(a) == grid.state.left_state(b) == "conflict"
    assert grid.state.right_state(client) == "conflict"
    assert grid.state.counters()["conflict"] == 2
    assert "may have only one" in grid.suggestion_bar.message.text()
    grid.accounts_header.mode.setCurrentText("Conflicts")
    assert set(grid.accounts_model.visible_ids()) == {a, b}
    grid.suggestion_bar.one_per_client.setChecked(False)
    assert grid.state.left_state(a) == "mapped" and grid.accounts_model.rowCount() == 0


def test_stale_client_is_flagged_after_the_sandbox_deletes_it(
    grid: MappingGrid, ctx: AppContext, partner: Partner, sandbox: Any, qloop: Any
) -> None:
    client = client_named(grid, "Acme Corporation")
    grid.map_accounts(["cust-0001"], client)
    sandbox.state.delete_client(PARTNER_DEMO, client)
    result = qloop.run_until_complete(IntegrationService(ctx).sync_clients(partner))
    assert result.stale == 1
    grid.reload()
    assert grid.state.left_state("cust-0001") == "stale"
    assert grid.state.right_state(client) == "stale"
    grid.accounts_header.mode.setCurrentText("Stale")
    assert grid.accounts_model.visible_ids() == ["cust-0001"]
    # A stale client is never suggested.
    assert all(t != client for t, _c in grid.state.suggestions.values())


def test_search_filters_as_you_type_and_sorting_is_done_in_python(
    grid: MappingGrid, qtbot: Any
) -> None:
    grid.accounts_header.search.setText("acme")
    qtbot.waitUntil(lambda: grid.accounts_model.rowCount() < len(grid.state.left), timeout=2000)
    names = [
        grid.state.left.names[grid.state.left.pos[i]] for i in grid.accounts_model.visible_ids()
    ]
    assert names and all("acme" in n.lower() for n in names)
    grid.accounts_header.search.setText("")
    qtbot.waitUntil(lambda: grid.accounts_model.rowCount() == len(grid.state.left), timeout=2000)
    grid.accounts_view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    ids = grid.accounts_model.visible_ids()
    assert ids == sorted(ids, reverse=True)
    grid.accounts_header.mode.setCurrentText("Suggested")
    assert all(grid.state.left_state(i) == "suggested" for i in grid.accounts_model.visible_ids())


def test_selecting_an_account_shows_its_client_in_the_other_pane(grid: MappingGrid) -> None:
    select_accounts(grid, ["cust-0001"])
    current = grid.clients_view.currentIndex()
    assert grid.clients_model.id_at(current.row()) == client_named(grid, "Acme Corporation")


def test_csv_round_trip_through_the_grid(grid: MappingGrid) -> None:
    grid.accept_all(100)
    exported = grid.export_csv()
    mapping = dict(grid.state.mapping)
    grid.undo_stack.undo()
    assert grid.state.mapping == {}
    assert grid.import_csv(exported) == len(mapping)
    assert grid.state.mapping == mapping and grid.undo_stack.undoText().startswith("Import")
    with pytest.raises(MappingCsvError, match="line 2: no vendor account"):
        grid.import_csv("vendorAccountId,gradientClientId\nnope,x\n")


def test_mappings_survive_a_new_app_context_on_the_same_home(
    grid: MappingGrid, partner: Partner, qtbot: Any
) -> None:
    grid.accept_all(90)
    mapping = dict(grid.state.mapping)
    assert len(mapping) > 150
    fresh = AppContext.open()
    try:
        again = MappingGrid(fresh)
        qtbot.addWidget(again)
        again.set_partner(PartnerDirectory(fresh).get("Contoso"))
        assert again.state.mapping == mapping
        assert again.state.counters()["mapped"] == len(mapping)
    finally:
        fresh.close()


def test_mappings_reach_the_sandbox_with_a_per_row_sync_state(
    grid: MappingGrid, ctx: AppContext, partner: Partner, sandbox: Any, qloop: Any
) -> None:
    qloop.run_until_complete(IntegrationService(ctx).publish_accounts(partner))
    grid.reload()
    grid.accept_all(100)
    assert grid.state.sync_label("cust-0001") == "saved"
    qloop.run_until_complete(asyncio.wait_for(grid.sync_pending(), 60))
    assert grid.state.sync_label("cust-0001") == "synced"
    on_sandbox = {a["id"]: a["isMapped"] for a in sandbox.state.accounts(PARTNER_DEMO)}
    assert all(on_sandbox[i] for i in grid.state.mapping)
    assert sandbox.state.client_of(PARTNER_DEMO, "cust-0001") == grid.state.mapping["cust-0001"]
    grid.undo_stack.undo()  # unmapping syncs too
    qloop.run_until_complete(asyncio.wait_for(grid.sync_pending(), 60))
    assert not any(a["isMapped"] for a in sandbox.state.accounts(PARTNER_DEMO))


def test_a_change_made_while_the_loop_runs_syncs_in_the_background(
    grid: MappingGrid, ctx: AppContext, partner: Partner, sandbox: Any, qloop: Any, qtbot: Any
) -> None:
    qloop.run_until_complete(IntegrationService(ctx).publish_accounts(partner))
    grid.reload()
    client = client_named(grid, "Acme Corporation")

    async def act() -> None:
        grid.map_accounts(["cust-0001"], client)
        assert grid._sync_task is not None
        await asyncio.wait_for(grid._sync_task, 30)

    qloop.run_until_complete(act())
    assert grid.state.sync_label("cust-0001") == "synced"
    assert sandbox.state.client_of(PARTNER_DEMO, "cust-0001") == client


def test_a_failed_sync_is_shown_on_the_row(
    grid: MappingGrid, ctx: AppContext, partner: Partner, sandbox: Any, qloop: Any
) -> None:
    qloop.run_until_complete(IntegrationService(ctx).publish_accounts(partner))
    grid.reload()
    client = client_named(grid, "Acme Corporation")
    grid.map_accounts(["cust-0001"], client)
    sandbox.state.delete_client(PARTNER_DEMO, client)  # gone before the mapping arrives
    qloop.run_until_complete(asyncio.wait_for(grid.sync_pending(), 60))
    assert grid.state.sync_label("cust-0001") == "failed"
    assert grid.state.sync_error["cust-0001"]
    assert "did not reach Gradient" in grid.suggestion_bar.message.text()


def test_unpublished_accounts_say_their_mapping_goes_with_the_publish(grid: MappingGrid) -> None:
    grid.accept_all(100)
    assert grid.state.sync_label("cust-0001") == "saved · sent on publish"


def test_the_page_maps_services_to_the_partners_services_on_gradient(
    ctx: AppContext, partner: Partner, sandbox: Any, qloop: Any, qtbot: Any
) -> None:
    from gradient_desktop.api import Sku
    from gradient_desktop.ui.mapping.page import MappingPage

    qloop.run_until_complete(
        ctx.client_for(partner).create_org_services(
            [
                {"id": "svc-backup", "name": "Backup (per server)", "description": "x"},
                {"id": "svc-archive", "name": "Archiving", "description": "y"},
            ]
        )
    )
    sandbox.state.map_service(PARTNER_DEMO, "svc-backup", "PSA Backup product")
    IntegrationService(ctx).select_services(
        partner, [Sku(id="sku-1", name="Cloud Backup – Server")]
    )
    page = MappingPage(ctx)
    qtbot.addWidget(page)
    assert page.title == "Mapping" and page.undo_stack is page.accounts.undo_stack
    page.set_partner(partner)
    page.what.setCurrentIndex(1)
    qloop.run_until_complete(asyncio.wait_for(page.tasks.wait_all(), 30))
    services = page.services
    assert services.state.left.ids == ["sku-1"]
    assert services.state.right.names == ["Archiving", "Backup (per server)"]
    row = services.clients_model.visible_row_of("svc-backup")
    state_text = services.clients_model.index(row, 3).data()
    assert state_text == "unmapped · mapped on Gradient"
    mime = services.accounts_model.mimeData([services.accounts_model.index(0, 0)])
    services.clients_model.dropMimeData(
        mime, Qt.DropAction.CopyAction, -1, -1, services.clients_model.index(row, 0)
    )
    assert MappingService(ctx).mappings(partner, "service") == {"sku-1": "svc-backup"}
    assert MappingService(ctx).mappings(partner) == {}  # accounts untouched
    page.undo_stack.undo()
    assert MappingService(ctx).mappings(partner, "service") == {}


def test_the_page_loads_clients_of_a_partner_never_synced(
    ctx: AppContext, sandbox: Any, qloop: Any, qtbot: Any
) -> None:
    from gradient_desktop.ui.mapping.page import MappingPage

    directory = PartnerDirectory(ctx)
    profile = directory.save_profile("northwind", sandbox.base_url, VENDOR_KEY)
    fresh = directory.add("Fabrikam", profile, "sandbox-partner-small")
    page = MappingPage(ctx)
    qtbot.addWidget(page)

    async def open_page() -> None:
        page.set_partner(fresh)  # the loop runs: the page starts loading the clients itself
        await asyncio.wait_for(page.tasks.wait_all(), 30)

    qloop.run_until_complete(open_page())
    assert len(page.accounts.state.right) == 25
    assert "Loaded 25 clients" in page.accounts.suggestion_bar.message.text()


def test_the_grid_says_why_each_suggestion_was_made_and_unmapped_includes_them(
    grid: MappingGrid,
) -> None:
    model = grid.accounts_model
    why = model.column("why")
    assert model.headerData(why, Qt.Orientation.Horizontal) == "Why suggested"
    row = model.visible_row_of("cust-0001")  # "ACME Corp." → Acme Corporation
    reason = model.data(model.index(row, why))
    assert reason == grid.state.suggestion_reason("cust-0001") == "same name: acme"
    tip = model.data(model.index(row, model.column("target")), Qt.ItemDataRole.ToolTipRole)
    assert "same name: acme" in tip and "Enter accepts" in tip
    # Issue #11: counters agree with "accounts − mapped", and "Unmapped only" keeps suggestions.
    c = grid.state.counters()
    assert c["unmapped"] == c["accounts"] - c["mapped"] and c["suggested"] >= 170
    grid._update_status()
    assert f"{c['unmapped']:,} unmapped" in grid.status.text()
    grid.accounts_header.mode.setCurrentText("Unmapped only")
    assert len(model.visible_ids()) == c["unmapped"]
    assert "cust-0001" in model.visible_ids()


def test_reasons_on_a_messy_list_and_the_screenshot(ctx: AppContext, qtbot: Any) -> None:
    """Part of the evaluation set (tests/match_eval.py) in a real grid: typos, domains and
    look-alikes show their reasons; the screenshot the README shows is this grid."""
    from gradient_desktop.services.mapping import GridRows
    from gradient_desktop.services.suggest import suggest
    from tests.match_eval import build

    ev = build()
    clients = ev.clients[:160]
    keep = {cid for cid, _n in clients}
    customers = [
        (vid, name)
        for n, (vid, name) in enumerate(ev.customers)
        if ev.truth[vid] in keep or (ev.truth[vid] is None and n % 6 == 0)
    ]
    widget = MappingGrid(ctx)
    qtbot.addWidget(widget)
    widget.state.load(
        GridRows(
            left=[(vid, name, "Plan: Pro", 1) for vid, name in customers],
            right=[(cid, name, 0) for cid, name in sorted(clients, key=lambda c: c[1].lower())],
            mappings=[],
        )
    )
    widget.accounts_model.reload()
    widget.clients_model.reload()
    widget.state.set_suggestions(suggest(*widget.state.suggestion_inputs()))
    widget._after_change(refilter=True)
    model = widget.accounts_model
    why = model.column("why")
    reasons = [model.data(model.index(r, why)) for r in range(model.rowCount())]
    assert any(r.startswith("matched ") and "≈" in r for r in reasons)  # a typo paired
    assert any(r.startswith("same name: ") for r in reasons)
    widget.resize(1700, 640)
    widget.splitter.setSizes([1130, 570])
    widget.accounts_header.mode.setCurrentText("Suggested")
    widget.accounts_view.sortByColumn(why, Qt.SortOrder.AscendingOrder)
    widget.show()
    widget._update_status()
    screenshot(widget, "mapping_grid.png")  # GRADIENT_DESKTOP_SCREENSHOTS=docs/screenshots


def test_the_counters_line_renders_the_partners_state(
    ctx: AppContext, partner: Partner, grid: MappingGrid, qtbot: Any
) -> None:
    """Accounts, mapped, published and mapped-on-Gradient come from services/state.py (the
    figures the partners list and the wizard show), so a mapping made elsewhere (the CLI, a
    CSV, the other grid) shows in this line at once, before this grid re-reads its rows."""
    from gradient_desktop.services.mapping import MappingChange
    from gradient_desktop.ui.state_binding import binding

    st = ctx.state.get(partner.id or 0)
    assert st is not None and st.accounts_total == 184 and st.accounts_mapped == 0
    grid._update_status()
    assert "184 accounts · " in grid.status.text() and "● 0 mapped" in grid.status.text()
    clients = list(grid.state.right.ids[:3])
    MappingService(ctx).apply(
        partner,
        [MappingChange(a, c) for a, c in zip(grid.state.left.ids[:3], clients, strict=True)],
    )
    binding(ctx).flush_now()  # the grid is told, and re-renders its line on its own
    qtbot.waitUntil(lambda: "● 3 mapped" in grid.status.text(), timeout=5000)
    text = grid.status.text()
    assert grid.state.mapping == {}  # the grid has not re-read its rows
    assert "● 3 mapped" in text and "● 181 unmapped" in text
    assert "0 published" in text and "0 mapped on Gradient" in text
    assert "● 0 conflicts" in text and "200 clients" in text
    grid.resize(1500, 420)
    screenshot(grid, "mapping_grid_counters.png")
