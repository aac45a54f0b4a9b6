"""Step 5: publish the vendor's customers as accounts, load the partner's Gradient clients,
and map one to the other. Every mapping is stored locally at once and sent to Gradient in the
background (vendor-side ``clientOId``), so nothing is lost if the window closes.

The drag-and-drop ``MappingGrid`` of ``ui/mapping`` is embedded when it can be built; otherwise
a simple list mapping stands in (select an account and a client → Map). Either way there is an
"auto-match exact names" button and every change persists through ``MappingService``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import shiboken6

from gradient_desktop.services.setup import Step
from gradient_desktop.services.wording import plural
from gradient_desktop.ui import theme
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets
from gradient_desktop.ui.wizard.base import SetupPage, wrap_label

ROLE = QtCore.Qt.ItemDataRole.UserRole
log = logging.getLogger(__name__)


#: Embed ``ui/mapping``'s grid when it can be built (False: always the list mapping).
USE_GRID = True


def make_grid(ctx: Any, parent: QtWidgets.QWidget) -> Any:
    """The mapping grid of ``ui/mapping``, or None when it is not available in this build."""
    if not USE_GRID:
        return None
    try:
        from gradient_desktop.ui.mapping.grid import MappingGrid

        return MappingGrid(ctx, parent)
    except Exception as exc:  # an absent or broken grid must not break the setup
        log.info("mapping grid not embedded (%s); using the list mapping", exc)
        return None


class MapClientsPage(SetupPage):
    step = Step.MAP_CLIENTS

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(
            "Your customers are published to the partner as accounts; map each to the MSP's "
            "client in Gradient so usage lands on the right bill.",
            parent,
        )
        theme.on_change(self._on_theme_changed)  # the list's ok/error colours follow the theme
        self.top_row = top = QtWidgets.QHBoxLayout()
        self.progress = QtWidgets.QProgressBar()
        self.progress.setAccessibleName("Sync progress")
        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        self.retry_button = QtWidgets.QPushButton("&Retry")
        self.retry_button.clicked.connect(self.start)
        self.import_button = QtWidgets.QPushButton("&Import customers (CSV)…")
        self.import_button.setToolTip("A CSV file with the columns id,name,description")
        self.import_button.clicked.connect(self.import_customers)
        top.addWidget(self.progress, 1)
        top.addWidget(self.retry_button)
        top.addWidget(self.import_button)
        self.layout_.addLayout(top)
        self.layout_.addWidget(self.status)

        self.list_box = QtWidgets.QWidget()
        lists = QtWidgets.QHBoxLayout(self.list_box)
        lists.setContentsMargins(0, 0, 0, 0)
        left = QtWidgets.QVBoxLayout()
        left.addWidget(QtWidgets.QLabel("<b>Your accounts</b>"))
        self.account_search = QtWidgets.QLineEdit()
        self.account_search.setPlaceholderText("Search accounts")
        self.account_search.setClearButtonEnabled(True)
        self.account_search.textChanged.connect(self._fill_accounts)
        self.accounts = QtWidgets.QListWidget()
        self.accounts.setAccessibleName("Accounts")
        self.accounts.currentItemChanged.connect(self._update_buttons)
        left.addWidget(self.account_search)
        left.addWidget(self.accounts, 1)
        middle = QtWidgets.QVBoxLayout()
        middle.addStretch(1)
        self.map_button = QtWidgets.QPushButton("← &Map")
        self.map_button.setShortcut(QtGui.QKeySequence("Ctrl+M"))
        self.map_button.clicked.connect(self.map_selected)
        self.unmap_button = QtWidgets.QPushButton("&Unmap")
        self.unmap_button.clicked.connect(self.unmap_selected)
        self.auto_button = QtWidgets.QPushButton("&Auto-match\nexact names")
        self.auto_button.clicked.connect(self.auto_match)
        for b in (self.map_button, self.unmap_button, self.auto_button):
            middle.addWidget(b)
        middle.addStretch(1)
        right = QtWidgets.QVBoxLayout()
        right.addWidget(QtWidgets.QLabel("<b>The partner's clients in Gradient</b>"))
        self.client_search = QtWidgets.QLineEdit()
        self.client_search.setPlaceholderText("Search clients")
        self.client_search.setClearButtonEnabled(True)
        self.client_search.textChanged.connect(self._fill_clients)
        self.clients = QtWidgets.QListWidget()
        self.clients.setAccessibleName("Gradient clients")
        self.clients.currentItemChanged.connect(self._update_buttons)
        self.clients.itemDoubleClicked.connect(lambda _i: self.map_selected())
        right.addWidget(self.client_search)
        right.addWidget(self.clients, 1)
        lists.addLayout(left, 1)
        lists.addLayout(middle)
        lists.addLayout(right, 1)
        self.layout_.addWidget(self.list_box, 1)
        self.grid: Any = None
        self._grid_tried = False
        self.summary = wrap_label("")
        self.summary.setAccessibleName("Mapping summary")
        self.layout_.addWidget(self.summary)
        self.layout_.addWidget(self.error_label)
        self._published = False
        self._syncing = 0
        self._client_names: dict[str, str] = {}
        self._sync_errors: dict[str, str] = {}
        self._watched_task: Any = None

    # -- publish and load -------------------------------------------------------------------------

    def _ensure_grid(self) -> None:
        if self._grid_tried:
            return
        self._grid_tried = True
        self.grid = make_grid(self.setup.ctx, self)
        if self.grid is None:
            return
        self.list_box.hide()
        self.layout_.insertWidget(self.layout_.indexOf(self.list_box), self.grid, 1)
        # The grid has its own map/unmap; auto-match stays as a button beside the progress.
        self.auto_button.setParent(None)
        self.auto_button.setText("&Auto-match exact names")
        self.top_row.insertWidget(1, self.auto_button)
        self.grid.changed.connect(self._grid_changed)
        # Undo/redo inside the wizard (defect 7): the grid's own history, with the usual keys.
        stack = self.grid.undo_stack
        self.undo_action = stack.createUndoAction(self, "&Undo")
        self.redo_action = stack.createRedoAction(self, "&Redo")
        key = QtGui.QKeySequence
        self.undo_action.setShortcuts(key.keyBindings(key.StandardKey.Undo))
        # The platform's Redo plus both common spellings (some platforms bind only one).
        redo = [*key.keyBindings(key.StandardKey.Redo), key("Ctrl+Shift+Z"), key("Ctrl+Y")]
        self.redo_action.setShortcuts(list(dict.fromkeys(redo)))
        for action in (self.undo_action, self.redo_action):
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)

    def _grid_changed(self) -> None:
        partner = self.flow.partner
        if partner is not None:
            self._update_summary(
                len(self.flow.integration.accounts(partner)),
                len(self.flow.mapping.mappings(partner)),
            )
        # Next waits for the grid's background sync; the grid's last "changed" comes while
        # that task is still running, so Next must be re-evaluated when the task ends, or it
        # stays grey for good (defect 2).
        task = getattr(self.grid, "_sync_task", None)
        if task is not None and not task.done() and task is not self._watched_task:
            self._watched_task = task
            task.add_done_callback(lambda _t: self._sync_ended())
        self.completeChanged.emit()

    def _ensure_grid_sync(self) -> None:
        """The grid starts its sync only from inside the running loop (a click in the app);
        a click delivered outside it (a script, a test) must not leave Next waiting forever."""
        grid = self.grid
        task = getattr(grid, "_sync_task", None)
        if getattr(grid, "_dirty", None) and (task is None or task.done()):
            grid._sync_task = grid.tasks.start(grid.sync_pending())
            self._grid_changed()

    def _sync_ended(self) -> None:
        if shiboken6.isValid(self):
            self._watched_task = None
            self._grid_changed()

    def initializePage(self) -> None:
        self._ensure_grid()
        self.import_button.setVisible(self.flow.customers_source() == "file")
        self._published = False
        self._refresh_lists()
        partner = self.flow.partner
        if self.flow.customers_source() == "file" and partner is not None:
            if not self.flow.integration.accounts(partner):
                self.status.setText(
                    "Import your customer list to publish it (CSV with id,name,description)."
                )
                self._update_buttons()
                return
        self.start()

    def start(self) -> None:
        self._published = False
        self.retry_button.setEnabled(False)
        self.import_button.setEnabled(False)
        theme.tint(self.status, None)
        self.status.setText("Publishing your customers as accounts…")
        self.progress.setRange(0, 0)

        def progress(what: str, done: int, total: int) -> None:
            if not shiboken6.isValid(self):
                return
            if what == "accounts":
                self.progress.setRange(0, max(total, 1))
                self.progress.setValue(done)
                self.status.setText(f"Publishing accounts: {done} of {total}…")
            else:
                self.progress.setRange(0, 0)
                self.status.setText(f"Loading the partner's clients from Gradient: {done}…")

        async def publish_and_resync() -> Any:
            result = await self.flow.publish(progress)
            partner = self.flow.partner
            assert partner is not None
            # A reconnect: mappings made before are sent again, but only those the publish did
            # not already carry (a re-created account brings its client along). Re-sending all
            # of them, one request each, made a reconnect's step 5 take ~9 s (defect 14).
            await self.flow.resync_mappings()
            return result

        self.run(publish_and_resync(), self._published_ok, self._failed, self._cancelled)

    def _published_ok(self, result: Any) -> None:
        published, clients = result
        self._published = True
        self.retry_button.setEnabled(True)
        self.import_button.setEnabled(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        failed = f", {len(published.failed)} failed" if published.failed else ""
        theme.tint(self.status, "ok")
        self.status.setText(
            f"✔ Accounts published ({published.created} new, {published.unchanged} already "
            f"there{failed}); {clients.total} Gradient clients loaded."
        )
        self._refresh_lists()

    def _failed(self, exc: BaseException) -> None:
        self.retry_button.setEnabled(True)
        self.import_button.setEnabled(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText("Publishing stopped:")
        self.show_error(exc)

    def _cancelled(self) -> None:
        self.retry_button.setEnabled(True)
        self.status.setText("Stopped. Press Retry to publish again.")

    def import_customers(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Import customers", str(Path.home()), "CSV files (*.csv);;All files (*)"
        )
        if path:
            self.import_file(path)

    def import_file(self, path: str) -> None:
        def load() -> None:
            from gradient_desktop.services.csvio import decode_bytes

            n = self.flow.import_customers(decode_bytes(Path(path).read_bytes()))
            self.status.setText(f"{n} customers imported.")

        if self.guarded(load, OSError):
            self.start()

    # -- lists ----------------------------------------------------------------------------------

    def _refresh_lists(self) -> None:
        partner = self.flow.partner
        if partner is None:
            return
        self._client_names = {
            c.client_id: c.name for c in self.flow.integration.clients(partner) if not c.stale
        }
        if self.grid is not None:
            if self.grid.partner is None or self.grid.partner.id != partner.id:
                self.grid.set_partner(partner)
            else:
                self.grid.reload()
        self._fill_accounts()
        self._fill_clients()

    # -- the same actions whichever widget maps (tests and keyboard users) ----------------------

    def account_count(self) -> int:
        partner = self.flow.partner
        return len(self.flow.integration.accounts(partner)) if partner else 0

    def client_count(self) -> int:
        return len(self._client_names)

    def map_pair(self, account_id: str, client_id: str) -> None:
        if self.grid is not None:
            self.grid.map_accounts([account_id], client_id)
            return
        self.select(account_id, client_id)
        self.map_selected()

    def _on_theme_changed(self, _scheme: str) -> None:
        if self.wizard() is not None:
            self._fill_accounts()

    def _fill_accounts(self) -> None:
        partner = self.flow.partner
        if partner is None:
            return
        needle = self.account_search.text().casefold()
        mappings = self.flow.mapping.mappings(partner)
        current = self.accounts.currentItem()
        keep = current.data(ROLE) if current else None
        self.accounts.clear()
        accounts = self.flow.integration.accounts(partner)
        # Unmapped first: that is the work left.
        accounts.sort(key=lambda a: (a.account_id in mappings, a.name.casefold()))
        for a in accounts:
            if needle and needle not in a.name.casefold():
                continue
            target = mappings.get(a.account_id)
            text = (
                a.name
                if target is None
                else f"{a.name}  →  {self._client_names.get(target, target)}"
            )
            item = QtWidgets.QListWidgetItem(text)
            item.setData(ROLE, a.account_id)
            if a.account_id in self._sync_errors:
                item.setForeground(theme.color("error"))
                item.setToolTip(self._sync_errors[a.account_id])
            elif target is not None:
                item.setForeground(theme.color("ok"))
            self.accounts.addItem(item)
            if a.account_id == keep:
                self.accounts.setCurrentItem(item)
        self._update_summary(len(accounts), len(mappings))
        self._update_buttons()

    def _fill_clients(self) -> None:
        needle = self.client_search.text().casefold()
        self.clients.clear()
        for cid, name in sorted(self._client_names.items(), key=lambda kv: kv[1].casefold()):
            if needle and needle not in name.casefold():
                continue
            item = QtWidgets.QListWidgetItem(name)
            item.setData(ROLE, cid)
            self.clients.addItem(item)
        self._update_buttons()

    def _update_summary(self, accounts: int, mapped: int) -> None:
        # The counts come from the partner's state (services/state.py), the same numbers the
        # partners list and status bar show; the arguments are only a fallback.
        partner = self.flow.partner
        st = self.setup.ctx.state.get(partner.id or 0) if partner is not None else None
        if st is not None:
            accounts, mapped = st.accounts_total, st.accounts_mapped
        syncing = (
            " · saving changes to Gradient… (Next is available when they are saved)"
            if self._syncing or self.syncing
            else ""
        )
        errors = f" · {len(self._sync_errors)} not accepted (red)" if self._sync_errors else ""
        self.summary.setText(
            f"<b>{mapped} of {accounts}</b> accounts mapped · {accounts - mapped} unmapped · "
            f"{len(self._client_names)} clients in Gradient{syncing}{errors}"
        )

    def _update_buttons(self, *_args: object) -> None:
        ready = self._published
        self.auto_button.setEnabled(ready)
        if self.grid is not None:
            return
        account = self.accounts.currentItem()
        self.map_button.setEnabled(
            ready and account is not None and self.clients.currentItem() is not None
        )
        self.unmap_button.setEnabled(ready and account is not None)
        self.auto_button.setEnabled(ready)

    # -- mapping --------------------------------------------------------------------------------

    def select(self, account_id: str, client_id: str) -> None:
        """Select an account and a client by id (keyboard users search; tests call this)."""
        for lst, wanted in ((self.accounts, account_id), (self.clients, client_id)):
            for i in range(lst.count()):
                if lst.item(i).data(ROLE) == wanted:
                    lst.setCurrentRow(i)
                    break

    def map_selected(self) -> None:
        account, client = self.accounts.currentItem(), self.clients.currentItem()
        if account is None or client is None:
            return
        self._change(
            [account.data(ROLE)],
            lambda: self.flow.map_account(account.data(ROLE), client.data(ROLE)),
        )

    def unmap_selected(self) -> None:
        account = self.accounts.currentItem()
        if account is not None:
            self._change(
                [account.data(ROLE)], lambda: self.flow.map_account(account.data(ROLE), None)
            )

    def auto_match(self) -> None:
        if self.grid is not None:
            # Through the grid: one undo step (Ctrl+Z) and the grid's own sync.
            changes = self.flow.exact_matches()
            if changes and self.grid.change(
                changes, f"auto-match {plural(len(changes), 'exact name')}"
            ):
                self._ensure_grid_sync()
            theme.tint(self.status, None)
            self.status.setText(
                f"Auto-match mapped {plural(len(changes), 'account')} with identical names"
                + (" (Ctrl+Z undoes it)." if changes else ".")
            )
            return
        changes = self.flow.auto_match_exact()
        theme.tint(self.status, None)
        self.status.setText(
            f"Auto-match mapped {plural(len(changes), 'account')} with identical names."
        )
        if changes:
            self._change([c.source_id for c in changes], None)

    def _change(self, ids: list[str], apply: Any) -> None:
        if apply is not None and not self.guarded(apply):
            return
        for i in ids:
            self._sync_errors.pop(i, None)
        self._syncing += len(ids)
        self._fill_accounts()
        if self.grid is not None:
            self.grid.reload()

        def done(errors: dict[str, str]) -> None:
            self._syncing -= len(ids)
            self._sync_errors.update(errors)
            self._fill_accounts()
            if self.grid is not None:
                self.grid.reload()

        def failed(exc: BaseException) -> None:
            self._syncing -= len(ids)
            self.show_error(exc)
            self._fill_accounts()

        def cancelled() -> None:
            self._syncing -= len(ids)

        task = self.setup.tasks.start(self.flow.sync_mappings(ids))

        def finished(t: Any) -> None:
            if not shiboken6.isValid(self):
                return
            if t.cancelled():
                cancelled()
            elif t.exception() is not None:
                failed(t.exception())
            else:
                done(t.result())
            self.completeChanged.emit()

        task.add_done_callback(finished)
        self.completeChanged.emit()

    @property
    def syncing(self) -> bool:
        grid = self.grid
        # The grid's own sync (not its suggestion worker, which may run at any time).
        task = getattr(grid, "_sync_task", None)
        grid_busy = grid is not None and (
            bool(getattr(grid, "_dirty", ())) or (task is not None and not task.done())
        )
        return self._syncing > 0 or grid_busy

    def isComplete(self) -> bool:
        done = self._published and not self.running and not self.syncing
        self.setToolTip(
            ""
            if done
            else "Next is available once the accounts are published and every mapping is "
            "saved to Gradient."
        )
        return done

    def validatePage(self) -> bool:
        return self.guarded(self.flow.finish_mapping)
