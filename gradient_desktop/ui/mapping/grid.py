"""The reusable two-pane mapping grid: vendor accounts (or services) on the left, the partner's
Gradient clients (or services) on the right. Drag accounts onto a client to map them, drag back
or press Delete to unmap, accept suggestions one by one or all above a threshold; every change
is one undo step, is saved at once and is sent to Gradient in the background.

Embedded by the Mapping page and by the setup wizard's "Map clients" page:
``MappingGrid(ctx, parent)``, ``set_partner(partner)``, ``undo_stack``.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.mapping import GridRows, MappingChange, MappingService
from gradient_desktop.services.mapping_csv import export_mappings, parse_mappings
from gradient_desktop.services.state import PartnerState
from gradient_desktop.services.suggest import suggest
from gradient_desktop.services.wording import plural
from gradient_desktop.store.models import MappingKind, MappingOrigin, Partner
from gradient_desktop.ui import theme
from gradient_desktop.ui.mapping.columns import ACCOUNT_COLUMNS, CLIENT_COLUMNS, with_headers
from gradient_desktop.ui.mapping.commands import MappingCommand, describe
from gradient_desktop.ui.mapping.models import AccountsModel, ClientsModel
from gradient_desktop.ui.mapping.state import GridState
from gradient_desktop.ui.mapping.views import PaneView
from gradient_desktop.ui.mapping.widgets import PaneHeader, SuggestionBar, counters_html
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets
from gradient_desktop.ui.state_binding import binding
from gradient_desktop.ui.tasks import TaskRunner, describe_error, log_failure

log = logging.getLogger(__name__)
FILTER_DELAY_MS = 150  # debounce: filter once typing pauses, not on every key of a burst
SYNC_BATCH_S = 0.25  # changes made within this window go to Gradient together
INLINE_SUGGEST_ROWS = 20_000  # accounts + clients below which suggestions are computed inline


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while 100,000 rows of tuples and strings are built.

    They hold no cycles, yet allocating them triggers full collections that walk every object
    the app has loaded (measured: the store read took 3× as long with the collector running,
    and the full collection owed afterwards cost 200 ms, most of it walking the app's own
    modules). So the first load also ``gc.freeze()``s what exists by then — the long-lived
    startup objects — out of the collector's reach; refcounting still frees anything frozen
    that goes away, and later full collections only walk what came after.
    """
    global _FROZEN
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if not _FROZEN:
            gc.freeze()
            _FROZEN = True
        if was_enabled:
            gc.enable()


_FROZEN = False


def stretch_column(view: QtWidgets.QTableView, column: int) -> None:
    """``column`` takes the width the others leave (the others keep theirs, still resizable)."""
    header = view.horizontalHeader()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(column, QtWidgets.QHeaderView.ResizeMode.Stretch)


class MappingGrid(QtWidgets.QWidget):
    """See module docstring. ``kind`` is ``"account"`` or ``"service"``."""

    changed = QtCore.Signal()  # the mapping or its states changed (counters, page buttons)

    def __init__(
        self,
        ctx: AppContext,
        parent: QtWidgets.QWidget | None = None,
        *,
        kind: str = MappingKind.ACCOUNT.value,
        undo_stack: QtGui.QUndoStack | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.kind = kind
        self.service = MappingService(ctx)
        self.tasks = TaskRunner(self)
        self.undo_stack = undo_stack or QtGui.QUndoStack(self)
        self.partner: Partner | None = None
        self.state = GridState()
        self.auto_suggest = True
        self.auto_sync = kind == MappingKind.ACCOUNT.value  # the MSP maps services on Gradient
        self.remote_targets: list[tuple[str, str, int]] = []  # services: from Gradient
        self.remote_notes: dict[str, str] = {}
        self._dirty: set[str] = set()
        self._sync_task: asyncio.Task[None] | None = None
        self._generation = 0  # bumps on every load; late background results are dropped
        theme.on_change(self._on_theme_changed)

        accounts = kind == MappingKind.ACCOUNT.value
        left = (
            ACCOUNT_COLUMNS
            if accounts
            else with_headers(ACCOUNT_COLUMNS, id="Service ID", desc="Unit")
        )
        right = CLIENT_COLUMNS if accounts else with_headers(CLIENT_COLUMNS, id="Service ID")
        self.accounts_model = AccountsModel(self.state, self, left)
        self.clients_model = ClientsModel(self.state, self, right)
        noun = "accounts" if accounts else "services"
        target = "Gradient clients" if accounts else "partner services"
        self.accounts_view = PaneView(f"Vendor {noun}")
        self.clients_view = PaneView(target.capitalize())
        for view, model in (
            (self.accounts_view, self.accounts_model),
            (self.clients_view, self.clients_model),
        ):
            view.setModel(model)
            view.sortByColumn(model.column("name"), QtCore.Qt.SortOrder.AscendingOrder)
            for n, column in enumerate(model.columns):
                view.setColumnWidth(n, column.width)
        # The client pane is the narrow one: its names take the width its short columns leave,
        # so its last column (State) is never cut off at the right edge.
        stretch_column(self.clients_view, self.clients_model.column("name"))

        if kind == MappingKind.ACCOUNT.value:
            from gradient_desktop.ui.alerts.actions import add_send_alert_action

            add_send_alert_action(
                self, [self.accounts_view], lambda: next(iter(self.selected_accounts()), None)
            )
        self.accounts_header = PaneHeader(
            f"Vendor {noun}", "&Search", AccountsModel.FILTERS, self.accounts_view
        )
        self.clients_header = PaneHeader(
            target.capitalize(), "Searc&h", ClientsModel.FILTERS, self.clients_view, "F&ilter"
        )
        self.suggestion_bar = SuggestionBar()
        self.status = QtWidgets.QLabel()
        self.status.setAccessibleName("Mapping counters")
        self.status.setTextFormat(QtCore.Qt.TextFormat.RichText)
        # The line grew (published, mapped on Gradient): wrap it rather than clip it in the
        # wizard's 960 px (seen on Xvfb: "0 mapped on Gradie").
        self.status.setWordWrap(True)
        self._build_layout()
        self._connect()

    # -- layout and wiring ------------------------------------------------------------------------

    def _build_layout(self) -> None:
        left = QtWidgets.QWidget()
        lv = QtWidgets.QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.accounts_header)
        lv.addWidget(self.accounts_view, 1)
        right = QtWidgets.QWidget()
        rv = QtWidgets.QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.clients_header)
        rv.addWidget(self.clients_view, 1)
        self.splitter = QtWidgets.QSplitter()
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        # The client pane gets nearly half: its names are what a user maps to.
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 4)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.suggestion_bar)
        layout.addWidget(self.status)

    def _connect(self) -> None:
        self._filter_timers: dict[str, QtCore.QTimer] = {}
        for header, model in (
            (self.accounts_header, self.accounts_model),
            (self.clients_header, self.clients_model),
        ):
            timer = QtCore.QTimer(self)
            timer.setSingleShot(True)
            timer.setInterval(FILTER_DELAY_MS)
            timer.timeout.connect(lambda h=header, m=model: m.set_filter(h.search.text()))
            header.search.textChanged.connect(timer.start)
            header.mode.currentIndexChanged.connect(
                lambda _i, h=header, m=model: m.set_filter(mode=h.mode.currentData())
            )
        self.accounts_model.unmap_requested.connect(self.unmap)
        self.clients_model.map_requested.connect(self.map_accounts)
        self.accounts_view.delete_pressed.connect(self.unmap_selected)
        self.accounts_view.enter_pressed.connect(self.accept_selected)
        self.accounts_view.map_pressed.connect(self.map_selected)
        self.clients_view.enter_pressed.connect(self.map_selected)
        self.clients_view.map_pressed.connect(self.map_selected)
        self.clients_view.delete_pressed.connect(self.unmap_selected_clients)
        self.accounts_view.selectionModel().selectionChanged.connect(self._follow_selection)
        bar = self.suggestion_bar
        bar.map_button.clicked.connect(self.map_selected)
        bar.unmap_button.clicked.connect(self.unmap_selected)
        bar.accept_button.clicked.connect(self.accept_selected)
        bar.accept_all_button.clicked.connect(lambda: self.accept_all())
        bar.one_per_client.toggled.connect(self.set_one_per_client)
        bar.suggest_button.clicked.connect(self.refresh_suggestions)
        # Grid-wide shortcuts (the view keys above work when a table has focus).
        for text, keys, slot in (
            ("Accept suggestions above the threshold", "Ctrl+Shift+A", self.accept_all),
            ("Map selected accounts to the current client", "Ctrl+M", self.map_selected),
            ("Find accounts", "Ctrl+F", self.accounts_header.search.setFocus),
            ("Find clients", "Ctrl+Shift+F", self.clients_header.search.setFocus),
        ):
            action = QtGui.QAction(text, self)
            action.setShortcut(QtGui.QKeySequence(keys))
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _=False, s=slot: s())
            self.addAction(action)
        self._status_timer = QtCore.QTimer(self)
        self._status_timer.setSingleShot(True)
        self._status_timer.setInterval(30)
        self._status_timer.timeout.connect(self._update_status)
        binding(self.ctx).changed.connect(self._on_partner_state)

    # -- loading ----------------------------------------------------------------------------------

    def set_partner(self, partner: Partner | None) -> None:
        if self.partner is None or partner is None or partner.id != self.partner.id:
            self.undo_stack.clear()  # the history belongs to the partner it was made for
            self._dirty.clear()
        self.partner = partner
        self.reload()

    def reload(self) -> None:
        """Re-read rows and mappings from the store (after a client sync, an import, ...)."""
        self._generation += 1
        keep = dict(self.state.suggestions)
        with paused_gc():
            if self.partner is None:
                rows = GridRows([], [], [])
            else:
                rows = self.service.grid_rows(self.partner, self.kind)
                if self.kind != MappingKind.ACCOUNT.value:
                    rows = GridRows(rows.left, self.remote_targets, rows.mappings)
            self.state.load(rows, self.remote_notes)
            del rows
        self.state.suggestions = {s: t for s, t in keep.items() if s in self.state.left.pos}
        self.accounts_model.reload()
        self.clients_model.reload()
        self._schedule_status()
        if self.auto_suggest and self.partner is not None:
            self.refresh_suggestions()

    def set_remote_targets(self, rows: Sequence[tuple[str, str]], notes: dict[str, str]) -> None:
        """Services mode: the partner's services as Gradient lists them (with their notes)."""
        ordered = sorted(rows, key=lambda r: r[1].lower())  # as the store orders clients
        self.remote_targets = [(rid, name, 0) for rid, name in ordered]
        self.remote_notes = dict(notes)
        self.reload()

    # -- suggestions ------------------------------------------------------------------------------

    def refresh_suggestions(self) -> None:
        """Recompute suggestions: inline for a few thousand rows (milliseconds), in a worker
        thread for big partners when the event loop runs (50k × 50k takes a second of C)."""
        sources, targets = self.state.suggestion_inputs()
        generation = self._generation
        one = self.state.one_per_client

        def done(result: list) -> None:
            if generation == self._generation:
                self.state.set_suggestions(result)
                self._after_change(refilter=True)

        try:
            asyncio.get_running_loop()
            big = len(sources) + len(targets) > INLINE_SUGGEST_ROWS
        except RuntimeError:
            big = False
        if not big:
            done(suggest(sources, targets, one_per_target=one))
            return
        self.tasks.start(
            asyncio.to_thread(suggest, sources, targets, one_per_target=one), on_done=done
        )

    # -- changes ----------------------------------------------------------------------------------

    def _apply_for(self, partner: Partner, changes: Sequence[MappingChange]) -> list[MappingChange]:
        inverse = self.service.apply(partner, changes, self.kind)
        if self.partner is not None and self.partner.id == partner.id:
            self.state.apply(changes)
            self._after_change(refilter=True)
            self._queue_sync(c.source_id for c in changes)
        return inverse

    def change(self, changes: Sequence[MappingChange], text: str | None = None) -> bool:
        """Apply changes as one undo step; False (and a message) when nothing could be done."""
        partner = self.partner
        changes = [c for c in changes if self.state.mapping.get(c.source_id) != c.target_id]
        if partner is None or not changes:
            return False
        try:
            inverse = self._apply_for(partner, changes)
        except Exception as exc:
            log_failure("mapping change failed", exc)
            self.show_message(describe_error(exc), error=True)
            return False
        label = text or describe(changes, self.state.target_name)
        self.undo_stack.push(
            MappingCommand(lambda ch: self._apply_for(partner, ch), changes, inverse, label)
        )
        return True

    def map_accounts(self, ids: Sequence[str], target: str) -> bool:
        ok = self.change([MappingChange(i, target) for i in ids])
        if ok and self.state.one_per_client and self.state.target_count[target] > 1:
            self.show_message(
                f"{self.state.target_name(target)} now has {self.state.target_count[target]} "
                "accounts, and each client may have only one: unmap the extra ones (Delete), or "
                "untick “One account per client”.",
                error=True,
            )
        return ok

    def unmap(self, ids: Sequence[str]) -> bool:
        return self.change([MappingChange(i, None) for i in ids if i in self.state.mapping])

    def accept_suggestions(self, ids: Sequence[str]) -> int:
        """Accept the pending suggestions of these rows (one undo step); returns how many."""
        changes = []
        for source in ids:
            hit = self.state.suggestion(source)
            if hit is not None:
                changes.append(MappingChange(source, hit[0], MappingOrigin.SUGGESTED.value))
        n = len(changes)
        text = f"Accept {n} suggestion{'s' if n != 1 else ''}"
        return n if self.change(changes, text) else 0

    def accept_all(self, threshold: int | None = None) -> int:
        """Accept every suggestion at or above the threshold (the bar's spin box by default)."""
        limit = self.suggestion_bar.threshold.value() if threshold is None else threshold
        pending = self.state.pending_suggestions(limit)
        n = self.accept_suggestions([s for s, _t, _c in pending])
        self.show_message(
            f"Accepted {plural(n, 'suggestion')} at {limit} % or more."
            if n
            else f"No suggestion reaches {limit} %."
        )
        return n

    def import_csv(self, data: str | bytes) -> int:
        """Apply a mapping CSV as one undo step; raises MappingCsvError (line-numbered)."""
        parsed = parse_mappings(data, accounts=self.state.left.ids, clients=self.state.right.ids)
        parsed.raise_for_errors()
        self.change(parsed.changes, f"Import {plural(len(parsed.changes), 'mapping')} from CSV")
        return len(parsed.changes)

    def export_csv(self) -> str:
        return export_mappings(self.state.mapping)

    # -- the selection-based actions (keys and buttons) -------------------------------------------

    def selected_accounts(self) -> list[str]:
        return [self.accounts_model.id_at(r) for r in self.accounts_view.selected_rows()]

    def current_client(self) -> str | None:
        index = self.clients_view.currentIndex()
        rows = self.clients_view.selected_rows()
        row = index.row() if index.isValid() else (rows[0] if rows else -1)
        return self.clients_model.id_at(row) if row >= 0 else None

    def map_selected(self) -> None:
        ids, target = self.selected_accounts(), self.current_client()
        if not ids or target is None:
            self.show_message(
                "Select one or more accounts and a client first (Tab switches panes)."
            )
            return
        self.map_accounts(ids, target)

    def unmap_selected(self) -> None:
        self.unmap(self.selected_accounts())

    def unmap_selected_clients(self) -> None:
        clients = {self.clients_model.id_at(r) for r in self.clients_view.selected_rows()}
        self.unmap([s for s, t in self.state.mapping.items() if t in clients])

    def accept_selected(self) -> None:
        if not self.accept_suggestions(self.selected_accounts()):
            self.show_message("None of the selected rows has a suggestion to accept.")

    def set_one_per_client(self, on: bool) -> None:
        self.state.set_one_per_client(on)
        if self.suggestion_bar.one_per_client.isChecked() != on:
            self.suggestion_bar.one_per_client.setChecked(on)
        self._after_change(refilter=True)

    def _follow_selection(self) -> None:
        # Synchronised panes: one selected account shows its (mapped or suggested) client.
        ids = self.selected_accounts()
        if len(ids) != 1:
            return
        target = self.state.mapping.get(ids[0]) or (self.state.suggestion(ids[0]) or (None,))[0]
        if target is not None:
            row = self.clients_model.visible_row_of(target)
            if row >= 0:
                self.clients_view.select_row(row)

    # -- background sync --------------------------------------------------------------------------

    def _queue_sync(self, ids: object) -> None:
        if not self.auto_sync or self.partner is None:
            return
        self._dirty.update(ids)  # type: ignore[arg-type]
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop running (a test or script calls sync_pending() itself)
        if self._sync_task is None or self._sync_task.done():
            self._sync_task = self.tasks.start(self.sync_pending(delay=SYNC_BATCH_S))

    async def sync_pending(self, delay: float = 0.0) -> None:
        """Send queued changes to Gradient until none are left; rows show syncing/synced/failed."""
        if delay:
            await asyncio.sleep(delay)
        while self._dirty and self.partner is not None:
            partner = self.partner
            ids = sorted(self._dirty)
            self._dirty.clear()
            for i in ids:
                if self.state.is_published(i):
                    self.state.sync[i] = "syncing"
            self._after_change()
            try:
                errors = await self.service.sync(partner, ids)
            except Exception as exc:
                log.warning("mapping sync failed: %s", exc)
                errors = {i: describe_error(exc) for i in ids}
            if self.partner is None or self.partner.id != partner.id:
                return
            states = self.service.sync_states(partner, ids)
            for i in ids:
                if i in errors:
                    self.state.sync[i], self.state.sync_error[i] = "failed", errors[i]
                elif i in states:
                    self.state.sync[i] = states[i][0]
                    self.state.sync_error.pop(i, None)
                else:
                    self.state.sync.pop(i, None)  # an unmap that went through
                    self.state.sync_error.pop(i, None)
            self._after_change()
            if errors:
                first = next(iter(errors.values()))
                self.show_message(
                    f"{plural(len(errors), 'mapping')} did not reach Gradient: {first} They stay saved "
                    "here; change them again or use Refresh to retry.",
                    error=True,
                )

    def retry_failed(self) -> None:
        self._queue_sync([s for s, v in self.state.sync.items() if v == "failed"])

    # -- status -----------------------------------------------------------------------------------

    def _after_change(self, *, refilter: bool = False) -> None:
        self.accounts_model.refresh(refilter=refilter)
        self.clients_model.refresh(refilter=refilter)
        self._schedule_status()
        self.changed.emit()

    def _schedule_status(self) -> None:
        self._status_timer.start()

    def _on_theme_changed(self, _scheme: str) -> None:
        self._update_status()  # the counters line carries its colours in its HTML

    def counters(self) -> dict[str, int]:
        """The status line's figures. For a partner's accounts, how many accounts there are and
        how many are mapped, published and mapped on Gradient come from the partner's state
        (services/state.py), as the partners list and the wizard show them; what only this view
        knows (suggestions, conflicts, stale clients, rows not synced yet) comes from the grid."""
        c = self.state.counters()
        st = self._partner_state()
        if st is not None:
            c["accounts"], c["mapped"] = st.accounts_total, st.accounts_mapped
            c["unmapped"] = max(0, st.accounts_total - st.accounts_mapped)
            c["published"], c["mapped_remote"] = st.accounts_published, st.accounts_mapped_remote
        return c

    def _partner_state(self) -> PartnerState | None:
        if self.kind != MappingKind.ACCOUNT.value or self.partner is None:
            return None
        return self.ctx.state.get(self.partner.id or 0)

    def _on_partner_state(self, partner_id: int) -> None:
        if self.partner is not None and self.partner.id == partner_id:
            self._schedule_status()

    def _update_status(self) -> None:
        nouns = (
            ("account", "client")
            if self.kind == MappingKind.ACCOUNT.value
            else (
                "service",
                "partner service",
            )
        )
        self.status.setText(counters_html(self.counters(), nouns))

    def show_message(self, text: str, *, error: bool = False) -> None:
        self.suggestion_bar.show_message(text, error=error)
