"""The main window's Alerts page: the New alert form on the left, the alert history on the right
(filterable, exportable to CSV), and the decisions for alerts in doubt (resend, mark as sent,
cancel). Accepted alerts are followed in the background until their ticket exists or fails.

All network work goes through ``AlertService`` on the qasync loop (``TaskRunner``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from gradient_desktop.services.alerts import AlertService, SendReport
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.integration import IntegrationService
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.services.wording import plural
from gradient_desktop.store.alerts import NewAlert, Resolution
from gradient_desktop.store.models import AlertEntry, AlertState, Partner
from gradient_desktop.ui.alerts.decisions import (
    DecisionCommand,
    cancel_label,
    confirm_resend,
    needs_you_text,
    sent_text,
)
from gradient_desktop.ui.alerts.form import AlertForm
from gradient_desktop.ui.alerts.model import (
    FILTERS,
    NEEDS_YOU_FILTER,
    AlertHistoryModel,
    history_view,
)
from gradient_desktop.ui.flow_layout import FlowLayout
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets
from gradient_desktop.ui.state_binding import binding
from gradient_desktop.ui.tasks import TaskRunner, describe_error

log = logging.getLogger(__name__)

#: How long a send waits for the ticket before showing "still pending" (checks continue).
TRACE_TIMEOUT_S = 20.0
#: How often accepted alerts are checked in the background.
BACKGROUND_MS = 10_000


class AlertsPage(QtWidgets.QWidget):
    title = "Alerts"

    def __init__(self, ctx: AppContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        # "Mark as sent" and "Don't send"/"Dismiss" can be undone; a resend sends, so it cannot.
        self.undo_stack = QtGui.QUndoStack(self)
        self.service = AlertService(ctx)
        self.tasks = TaskRunner(self)  # what the user started (the window cancels it on close)
        # Background checks run apart, so they never grey out the Send button.
        self.background = TaskRunner(self)
        self.partner: Partner | None = None
        self._checking = False

        self.form = AlertForm()
        self.form.submitted.connect(self.send)
        self.model = AlertHistoryModel(self)
        self.table = history_view(self.model)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)

        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("Filter by title, account, partner, status, ticket…")
        self.search.setAccessibleName("Filter alerts")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._refilter)
        self.state_filter = QtWidgets.QComboBox()
        self.state_filter.addItems(list(FILTERS))
        self.state_filter.setAccessibleName("Show alerts")
        self.state_filter.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.state_filter.setMinimumContentsLength(12)
        self.state_filter.currentIndexChanged.connect(self._refilter)
        self.all_partners = QtWidgets.QCheckBox("All &partners")
        self.all_partners.toggled.connect(self.reload)

        self.check_button = self._button(
            "&Check now", "Ask Gradient for the ticket of every alert still waiting", self.check_now
        )
        self.resend_button = self._button(
            "&Resend…",
            "Send the selected alert again (after you checked there is no ticket)",
            self.resend_selected,
        )
        self.mark_button = self._button(
            "&Mark as sent",
            "You saw its ticket on the PSA board: stop asking",
            lambda: self.resolve_selected(Resolution.MARK_SENT),
        )
        self.cancel_button = self._button(
            "Do&n't send",
            "Withdraw the selected alert (it is never sent), or dismiss a failed one you will "
            "not resend (Delete)",
            lambda: self.resolve_selected(Resolution.CANCEL),
        )
        self.export_button = self._button("E&xport CSV…", "Save the alerts shown to a CSV file", self.export_csv)  # fmt: skip
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(140)
        self.progress.setAccessibleName("Working")
        self.progress.hide()
        self.details = QtWidgets.QLabel()
        self.details.setWordWrap(True)
        self.details.setAccessibleName("Selected alert")
        self.details.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Alert messages")
        # What waits for the user, from the partner's state: the status bar shows the same.
        self.needs_you = QtWidgets.QLabel()
        self.needs_you.setWordWrap(True)
        self.needs_you.setAccessibleName("Alerts that need you")
        self.needs_you.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.show_needs_you = self._button(
            "S&how them", "List only the alerts that need you", self.filter_needs_you
        )
        self._shortcut("F5", "Check now for tickets", self.check_now)
        self._shortcut("Ctrl+F", "Filter the alert history", self.search.setFocus)
        delete = self._shortcut("Delete", "Don't send or dismiss the selected alert",
                                lambda: self.resolve_selected(Resolution.CANCEL), self.table)  # fmt: skip
        delete.setContext(QtCore.Qt.ShortcutContext.WidgetShortcut)
        self.tasks.busy_changed.connect(self._on_busy)

        filters = QtWidgets.QHBoxLayout()
        filters.addWidget(self.search, 1)
        filters.addWidget(self.state_filter)
        filters.addWidget(self.all_partners)
        # The buttons wrap onto a second line on a narrow window instead of widening it.
        actions_widget = QtWidgets.QWidget()
        actions = FlowLayout(actions_widget)
        for b in (
            self.check_button,
            self.resend_button,
            self.mark_button,
            self.cancel_button,
            self.export_button,
            self.progress,
        ):
            actions.addWidget(b)
        right = QtWidgets.QWidget()
        rv = QtWidgets.QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        heading = QtWidgets.QLabel(
            "<b>Alert history</b> — every alert sent to this partner; hover a row for details."
        )
        heading.setWordWrap(True)  # a one-line heading would set the window's minimum width
        rv.addWidget(heading)
        banner = QtWidgets.QHBoxLayout()
        banner.addWidget(self.needs_you, 1)
        banner.addWidget(self.show_needs_you)
        rv.addLayout(banner)
        rv.addLayout(filters)
        rv.addWidget(self.table, 1)
        rv.addWidget(self.details)
        rv.addWidget(actions_widget)
        rv.addWidget(self.message)
        splitter = QtWidgets.QSplitter()
        splitter.addWidget(self.form)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 960])
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(splitter, 1)

        self._choices_stale = False
        self._seen_accounts: tuple[int, ...] = ()
        self._seen_alerts: tuple[int, ...] = ()
        binding(ctx).changed.connect(self._on_state_changed)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(BACKGROUND_MS)
        self.timer.timeout.connect(self.background_check)
        self.timer.start()
        app = QtCore.QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.background.cancel_all)
        self._update_buttons()

    def _shortcut(
        self, keys: str, what: str, slot: object, owner: QtWidgets.QWidget | None = None
    ) -> QtGui.QShortcut:
        shortcut = QtGui.QShortcut(QtGui.QKeySequence(keys), owner or self)
        shortcut.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.setWhatsThis(what)  # listed in Help → Keyboard shortcuts
        shortcut.activated.connect(slot)
        return shortcut

    def _button(self, text: str, tip: str, slot: object) -> QtWidgets.QPushButton:
        button = QtWidgets.QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    # -- partner and history -----------------------------------------------------------------

    def set_partner(self, partner: Partner | None) -> None:
        self.partner = partner
        self.undo_stack.clear()  # the decisions were about the other partner's alerts
        self.form.setEnabled(partner is not None)
        self._load_choices()
        self.reload()
        self._render_state()

    def _render_state(self) -> None:
        state = self.ctx.state.get(self.partner.id or 0) if self.partner is not None else None
        if state is not None:  # what the next state change is compared with
            self._seen_accounts = (
                state.accounts_total,
                state.accounts_mapped_remote,
                state.services,
            )
            self._seen_alerts = (state.alerts_in_doubt, state.alerts_failed)
        text = needs_you_text(state)
        self.needs_you.setText(text)
        self.needs_you.setVisible(bool(text))
        self.show_needs_you.setVisible(bool(text))

    def filter_needs_you(self) -> None:
        self.search.clear()
        self.state_filter.setCurrentIndex(list(FILTERS).index(NEEDS_YOU_FILTER))

    def _load_choices(self) -> None:
        self._choices_stale = False
        if self.partner is not None:
            integration = IntegrationService(self.ctx)
            self.form.set_choices(
                integration.accounts(self.partner), integration.services(self.partner)
            )

    def _on_state_changed(self, partner_id: int) -> None:
        # Only what this page shows: the accounts and their mapping (the form's "(not mapped
        # yet)" marks; setup, the Mapping page, a sync) and the alerts that need the user (a sync
        # run, a background check). A push's progress changes the state many times a second.
        if self.partner is None or partner_id != self.partner.id:
            return
        state = self.ctx.state.get(partner_id)
        if state is None:
            return
        accounts = (state.accounts_total, state.accounts_mapped_remote, state.services)
        alerts = (state.alerts_in_doubt, state.alerts_failed)
        if accounts != self._seen_accounts:
            self._seen_accounts, self._choices_stale = accounts, True
            if self.isVisible():
                self._load_choices()
        if alerts != self._seen_alerts:
            self._seen_alerts = alerts
            self._render_state()
            if self.isVisible():
                self.reload()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        if self._choices_stale:
            self._load_choices()
        self.reload()  # alerts a sync run or the CLI added meanwhile
        super().showEvent(event)

    def reload(self) -> None:
        selected = self.selected()
        self.table.setColumnHidden(0, not self.all_partners.isChecked())
        names = {p.id: p.name for p in PartnerDirectory(self.ctx).list()}
        partner_id = (
            None if self.all_partners.isChecked() or self.partner is None else self.partner.id
        )
        rows = (
            self.service.ledger.history(partner_id)
            if (partner_id or self.all_partners.isChecked())
            else []
        )
        self.model.set_rows(rows, names)  # type: ignore[arg-type]
        self._refilter()
        if selected is not None:
            self.select_alert(selected.alert_id)
        self._update_buttons()

    def _refilter(self) -> None:
        self.model.set_filter(self.search.text(), FILTERS[self.state_filter.currentText()])
        self._update_buttons()

    def selected(self) -> AlertEntry | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.entry(rows[0].row()) if rows else None

    def select_alert(self, alert_id: str) -> None:
        for row, entry in enumerate(self.model.entries()):
            if entry.alert_id == alert_id:
                self.table.selectRow(row)
                return

    def _update_buttons(self) -> None:
        entry = self.selected()
        state = AlertState(entry.state) if entry else None
        self.details.setText(self.model.tip_for(entry) if entry else "")
        self.resend_button.setEnabled(
            state in (AlertState.UNKNOWN, AlertState.FAILED, AlertState.REJECTED, AlertState.QUEUED)
        )
        self.mark_button.setEnabled(state is AlertState.UNKNOWN)
        self.cancel_button.setText(cancel_label(state))
        self.cancel_button.setEnabled(
            state in (AlertState.UNKNOWN, AlertState.QUEUED, AlertState.FAILED, AlertState.REJECTED)
        )
        self.export_button.setEnabled(self.model.rowCount() > 0)

    def _on_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.form.send_button.setEnabled(not busy and self.partner is not None)

    def say(self, text: str) -> None:
        self.message.setText(text)

    # -- sending -----------------------------------------------------------------------------

    def start_alert(self, account_id: str) -> None:
        """Open the form for this account (the "Send alert…" action of other pages)."""
        self.form.set_account(account_id)
        self.form.title_field.setFocus()

    def send(self, alert: NewAlert) -> None:
        partner = self.partner
        if partner is None or self.tasks.busy:
            return
        self.say(f"Sending {alert.title!r}…")
        self.tasks.start(self._send(partner, alert), on_done=self._sent, on_error=self._failed)

    async def _send(self, partner: Partner, alert: NewAlert) -> tuple[SendReport, list[str]]:
        problems, warnings = await self.service.check_accounts(partner, [alert])
        if problems:
            raise ValueError("Not sent: " + "; ".join(problems) + ".")
        (row,), _ = self.service.record(partner, [alert], origin="app")
        self.reload()
        self.select_alert(alert.alert_id)
        report = await self.service.send(partner, [row], on_progress=lambda _r: self.reload())
        if report.accepted:
            await self.service.trace(
                partner,
                report.accepted,
                timeout=TRACE_TIMEOUT_S,
                on_update=lambda _r: self.reload(),
            )
        return report, warnings

    def _sent(self, result: tuple[SendReport, list[str]]) -> None:
        report, warnings = result
        self.reload()
        entry = self.selected()
        if report.stopped:
            self.say(f"Not sent yet: {report.stopped} It stays queued; use Resend later.")
            return
        self.form.clear_after_send()
        if entry is None:
            return
        text = sent_text(entry)
        self.say(" ".join([text, *(f"Note: {w}." for w in warnings)]))

    def _failed(self, exc: BaseException) -> None:
        self.reload()
        self.say(describe_error(exc))

    # -- following and deciding --------------------------------------------------------------

    def check_now(self) -> None:
        if self.partner is not None and not self.tasks.busy:
            partner = self.partner
            self.tasks.start(self.service.trace(partner, timeout=TRACE_TIMEOUT_S, on_update=lambda _r: self.reload()),
                             on_done=lambda rep: self.say(f"{plural(len(rep.success), 'ticket')} created, {len(rep.failed)} failed, "
                                                          f"{len(rep.pending)} still pending."),
                             on_error=self._failed)  # fmt: skip

    def background_check(self) -> None:
        """Timer: one due check of every accepted alert of every partner (quietly)."""
        if self._checking or not self.service.ledger.to_trace():
            return
        self._checking = True

        async def run() -> None:
            directory = PartnerDirectory(self.ctx)
            for partner in directory.list():
                if self.service.ledger.to_trace(partner.id):
                    await self.service.check_due(partner)

        def done(_result: object = None) -> None:
            self._checking = False
            self.reload()

        def failed(exc: BaseException) -> None:
            log.info("background alert check failed: %s", exc)
            done()

        self.background.start(run(), on_done=done, on_error=failed, on_cancel=done)

    def resend_selected(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        if entry.state == AlertState.QUEUED:  # never sent (e.g. Gradient was unreachable)
            if self.partner is not None and not self.tasks.busy:
                partner = PartnerDirectory(self.ctx).by_id(entry.partner_id)
                self.tasks.start(
                    self._resend(partner, entry), on_done=self._sent, on_error=self._failed
                )
            return
        if entry.state != AlertState.UNKNOWN:
            self.resolve_selected(Resolution.RESEND)
            return
        self.confirm_box = confirm_resend(
            self, entry, lambda: self.resolve_selected(Resolution.RESEND)
        )

    def resolve_selected(self, choice: str) -> None:
        entry = self.selected()
        if entry is None:
            return
        if choice != Resolution.RESEND:  # sends nothing: undoable
            self.undo_stack.push(DecisionCommand(self.service, entry, choice, self._decided))
            return
        try:
            row = self.service.resolve(entry.alert_id, choice, actor="app")
        except (LookupError, ValueError) as exc:
            self.say(str(exc))
            return
        self.reload()
        if self.partner is not None and not self.tasks.busy:
            partner = PartnerDirectory(self.ctx).by_id(row.partner_id)
            self.say(f"Resending {row.title!r}…")
            self.tasks.start(self._resend(partner, row), on_done=self._sent, on_error=self._failed)

    def _decided(self, row: AlertEntry | None, text: str) -> None:
        self.reload()
        if row is not None:
            self.select_alert(row.alert_id)
        self.say(text)

    async def _resend(self, partner: Partner, row: AlertEntry) -> tuple[SendReport, list[str]]:
        report = await self.service.send(partner, [row], on_progress=lambda _r: self.reload())
        if report.accepted:
            await self.service.trace(
                partner,
                report.accepted,
                timeout=TRACE_TIMEOUT_S,
                on_update=lambda _r: self.reload(),
            )
        return report, []

    def export_csv(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export alerts", "alerts.csv", "CSV files (*.csv)"
        )
        if path:
            self.write_csv(Path(path))

    def write_csv(self, path: Path) -> None:
        names = {p.id: p.name for p in PartnerDirectory(self.ctx).list()}
        try:
            path.write_text(self.service.history_csv(self.model.entries(), names), encoding="utf-8")  # type: ignore[arg-type]
        except OSError as exc:
            self.say(f"Could not write {path}: {exc.strerror or exc}")
            return
        self.say(f"Saved {plural(self.model.rowCount(), 'alert')} to {path}.")

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(1100, 700)
