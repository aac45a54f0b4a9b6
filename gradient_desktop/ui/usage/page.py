"""The Usage page: mapped accounts × services as a grid (or a flat list) showing each cell's last
pushed count, when, and its state; set a count by typing in a cell, or Add / Subtract an amount
on the selected cells; staged edits are highlighted, listed old → new, undoable, kept on disk,
and pushed together (Ctrl+Enter) with a progress bar, an ETA and Cancel. Import/export of count
files, "same count for all mapped clients", drift, and a history chart per cell.

The page only calls ``UsageService`` (Qt-free); the push runs on the qasync loop via TaskRunner.
On selecting a partner with unfinished outbox rows it says what it is finishing and resumes them.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from gradient_desktop.api import ProgressEvent
from gradient_desktop.counts import Cell
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.push import PushSummary
from gradient_desktop.services.usage import (
    StagedEdit,
    StagingError,
    UsageService,
    parse_amount,
)
from gradient_desktop.services.wording import plural
from gradient_desktop.store.models import Partner
from gradient_desktop.ui import theme
from gradient_desktop.ui.message_line import MessageLine
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets
from gradient_desktop.ui.state_binding import binding
from gradient_desktop.ui.tasks import TaskRunner, show_error
from gradient_desktop.ui.usage.dialogs import DriftDialog, ImportDialog
from gradient_desktop.ui.usage.file_actions import FileActions
from gradient_desktop.ui.usage.history import HistoryPanel
from gradient_desktop.ui.usage.live_cells import LiveCells
from gradient_desktop.ui.usage.models import FlatModel, GridModel, StagedModel
from gradient_desktop.ui.usage.push_panel import PushPanel

Key = Cell  # (service_id, account_id), the one key order of a count
#: Refresh the grid and the chart at most this often while a push runs (live, but cheap: the
#: ledger is read on a worker thread and only the cells that changed are updated).
_LIVE_REFRESH_S = 1.0


class StageCommand(QtGui.QUndoCommand):
    """Stage (or unstage) edits of some cells; undo restores what those cells had staged."""

    def __init__(self, page: UsagePage, changes: list[tuple[Key, StagedEdit | None]], text: str):
        super().__init__(text)
        self.page, self.changes = page, changes
        self.inverse: list[tuple[Key, StagedEdit | None]] = []

    def redo(self) -> None:
        assert self.page.usage is not None
        self.inverse = self.page.usage.put(self.changes)
        self.page.staged_changed()

    def undo(self) -> None:
        assert self.page.usage is not None
        self.page.usage.put(self.inverse)
        self.page.staged_changed()


class UsagePage(FileActions, QtWidgets.QWidget):
    title = "Usage"
    progress_changed = QtCore.Signal(int, int)  # done, total
    push_finished = QtCore.Signal(object)  # PushSummary | Exception

    def __init__(self, ctx: AppContext, window: QtWidgets.QWidget | None = None) -> None:
        super().__init__()
        self.ctx, self.window_ = ctx, window
        self.tasks = TaskRunner(self)
        self.undo_stack = QtGui.QUndoStack(self)
        self.usage: UsageService | None = None
        self.push_task: asyncio.Task[Any] | None = None
        self.cancel_event: asyncio.Event | None = None
        self.import_dialog: ImportDialog | None = None
        self.drift_dialog: DriftDialog | None = None
        self._last_live = self._last_bar = 0.0
        self._build()
        # The grid and list follow the ledger without blocking the loop (live_cells.py).
        self.cells = LiveCells(
            lambda: self.usage, self.grid_model, self.flat_model, self._size_columns
        )
        binding(ctx).changed.connect(self.render_state)
        self.set_partner(None)

    # -- layout ------------------------------------------------------------------------------

    def _button(self, text: str, tip: str, slot: Any, shortcut: str | None = None) -> Any:
        b = QtWidgets.QPushButton(text)
        b.setToolTip(tip + (f" ({shortcut})" if shortcut else ""))
        b.setAccessibleName(text.replace("&", "").rstrip("…"))
        if shortcut:
            b.setShortcut(QtGui.QKeySequence(shortcut))
        b.clicked.connect(slot)
        return b

    def _build(self) -> None:
        self.banner = QtWidgets.QLabel()
        self.banner.setWordWrap(True)
        theme.tint(self.banner, None, background="queued_bg")
        self.banner.setMargin(6)
        self.banner.hide()
        self.notice = MessageLine("Usage messages")

        self.view_choice = QtWidgets.QComboBox()
        self.view_choice.addItems(["Grid", "List"])
        self.view_choice.setAccessibleName("Grid or list view")
        self.amount = QtWidgets.QLineEdit()
        self.amount.setPlaceholderText("amount, e.g. 5 or 2.5")
        self.amount.setAccessibleName("Amount")
        self.amount.setMaximumWidth(160)
        amount_label = QtWidgets.QLabel("A&mount:")
        amount_label.setBuddy(self.amount)
        self.set_button = self._button(
            "S&et", "Set the selected cells to the amount", lambda: self.apply_amount("set")
        )
        self.add_button = self._button(
            "&Add", "Add the amount to the selected cells", lambda: self.apply_amount("add")
        )
        self.subtract_button = self._button(
            "S&ubtract",
            "Subtract the amount from the selected cells",
            lambda: self.apply_amount("subtract"),
        )
        self.all_button = self._button(
            "Same for all c&lients",
            "Set the amount for every mapped account of the current service column",
            self.stage_all_clients,
        )
        self.import_button = self._button(
            "&Import…", "Stage counts from a CSV or JSON file", self.import_file, "Ctrl+I"
        )
        self.export_button = self._button(
            "E&xport…", "Save the counts last pushed as CSV", self.export_file, "Ctrl+E"
        )
        self.drift_button = QtWidgets.QPushButton("&Drift")
        self.drift_button.setAccessibleName("Drift")
        self.drift_button.setToolTip("Compare the counts last pushed with a fresh source")
        menu = QtWidgets.QMenu(self.drift_button)
        menu.addAction("Against a file…", self.drift_from_file)
        self.drift_sandbox_action = menu.addAction(
            "Against the demo sandbox", self.drift_from_sandbox
        )
        self.drift_button.setMenu(menu)
        self.count_settings_button = self._button(
            "Count se&ttings…",
            "Import the totals Gradient holds now, or allow changes on cells with no known total",
            self.open_count_settings,
        )
        self.discard_button = self._button(
            "Discard staged", "Unstage every staged edit (undoable)", self.discard_staged
        )
        self.push_button = self._button(
            "Push", "Send the staged edits and anything queued", self.push
        )
        self.push_button.setDefault(True)
        self.push_action = QtGui.QAction("Push staged counts", self)
        self.push_action.setShortcuts(
            [QtGui.QKeySequence("Ctrl+Return"), QtGui.QKeySequence("Ctrl+Enter")]
        )
        self.push_action.setShortcutContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.push_action.triggered.connect(self.push)
        self.addAction(self.push_action)
        self.push_button.setToolTip("Send the staged edits and anything queued (Ctrl+Enter)")

        edit_bar = QtWidgets.QHBoxLayout()
        for w in (
            self.view_choice,
            amount_label,
            self.amount,
            self.set_button,
            self.add_button,
            self.subtract_button,
            self.all_button,
        ):
            edit_bar.addWidget(w)
        edit_bar.addStretch(1)
        file_bar = QtWidgets.QHBoxLayout()
        for w in (
            self.import_button,
            self.export_button,
            self.drift_button,
            self.count_settings_button,
        ):
            file_bar.addWidget(w)
        file_bar.addStretch(1)
        file_bar.addWidget(self.discard_button)
        file_bar.addWidget(self.push_button)
        self.push_button.setMinimumWidth(170)

        self.grid_model = GridModel(self)
        self.grid_model.edit_requested.connect(self.edit_cell)
        self.flat_model = FlatModel(self)
        self.grid = self._table(self.grid_model, "Usage grid: accounts by services")
        self.grid.setEditTriggers(
            QtWidgets.QAbstractItemView.EditTrigger.DoubleClicked
            | QtWidgets.QAbstractItemView.EditTrigger.EditKeyPressed
            | QtWidgets.QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.flat = self._table(self.flat_model, "Usage list: one row per account and service")
        from gradient_desktop.ui.alerts.actions import add_send_alert_action

        add_send_alert_action(
            self, [self.grid, self.flat], lambda: next((k[0] for k in self._selected_keys()), None)
        )
        self.views = QtWidgets.QStackedWidget()
        self.views.addWidget(self.grid)
        self.views.addWidget(self.flat)
        self.view_choice.currentIndexChanged.connect(self.views.setCurrentIndex)
        self.grid.selectionModel().currentChanged.connect(
            lambda i, _p: self._show_history(self.grid_model.cell_key(i))
        )
        self.flat.selectionModel().currentChanged.connect(
            lambda i, _p: self._show_history(self.flat_model.cell_key(i))
        )

        self.staged_label = QtWidgets.QLabel("Nothing staged")
        theme.bold(self.staged_label)
        self.staged_model = StagedModel(self)
        self.staged_view = self._table(self.staged_model, "Staged changes, old to new")
        # A short list beside the grid: its columns share the panel's width instead of running
        # off its right edge (the full text is in each cell's tooltip).
        self.staged_view.horizontalHeader().setSectionResizeMode(
            QtWidgets.QHeaderView.ResizeMode.Stretch
        )
        self.staged_view.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.history = HistoryPanel(self.ctx, self)
        staged_box = QtWidgets.QWidget()
        sl = QtWidgets.QVBoxLayout(staged_box)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(self.staged_label)
        sl.addWidget(self.staged_view)
        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        right.addWidget(staged_box)
        right.addWidget(self.history)
        split = QtWidgets.QSplitter()
        split.addWidget(self.views)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([800, 560])
        right.setSizes([260, 500])

        self.panel = PushPanel(self.ctx, self)
        self.panel.cancel_requested.connect(self.cancel_push)
        self.panel.can_cancel = lambda: self.pushing
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(edit_bar)
        layout.addLayout(file_bar)
        layout.addWidget(self.notice)
        layout.addWidget(split, 1)
        layout.addWidget(self.panel)

    def _table(self, model: QtCore.QAbstractTableModel, name: str) -> QtWidgets.QTableView:
        view = QtWidgets.QTableView()
        view.setModel(model)
        view.setAccessibleName(name)
        view.setAlternatingRowColors(True)
        view.verticalHeader().setDefaultSectionSize(24)
        view.verticalHeader().hide()
        view.horizontalHeader().setStretchLastSection(True)
        view.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        return view

    # -- partner and refresh -------------------------------------------------------------------

    @property
    def pushing(self) -> bool:
        return self.push_task is not None and not self.push_task.done()

    def set_partner(self, partner: Partner | None) -> None:
        if self.usage is not None and partner is not None and partner.id == self.usage.partner_id:
            # The same partner, its record changed (e.g. the push just ended): the cells
            # follow in the background, as they do during a push.
            self.usage.partner = partner
            self.cells.refresh()
            return
        if self.pushing and self.cancel_event is not None:
            self.cancel_event.set()  # rows not sent stay queued for that partner's next push
        self.undo_stack.clear()
        self.history.clear()
        self.usage = UsageService(self.ctx, partner) if partner is not None else None
        self.panel.set_partner(partner.id if partner is not None else None)
        self.setEnabled(partner is not None)
        self.drift_sandbox_action.setEnabled(
            bool(partner and self.ctx.is_demo_url(partner.base_url))
        )
        if partner is not None:
            self.ctx.state.touch(partner.id)  # another process may have queued rows meanwhile
        self.reload()
        message = self.usage.unfinished() if self.usage is not None else None
        if message:  # an earlier session stopped mid-push: say what, then finish it
            self.banner.setText(message)
            self.banner.show()
            self.push()
        else:
            self.banner.hide()

    def reload(self) -> None:
        if self.usage is None:
            self.cells.clear()
            self.staged_model.clear()
            self.staged_label.setText("Select a partner to edit its usage")
            return
        self.cells.reload()
        self.staged_changed(refresh_cells=False)
        self.render_state()

    def render_state(self, partner_id: int | None = None) -> None:
        """Banner, "nothing to edit" message and Push button from the partner's state
        (services/state.py): shown while true, gone as soon as it is not (defect 3)."""
        if self.usage is None or (partner_id is not None and partner_id != self.usage.partner_id):
            return
        st = self.ctx.state.get(self.usage.partner_id)
        if st is None:
            return
        if not st.accounts_mapped or not st.services:
            self.notice.say(
                "Nothing to count yet: map accounts on the Mapping page"
                + (
                    " and choose the integration's services in the setup wizard"
                    if not st.services
                    else ""
                )
                + ", then come back here.",
                kind="empty",
            )
        else:
            self.notice.clear_kind("empty")
        if not st.queued and not self.pushing:
            self.banner.hide()  # an interrupted push the banner spoke of has finished
        n = len(self.usage.staged)
        # A push of this partner started elsewhere (the Sync page) counts as running here too.
        can_push = (n > 0 or st.queued > 0) and not self.pushing and st.push_progress is None
        self.push_button.setEnabled(can_push)
        self.push_action.setEnabled(can_push)
        self.push_button.setToolTip(
            "Send the staged edits and anything queued (Ctrl+Enter)"
            if can_push
            else "Nothing to send: stage some counts first (select cells, type an amount, Set)."
        )

    def _size_columns(self) -> None:
        # Header-based widths (not ResizeToContents, which asks data() of every row: PITFALLS).
        metrics = self.grid.horizontalHeader().fontMetrics()
        # The account column fits the longest name (by characters: one measurement, not one
        # per row), between 160 and 260 px: a fixed 160 cut most names short.
        longest = max(self.grid_model.account_names(), key=len, default="")
        self.grid.setColumnWidth(0, min(260, max(160, metrics.horizontalAdvance(longest) + 24)))
        for col in range(1, self.grid_model.columnCount()):
            title = self.grid_model.headerData(col, QtCore.Qt.Orientation.Horizontal)
            self.grid.setColumnWidth(col, max(120, metrics.horizontalAdvance(title) + 32))
        for col, width in enumerate((150, 200, 120, 110, 120)):
            self.flat.setColumnWidth(col, width)
        for col, width in enumerate((130, 190, 90)):
            self.staged_view.setColumnWidth(col, width)

    def staged_changed(self, refresh_cells: bool = True) -> None:
        if self.usage is None:
            return
        snap = self.usage.refs()
        if refresh_cells:
            self.cells.staged(snap, self.usage.staged)
        self.staged_model.reset(snap, self.usage.staged)
        n = len(self.usage.staged)
        self.staged_label.setText(
            f"Staged: {plural(n, 'change')}, not sent yet" if n else "Nothing staged"
        )
        self.push_button.setText(f"Push {plural(n, 'change')}" if n else "Push")
        self.discard_button.setEnabled(bool(n))
        # A message about an edit that failed is stale once the staged edits changed.
        self.notice.clear_kind("error", "staging")
        self.render_state()

    def _show_history(self, key: Key | None) -> None:
        if key is None or self.usage is None:
            return
        snap = self.usage.refs()
        service_id, account_id = key
        service = next(s for s in snap.services if s.service_id == service_id)
        name = next((a.name for a in snap.accounts if a.account_id == account_id), account_id)
        self.history.show_cell(self.usage.partner_id, account_id, service, name)

    # -- staging ---------------------------------------------------------------------------

    def _selected_keys(self) -> list[Key]:
        on_grid = self.views.currentWidget() is self.grid
        view, model = (self.grid, self.grid_model) if on_grid else (self.flat, self.flat_model)
        keys = [model.cell_key(i) for i in view.selectionModel().selectedIndexes()]
        if not keys and view.currentIndex().isValid():
            keys = [model.cell_key(view.currentIndex())]
        return list(dict.fromkeys(k for k in keys if k is not None))

    def _stage(self, edits: list[tuple[Key, StagedEdit | None]], text: str) -> None:
        if edits:
            self.notice.clear()
            self.undo_stack.push(StageCommand(self, edits, text))

    def edit_cell(self, service_id: str, account_id: str, raw: str) -> None:
        """A count typed into a grid cell: stage an absolute set."""
        self.stage_amount([(service_id, account_id)], "set", raw)

    def apply_amount(self, op: str) -> None:
        keys = self._selected_keys()
        if not keys:
            self.notice.say(
                "Select one or more cells first (click a count in the grid).", kind="staging"
            )
            return
        self.stage_amount(keys, op, self.amount.text())

    def stage_amount(self, keys: list[Key], op: str, raw: str) -> None:
        assert self.usage is not None
        base = self.usage.projected_totals()
        changes: list[tuple[Key, StagedEdit | None]] = []
        try:
            for cell in keys:
                service = next(s for s in self.usage.refs().services if s.service_id == cell[0])
                amount = parse_amount(raw, service)
                changes.append((cell, self.usage.make_edit(cell, op, amount, base=base)))
        except StagingError as exc:
            self.notice.say(str(exc), error=True, kind="staging")
            return
        self._stage(changes, f"{op} {raw.strip()} on {plural(len(keys), 'cell')}")

    def stage_edits(self, edits: list[StagedEdit], text: str) -> None:
        self._stage([(e.cell, e) for e in edits], text)

    def stage_all_clients(self) -> None:
        assert self.usage is not None
        index = self.grid.currentIndex()
        key = self.grid_model.cell_key(index) if self.views.currentWidget() is self.grid else None
        key = key or next(iter(self._selected_keys()), None)
        if key is None:
            self.notice.say(
                kind="staging",
                text="Select a cell in the column of the service to set for all clients.",
            )
            return
        try:
            service = next(s for s in self.usage.refs().services if s.service_id == key[0])
            edits = self.usage.stage_all_clients(key[0], parse_amount(self.amount.text(), service))
        except StagingError as exc:
            self.notice.say(str(exc), error=True, kind="staging")
            return
        self.stage_edits(edits, f"set {service.name} for all {len(edits)} clients")

    def discard_staged(self) -> None:
        if self.usage is not None and self.usage.staged:
            self._stage([(k, None) for k in self.usage.staged], "discard staged edits")

    # -- pushing -----------------------------------------------------------------------------

    def push(self) -> None:
        """Queue what is staged (from here on nothing is lost) and send it with everything else
        unfinished for this partner; one billing rebuild at the end."""
        usage = self.usage
        if usage is None or self.pushing:
            return
        try:
            batch = usage.commit()
        except Exception as exc:  # the database refused: nothing was queued, edits stay staged
            show_error(self, "Push", exc)
            return
        self.undo_stack.clear()  # the staged edits are queued now; there is nothing to undo
        st = self.ctx.state.touch(usage.partner_id)  # re-read: the queue is about to be sent
        queued = st.queued if st is not None else 0
        if not queued:
            self.notice.say("Nothing to push: stage some counts first.", kind="staging")
            return
        self.notice.clear()
        # Staged → queued: the staged list empties now, the cells follow from the ledger.
        self.staged_changed(refresh_cells=False)
        self.cells.refresh()
        self.push_button.setEnabled(False)
        self.cancel_event = asyncio.Event()
        self._last_live = time.monotonic()
        self.push_task = self.tasks.start(
            usage.push(on_progress=self._on_progress, cancel=self.cancel_event, batch_id=batch),
            on_done=self._pushed,
            on_error=self._push_failed,
            on_cancel=lambda: self._push_ended("Push stopped; unsent counts stay queued."),
        )

    def cancel_push(self) -> None:
        if self.cancel_event is not None and self.pushing:
            self.cancel_event.set()
            self.panel.cancelling()

    def _on_progress(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        # One event per answered row: repainting for each would cost the push real throughput.
        if now - self._last_bar < 0.1 and event.done < event.total:
            return
        self._last_bar = now
        self.progress_changed.emit(event.done, event.total)
        if now - self._last_live > _LIVE_REFRESH_S:  # let the grid and chart follow the push
            self._last_live = now
            self.cells.refresh()
            self.history.reload()

    def _pushed(self, summary: PushSummary) -> None:
        self._push_ended(summary.text())
        self.push_finished.emit(summary)

    def _push_failed(self, exc: BaseException) -> None:
        self._push_ended("Push failed; the counts stay queued and are resumed by the next push.")
        show_error(self, "Push", exc)
        self.push_finished.emit(exc)

    def _push_ended(self, _text: str = "") -> None:
        # The panel shows the outcome as the partner's state has it (services/state.py: the push
        # service records every ending, cancel and failure included), not a copy of its own.
        self.banner.hide()
        if self.usage is not None:
            self.reload()
            self.history.reload()
        self.render_state()
