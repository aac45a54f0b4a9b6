"""The Partners view: every partner with its status (colour), last sync and mapped accounts,
and the actions Connect, Sync now, Disconnect (keep or remove the key) and Reconnect / Continue
setup (the setup wizard again, with what is known filled in), as buttons, a context menu and
shortcuts.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.partners import PartnerDirectory, PartnerSummary
from gradient_desktop.services.setup import Step
from gradient_desktop.services.state import PartnerState
from gradient_desktop.services.wording import plural, verb
from gradient_desktop.store.models import Partner
from gradient_desktop.ui import theme
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets
from gradient_desktop.ui.state_binding import binding
from gradient_desktop.ui.tasks import TaskRunner, describe_error

log = logging.getLogger(__name__)

#: status -> theme token (ui/theme.py), so the list stays readable in light and dark.
STATUS_COLORS = {
    "active": "ok",
    "pending": "warning",
    "inactive": "muted",
    "disconnected": "muted",
    "error": "error",
    "unknown": "muted",
    "setup": "accent",
}


def in_setup(s: PartnerSummary | Partner | PartnerState) -> bool:
    return Step.VENDOR <= s.setup_step <= Step.ACTIVATE


def _dot(color: QtGui.QColor) -> QtGui.QIcon:
    pixmap = QtGui.QPixmap(14, 14)
    pixmap.fill(QtCore.Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(pixmap)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    painter.setBrush(color)
    painter.setPen(QtCore.Qt.PenStyle.NoPen)
    painter.drawEllipse(1, 1, 12, 12)
    painter.end()
    return QtGui.QIcon(pixmap)


class PartnersView(QtWidgets.QWidget):
    partner_selected = QtCore.Signal(object)  # partner id | None
    #: A background action finished: (action, partner id, message or error text).
    action_finished = QtCore.Signal(str, object, str)

    def __init__(self, ctx: AppContext, window: QtWidgets.QMainWindow | None = None) -> None:
        super().__init__(window)
        theme.on_change(self._on_theme_changed)
        self.ctx = ctx
        self.window_ = window
        self.tasks = TaskRunner(self)
        self.directory = PartnerDirectory(ctx)
        self._summaries: list[PartnerSummary] = []
        self._message_about: tuple[int | None, tuple[str, int]] | None = None
        self.wizard: Any = None
        binding(ctx).changed.connect(self._on_state)
        # Ages ("checked 2 min ago") move on with the clock.
        self._age_timer = QtCore.QTimer(self)
        self._age_timer.setInterval(30_000)
        self._age_timer.timeout.connect(self.refresh_ages)
        self._age_timer.start()

        title = QtWidgets.QLabel("<b>Partners</b>")
        self.list = QtWidgets.QListWidget()
        self.list.setAlternatingRowColors(True)
        self.list.setAccessibleName("Partners")
        self.list.setIconSize(QtCore.QSize(14, 14))
        self.list.setSpacing(2)
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.currentRowChanged.connect(self._on_row)
        self.list.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.itemActivated.connect(lambda _item: self._default_action())

        self.connect_action = QtGui.QAction("&Connect a partner…", self)
        self.connect_action.setToolTip("Run the setup wizard for a new partner (Ctrl+Shift+N)")
        self.connect_action.triggered.connect(self.connect_partner)
        self.sync_action = QtGui.QAction("&Sync now", self)
        self.sync_action.setShortcut(QtGui.QKeySequence("Ctrl+Shift+S"))
        self.sync_action.triggered.connect(lambda: self.sync_now())
        self.disconnect_action = QtGui.QAction("&Disconnect…", self)
        self.disconnect_action.setShortcut(QtGui.QKeySequence("Ctrl+Shift+D"))
        self.disconnect_action.triggered.connect(lambda: self.disconnect_partner())
        self.reconnect_action = QtGui.QAction("&Reconnect…", self)
        self.reconnect_action.setShortcut(QtGui.QKeySequence("Ctrl+Shift+R"))
        self.reconnect_action.triggered.connect(lambda: self.reconnect_partner())
        self.count_settings_action = QtGui.QAction("Count se&ttings…", self)
        self.count_settings_action.setToolTip(
            "Import the totals Gradient holds now, or allow changes on cells with no known total"
        )
        self.count_settings_action.triggered.connect(lambda: self.open_count_settings())
        self.count_settings: QtWidgets.QDialog | None = None
        for action in (self.sync_action, self.disconnect_action, self.reconnect_action):
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
            self.addAction(action)

        def button(action: QtGui.QAction) -> QtWidgets.QToolButton:
            b = QtWidgets.QToolButton()
            b.setDefaultAction(action)
            b.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setSizePolicy(
                QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Fixed
            )
            return b

        self.connect_button = QtWidgets.QPushButton("Connect a partner…")
        self.connect_button.clicked.connect(self.connect_partner)
        self.demo_button = QtWidgets.QPushButton("Try the demo")
        self.demo_button.clicked.connect(self.open_demo)
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Partners message")
        self.busy = QtWidgets.QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(8)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.tasks.busy_changed.connect(self.busy.setVisible)
        self.tasks.busy_changed.connect(lambda _busy: self._update_actions())

        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.list, 1)
        actions = QtWidgets.QHBoxLayout()
        for action in (self.sync_action, self.disconnect_action, self.reconnect_action):
            actions.addWidget(button(action))
        layout.addLayout(actions)
        layout.addWidget(self.busy)
        layout.addWidget(self.message)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.connect_button)
        buttons.addWidget(self.demo_button)
        layout.addLayout(buttons)
        self._update_actions()

    # -- the list -------------------------------------------------------------------------------

    def _on_theme_changed(self, _scheme: str) -> None:
        self.reload()  # the status colours are drawn into the items

    def reload(self) -> None:
        current = self.current_id()
        self._summaries = self.directory.summaries()
        self.list.blockSignals(True)
        self.list.clear()
        for s in self._summaries:
            item = QtWidgets.QListWidgetItem()
            self._render_item(item, s.id)
            item.setData(QtCore.Qt.ItemDataRole.UserRole, s.id)
            item.setToolTip(
                f"{s.name}\nVendor profile: {s.profile}"
                + (f"\nOrganisation: {s.organization_name}" if s.organization_name else "")
                + ("\nDemo sandbox" if s.demo else f"\n{s.base_url}")
            )
            self.list.addItem(item)
        self.list.blockSignals(False)
        row = next((i for i, s in enumerate(self._summaries) if s.id == current), -1)
        if row < 0 and self._summaries:
            last = self.ctx.settings.last_partner
            row = next((i for i, s in enumerate(self._summaries) if s.name == last), 0)
        if row >= 0:
            self.list.setCurrentRow(row)
            if current != self._summaries[row].id:
                self.partner_selected.emit(self._summaries[row].id)
        elif current is not None:
            self.partner_selected.emit(None)
        self._update_actions()

    def _render_item(self, item: QtWidgets.QListWidgetItem, partner_id: int) -> None:
        """One row, from the partner's state (services/state.py) and nothing else."""
        st = self.ctx.state.get(partner_id)
        if st is None:
            return
        key = "setup" if st.in_setup else st.status
        color = theme.color(STATUS_COLORS.get(key, "muted"))
        item.setIcon(_dot(color))
        item.setForeground(color)
        item.setText(
            f"{st.name}\n{st.status_with_age()}\n"
            f"{st.accounts_mapped}/{st.accounts_total} accounts mapped"
            + (f" · {st.queue_text()}" if st.queue_text() else "")
        )
        item.setData(QtCore.Qt.ItemDataRole.AccessibleTextRole, item.text().replace("\n", ", "))

    def _on_state(self, partner_id: int) -> None:
        """A partner's state changed: re-render its row (a new or removed partner: the list)."""
        ids = [s.id for s in self._summaries]
        st = self.ctx.state.get(partner_id)
        if (st is None) == (partner_id in ids):
            self.reload()
            return
        if st is None:
            return
        row = ids.index(partner_id)
        self._render_item(self.list.item(row), partner_id)
        # A message about this partner is stale once its status moved on (defect 4: "is
        # disconnected" still shown after a reconnect made it ACTIVE).
        if self._message_about is not None and self._message_about[0] == partner_id:
            if self._message_about[1] != (st.status, st.setup_step):
                self._say("")
        self._update_actions()

    def refresh_ages(self) -> None:
        """Re-render every row (ages such as "checked 2 min ago" move on with the clock)."""
        for row, s in enumerate(self._summaries):
            item = self.list.item(row)
            if item is not None:
                self._render_item(item, s.id)

    def current_id(self) -> int | None:
        item = self.list.currentItem()
        return item.data(QtCore.Qt.ItemDataRole.UserRole) if item else None

    def current_summary(self) -> PartnerSummary | None:
        partner_id = self.current_id()
        return next((s for s in self._summaries if s.id == partner_id), None)

    def current_state(self) -> PartnerState | None:
        partner_id = self.current_id()
        return self.ctx.state.get(partner_id) if partner_id is not None else None

    def summary_of(self, partner_id: int) -> PartnerSummary | None:
        return next((s for s in self._summaries if s.id == partner_id), None)

    def select(self, partner_id: int | None) -> None:
        for i, s in enumerate(self._summaries):
            if s.id == partner_id:
                self.list.setCurrentRow(i)

    def _on_row(self, row: int) -> None:
        self.partner_selected.emit(
            self._summaries[row].id if 0 <= row < len(self._summaries) else None
        )
        self._update_actions()

    def _update_actions(self) -> None:
        s = self.current_state()
        busy = s is not None and self.tasks.busy
        # Not while a push runs (from the Usage page): Sync now would start a second one.
        self.sync_action.setEnabled(
            s is not None
            and not s.in_setup
            and s.status in ("active", "pending")
            and s.push_progress is None
            and not busy
        )
        self.disconnect_action.setEnabled(
            (s is not None and not busy and s.status not in ("disconnected", "unknown"))
            or (s is not None and s.in_setup)
        )
        # Reconnect is for a partner that is not connected; an ACTIVE one has nothing to redo
        # (defect 13). A setup in progress continues instead.
        self.reconnect_action.setEnabled(
            s is not None and not busy and (s.in_setup or s.status != "active")
        )
        self.count_settings_action.setEnabled(s is not None)
        if s is not None and s.in_setup:
            self.reconnect_action.setText("Continue &setup…")
            self.disconnect_action.setText(
                "&Discard setup…" if s.status == "unknown" else "&Disconnect…"
            )
        else:
            never = s is not None and s.status == "unknown" and s.setup_step == 0
            self.reconnect_action.setText("&Set up…" if never else "&Reconnect…")
            self.disconnect_action.setText("&Disconnect…")

    def _context_menu(self, pos: QtCore.QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is not None:
            self.list.setCurrentItem(item)
        menu = QtWidgets.QMenu(self)
        menu.addAction(self.connect_action)
        menu.addSeparator()
        for action in (self.sync_action, self.disconnect_action, self.reconnect_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.count_settings_action)
        menu.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.list.viewport().mapToGlobal(pos))

    def open_count_settings(self, partner_id: int | None = None) -> Any:
        """The partner's Count settings (ui/dialogs/count_settings.py)."""
        from gradient_desktop.ui.dialogs.count_settings import CountSettingsDialog

        partner = self._partner(partner_id)
        if partner is None:
            return None
        dialog = CountSettingsDialog(self.ctx, partner, self)
        self.count_settings = dialog
        dialog.open()
        return dialog

    def _default_action(self) -> None:
        s = self.current_state()
        if s is not None and (s.in_setup or s.status in ("disconnected", "unknown")):
            self.reconnect_partner()

    def _say(self, text: str, error: bool = False, partner_id: int | None = None) -> None:
        """The message line; a message about a partner is cleared once its state moves on."""
        theme.tint(self.message, "error" if error else None)
        self.message.setText(text)
        st = self.ctx.state.get(partner_id) if partner_id is not None else None
        self._message_about = (partner_id, (st.status, st.setup_step)) if st else None

    # -- the wizard -------------------------------------------------------------------------------

    def open_wizard(self, flow: Any) -> Any:
        from gradient_desktop.ui.wizard import SetupWizard

        if self.wizard is not None:
            self.wizard.raise_()
            self.wizard.activateWindow()
            return self.wizard
        wizard = SetupWizard(self.ctx, flow, self.window())
        wizard.setWindowModality(QtCore.Qt.WindowModality.NonModal)
        wizard.closed.connect(self._wizard_closed)
        self.wizard = wizard
        wizard.show()
        return wizard

    def _wizard_closed(self, partner_id: int | None) -> None:
        self.wizard = None
        self.reload()
        if partner_id is not None:
            self.select(partner_id)
        refresh = getattr(self.window_, "refresh_partner", None)
        if callable(refresh):
            refresh()

    def connect_partner(self, *_args: object) -> Any:
        """The wizard for a new partner (the demo profile is preselected until a real one exists)."""
        from gradient_desktop.services.setup import SetupFlow

        return self.open_wizard(SetupFlow.new(self.ctx))

    def reconnect_partner(self, partner_id: int | None = None) -> Any:
        """Continue a half-finished setup, or run it again for a known partner."""
        from gradient_desktop.services.setup import SetupFlow

        partner_id = partner_id if partner_id is not None else self.current_id()
        if partner_id is None:
            return None
        s = self.ctx.state.get(partner_id)
        if s is not None and s.in_setup:
            flow = SetupFlow.resume(self.ctx, partner_id)
        else:
            flow = SetupFlow.reconnect(self.ctx, partner_id)
        return self.open_wizard(flow)

    def open_demo(self) -> None:
        from gradient_desktop.services.demo import ensure_demo_partner

        partner = ensure_demo_partner(self.ctx)
        self.reload()
        for i, s in enumerate(self._summaries):
            if s.id == partner.id:
                self.list.setCurrentRow(i)
        # "Try the demo" promises every step: a demo partner never set up goes straight into
        # the wizard instead of sitting in the list as "not checked with Gradient yet".
        state = self.ctx.state.get(partner.id or 0)
        if state is not None and state.status == "unknown" and state.setup_step == 0:
            self.reconnect_partner(partner.id)

    # -- sync and disconnect ----------------------------------------------------------------------

    def _partner(self, partner_id: int | None) -> Partner | None:
        partner_id = partner_id if partner_id is not None else self.current_id()
        if partner_id is None:
            return None
        try:
            return self.directory.by_id(partner_id)
        except LookupError:
            return None

    def sync_now(self, partner_id: int | None = None) -> Any:
        """Refresh the status, publish accounts, send mappings, push queued counts."""
        partner = self._partner(partner_id)
        if partner is None:
            return None
        self._say(f"Syncing {partner.name}…", partner_id=partner.id)
        return self._start("sync", partner, self._sync(partner))

    async def _sync(self, partner: Partner) -> str:
        """Status, accounts, mappings, queued counts; the report says what a user can check
        (numbers Gradient confirmed), not what the app attempted (defect 11)."""
        from gradient_desktop.services.integration import IntegrationService
        from gradient_desktop.services.mapping import MappingService
        from gradient_desktop.services.push import PushService
        from gradient_desktop.services.state import when

        integration = IntegrationService(self.ctx)
        status = await integration.refresh(partner)
        lines = [
            f"{partner.name} is {status.status.upper()} on Gradient ({when(datetime.now(UTC))})."
        ]
        rejected = 0
        if integration.accounts(partner):
            published = await integration.publish_accounts(partner)
            rejected = len(await MappingService(self.ctx).sync(partner))
            st = self.ctx.state.get(partner.id or 0)
            if st is not None:
                lines.append(
                    f"Accounts: {st.accounts_published} of {st.accounts_total} on Gradient"
                    + (f" ({published.created} added now)" if published.created else "")
                    + f", {st.accounts_mapped} mapped."
                )
            if published.failed:
                lines.append(
                    f"{plural(len(published.failed), 'account')} {verb(len(published.failed), 'was')} "
                    "not accepted."
                )
            if rejected:
                lines.append(
                    f"{plural(rejected, 'mapping')} {verb(rejected, 'was')} not accepted; "
                    "see the Mapping page."
                )
        push = PushService(self.ctx)
        if push.pending(partner):
            lines.append("Counts: " + (await push.run(partner)).text())
        else:
            lines.append("Counts: nothing was waiting to be sent.")
        return " ".join(lines)

    def disconnect_partner(
        self, partner_id: int | None = None, remove_keys: bool | None = None
    ) -> Any:
        """Disconnect (status *inactive*); ``remove_keys=None`` asks whether to keep the key."""
        partner = self._partner(partner_id)
        if partner is None:
            return None
        s = self.ctx.state.get(partner.id or 0)
        if s is not None and s.in_setup and s.status == "unknown":
            return self._ask_discard(partner)
        if remove_keys is None:
            return self._ask_disconnect(partner)
        self._say(f"Disconnecting {partner.name}…", partner_id=partner.id)
        from gradient_desktop.services.integration import IntegrationService

        async def disconnect() -> str:
            await IntegrationService(self.ctx).disconnect(partner, remove_keys=remove_keys)
            kept = "removed from the keyring" if remove_keys else "kept for a reconnect"
            return f"{partner.name} is disconnected; its key is {kept}."

        return self._start("disconnect", partner, disconnect())

    def _ask_disconnect(self, partner: Partner) -> QtWidgets.QMessageBox:
        box = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Icon.Question,
            "Disconnect partner",
            f"Disconnect {partner.name}? Gradient will show the integration as inactive and no "
            "usage is sent until you reconnect.\n\nKeep the partner API key for a later "
            "reconnect, or remove it from the keyring?",
            parent=self,
        )
        keep = box.addButton(
            "Disconnect, &keep the key", QtWidgets.QMessageBox.ButtonRole.AcceptRole
        )
        remove = box.addButton(
            "Disconnect and &remove the key", QtWidgets.QMessageBox.ButtonRole.DestructiveRole
        )
        box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)

        def clicked(button: QtWidgets.QAbstractButton) -> None:
            if button is keep:
                self.disconnect_partner(partner.id, remove_keys=False)
            elif button is remove:
                self.disconnect_partner(partner.id, remove_keys=True)

        box.buttonClicked.connect(clicked)
        box.open()  # never exec() (qasync#59)
        return box

    def _ask_discard(self, partner: Partner) -> QtWidgets.QMessageBox:
        box = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Icon.Question,
            "Discard setup",
            f"Discard the unfinished setup of {partner.name}? Nothing was connected on Gradient yet.",
            QtWidgets.QMessageBox.StandardButton.Discard
            | QtWidgets.QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)

        def clicked(button: QtWidgets.QAbstractButton) -> None:
            if box.standardButton(button) == QtWidgets.QMessageBox.StandardButton.Discard:
                self.directory.remove(partner.name, delete_keys=True)
                self.reload()

        box.buttonClicked.connect(clicked)
        box.open()
        return box

    def _start(self, action: str, partner: Partner, coro: Any) -> Any:
        self._update_actions()

        def done(text: str) -> None:
            self._after(partner)
            self._say(text, partner_id=partner.id)
            self.action_finished.emit(action, partner.id, text)

        def failed(exc: BaseException) -> None:
            self._after(partner)
            text = describe_error(exc)
            self._say(text, error=True, partner_id=partner.id)
            self.action_finished.emit(action, partner.id, text)

        return self.tasks.start(
            coro, on_done=done, on_error=failed, on_cancel=lambda: self._after(partner)
        )

    def _after(self, partner: Partner) -> None:
        if self.ctx.is_demo_url(partner.base_url):
            self.ctx.demo.save()
        self.reload()
        refresh = getattr(self.window_, "refresh_partner", None)
        if callable(refresh):
            refresh()
        self._update_actions()
