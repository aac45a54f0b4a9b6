"""The Sync page: usage sources (list + editor with preview), "Sync all now" with a progress bar
per partner, the OS schedule, and the last runs with their details. What scheduled runs did
(and taking over those the open app kept from running) is ``scheduled.py``'s job.
"""

from __future__ import annotations

import asyncio
import json

from gradient_desktop.services import schedule, schedule_keys
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.sources import RunStore, SourceStore
from gradient_desktop.services.sync import SyncResult, SyncService
from gradient_desktop.services.sync_alerts import detail_lines
from gradient_desktop.store.models import SyncRun
from gradient_desktop.ui.flow_layout import FlowLayout, group
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets
from gradient_desktop.ui.state_binding import binding
from gradient_desktop.ui.sync.editor import SourceEditor
from gradient_desktop.ui.sync.scheduled import IN_APP_TRIGGER, ScheduledRuns
from gradient_desktop.ui.tasks import TaskRunner, describe_error

SCHEDULES = [
    ("Off", None),
    ("Every 30 minutes", "30m"),
    ("Every hour", "1h"),
    ("Every 6 hours", "6h"),
    ("Every day at…", "daily"),
]


class SyncPage(QtWidgets.QWidget):
    title = "Sync"
    undo_stack = None

    def __init__(self, ctx: AppContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.tasks = TaskRunner(self)
        self.runs = RunStore(ctx)
        self.bars: dict[str, QtWidgets.QProgressBar] = {}
        binding(ctx).changed.connect(self._on_state)

        self._trigger = "app"
        # Reports what scheduled runs did (in a banner over the page), and runs those the
        # open app kept from running.
        self.scheduled = ScheduledRuns(self)
        self.banner = self.scheduled.banner.label

        # sources
        self.sources = QtWidgets.QListWidget()
        self.sources.setAccessibleName("Usage sources")
        self.sources.currentTextChanged.connect(self._edit_source)
        add = QtWidgets.QPushButton("&New source")
        add.clicked.connect(lambda: self._new_source())
        remove = QtWidgets.QPushButton("Remove")
        remove.clicked.connect(self._remove_source)
        src_buttons = QtWidgets.QHBoxLayout()
        src_buttons.addWidget(add)
        src_buttons.addWidget(remove)
        self.editor = SourceEditor(ctx)
        self.editor.saved.connect(self.reload_sources)
        src_box = QtWidgets.QGroupBox("Usage sources")
        src_layout = QtWidgets.QHBoxLayout(src_box)
        left = QtWidgets.QVBoxLayout()
        left.addWidget(self.sources, 1)
        left.addLayout(src_buttons)
        src_layout.addLayout(left, 1)
        # Scrollable, so the runs below keep their room in a small window.
        editor_scroll = QtWidgets.QScrollArea()
        editor_scroll.setWidgetResizable(True)
        editor_scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        editor_scroll.setWidget(self.editor)
        src_layout.addWidget(editor_scroll, 3)

        # sync now + schedule
        self.sync_button = QtWidgets.QPushButton("Sync &all now")
        self.sync_button.setToolTip("Read every source and push what changed (Ctrl+Alt+S)")
        self.sync_button.clicked.connect(self.sync_all)
        # A QShortcut with a description so Help → Keyboard shortcuts lists it; Ctrl+Shift+S
        # is the Partners view's "Sync now" (one partner's accounts).
        sync_key = QtGui.QShortcut(QtGui.QKeySequence("Ctrl+Alt+S"), self)
        sync_key.setWhatsThis("Sync all partners now")
        sync_key.activated.connect(self._sync_if_enabled)
        self.dry_run = QtWidgets.QCheckBox("Dry run (send nothing)")
        self.schedule_combo = QtWidgets.QComboBox()
        for label, value in SCHEDULES:
            self.schedule_combo.addItem(label, value)
        self.daily = QtWidgets.QTimeEdit(QtCore.QTime(2, 0))
        self.daily.setDisplayFormat("HH:mm")
        self.daily.setEnabled(False)  # only "Every day at…" has a time of day
        self.schedule_combo.currentIndexChanged.connect(
            lambda _i: self.daily.setEnabled(self.schedule_combo.currentData() == "daily")
        )
        self.apply_button = QtWidgets.QPushButton("Apply schedule")
        self.apply_button.clicked.connect(self.apply_schedule)
        self.schedule_label = QtWidgets.QLabel()
        self.schedule_label.setWordWrap(True)
        # Wraps onto a second line when narrow (ARCHITECTURE: sizes fit the screen).
        bar_widget = QtWidgets.QWidget()
        bar = FlowLayout(bar_widget)
        bar.addWidget(group(self.sync_button, self.dry_run))
        bar.addWidget(
            group(QtWidgets.QLabel("Schedule:"), self.schedule_combo, self.daily, self.apply_button)
        )
        self.message = QtWidgets.QLabel("")
        self.message.setWordWrap(True)
        self.progress_box = QtWidgets.QWidget()
        self.progress_form = QtWidgets.QFormLayout(self.progress_box)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.progress_box)
        scroll.setMinimumHeight(60)
        scroll.hide()  # shown once a sync starts: no empty box before
        self.progress_scroll = scroll

        # runs
        headers = ["When", "How", "Result", "Changed", "Landed", "Unmatched", "Unmapped"]
        headers += ["Failed", "Alerts sent"]  # Alerts sent: blank for a run without alert sources
        self.table = QtWidgets.QTableWidget(0, len(headers))
        self.table.setAccessibleName("Last sync runs")
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.itemSelectionChanged.connect(self._show_details)
        self.details = QtWidgets.QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setAccessibleName("Run details")
        runs = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        runs.addWidget(self.table)
        runs.addWidget(self.details)
        runs.setStretchFactor(0, 3)  # the table's nine columns fit; the details wrap
        runs.setStretchFactor(1, 2)

        lower = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        lower.addWidget(src_box)
        lower.addWidget(scroll)
        lower.addWidget(runs)
        lower.setSizes([430, 90, 240])
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.scheduled.banner)
        layout.addWidget(bar_widget)
        layout.addWidget(self.schedule_label)
        layout.addWidget(self.message)
        layout.addWidget(lower, 1)

        self._run_list: list[SyncRun] = []
        self.reload_sources()
        self.reload_runs()
        self._schedule_shown = False

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        # Asking the OS (systemctl/crontab) costs a subprocess: only once the page is seen.
        if not self._schedule_shown:
            self._schedule_shown = True
            self.show_schedule()
        super().showEvent(event)

    def set_partner(self, _partner: object) -> None:
        """Syncs cover every partner; the selected one does not matter here."""

    # -- sources --------------------------------------------------------------------------

    def reload_sources(self, select: str | None = None) -> None:
        names = [c.name for c in SourceStore(self.ctx).list()]
        self.sources.blockSignals(True)
        self.sources.clear()
        self.sources.addItems(names)
        self.sources.blockSignals(False)
        if select in names:
            self.sources.setCurrentRow(names.index(select))
        elif not names:
            self._new_source()

    def _new_source(self) -> None:
        self.sources.clearSelection()
        self.editor.load(None)

    def _edit_source(self, name: str) -> None:
        if name:
            self.editor.load(SourceStore(self.ctx).get(name))

    def _remove_source(self) -> None:
        item = self.sources.currentItem()
        if item is None:
            return
        try:
            SourceStore(self.ctx).remove(item.text())
        except Exception as exc:
            self.message.setText(describe_error(exc))
            return
        self.message.setText(f"Removed source {item.text()}.")
        self.reload_sources()

    # -- sync ------------------------------------------------------------------------------

    def _sync_if_enabled(self) -> None:
        if self.sync_button.isEnabled():
            self.sync_all()

    def sync_all(self) -> None:
        self.start_sync("app")

    def start_sync(self, trigger: str) -> None:
        """Sync every source to every partner; ``trigger`` says who asked (the runs table)."""
        self._trigger = trigger
        for i in reversed(range(self.progress_form.rowCount())):
            self.progress_form.removeRow(i)
        self.bars.clear()
        self.progress_scroll.show()
        self.sync_button.setEnabled(False)
        scheduled = trigger == IN_APP_TRIGGER
        self.message.setText(
            "The scheduled sync runs here, as the app is open. Reading the sources…"
            if scheduled
            else "Reading the sources…"
        )
        self.tasks.start(
            SyncService(self.ctx).run(
                dry_run=self.dry_run.isChecked() and not scheduled,
                trigger=trigger,
                on_progress=self._progress,
            ),
            on_done=self._synced,
            on_error=self._failed,
        )

    def _progress(self, partner: str, done: int, total: int) -> None:
        """The run's steps for a partner (its bar appears, then ends full). While the
        partner's push runs, its bar renders the partner's state instead (``_on_state``), as
        every view of a push does."""
        bar = self.bars.get(partner)
        if bar is None:
            bar = self.bars[partner] = QtWidgets.QProgressBar()
            bar.setFormat("%v / %m")
            self.progress_form.addRow(partner, bar)
        if 0 < done < total:
            return  # mid-push: the state has it
        bar.setMaximum(max(total, 1))
        bar.setValue(done if total else 1)

    def _on_state(self, partner_id: int) -> None:
        st = self.ctx.state.get(partner_id)
        bar = self.bars.get(st.name) if st is not None else None
        if bar is not None and st is not None and st.push_progress is not None:
            bar.setMaximum(max(st.push_progress.total, 1))
            bar.setValue(st.push_progress.done)

    def _synced(self, result: SyncResult) -> None:
        self.sync_button.setEnabled(True)
        self.message.setText(result.message)
        self.reload_runs()
        if self._trigger == IN_APP_TRIGGER and result.status == "failed":
            self.scheduled.failed(f"The scheduled sync failed: {result.message}")

    def _failed(self, exc: BaseException) -> None:
        self.sync_button.setEnabled(True)
        self.message.setText(describe_error(exc))
        self.reload_runs()
        if self._trigger == IN_APP_TRIGGER:
            self.scheduled.failed(f"The scheduled sync failed: {describe_error(exc)}")

    # -- runs ------------------------------------------------------------------------------

    def reload_runs(self) -> None:
        self._run_list = self.runs.recent(50)
        self.table.setRowCount(len(self._run_list))
        for r, run in enumerate(self._run_list):
            when = run.started_at.astimezone().strftime("%Y-%m-%d %H:%M") if run.started_at else ""
            cells = [
                when,
                run.trigger,
                run.status,
                run.changed,
                run.landed,
                run.unmatched,
                run.unmapped,
                run.failed,
                _alerts_sent(run),
            ]
            for c, value in enumerate(cells):
                self.table.setItem(r, c, QtWidgets.QTableWidgetItem(str(value)))
        self.table.resizeColumnsToContents()  # at most 50 rows: cheap
        if self._run_list:
            # Not selectRow(): it reads the keyboard's modifiers, so with Ctrl down (or a test's
            # Ctrl press left over) it toggled the row off and the details stayed empty.
            flags = QtCore.QItemSelectionModel.SelectionFlag
            self.table.selectionModel().select(
                self.table.model().index(0, 0), flags.ClearAndSelect | flags.Rows
            )

    def _show_details(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        run = self._run_list[rows[0].row()]
        details = json.loads(run.details or "{}")
        lines = [run.message or ""]
        for p in details.get("partners", []):
            lines.append(
                f"{p['name']}: {p['changed']} changed, {p['landed']} landed, "
                f"{p['unmapped']} unmapped, {p['failed']} failed. {p['message']}"
            )
            lines += [
                f"    {acc} × {svc}: {outcome} ({err})"
                for acc, svc, outcome, err in p["problems"][:50]
            ]
        lines += [f"Error: {e}" for e in details.get("errors", [])]
        lines += [f"Not matched: {u}" for u in details.get("unmatched", [])]
        lines += detail_lines(details.get("alerts"))  # the alert sources' part of the run
        self.details.setPlainText("\n".join(lines))

    # -- schedule --------------------------------------------------------------------------

    def show_schedule(self) -> None:
        """Say what the OS keeps, and set the schedule controls to it (not to "Off" while a
        schedule is set)."""
        try:
            backend = schedule.detect()
            when = backend.when()
            shown = backend.show() if when is None else None
        except schedule.ScheduleError as exc:
            self.schedule_label.setText(str(exc))
            return
        if when is not None:
            index = self._schedule_index(when)
            self.schedule_combo.setCurrentIndex(index)
            if when.daily:
                self.daily.setTime(QtCore.QTime(*when.daily))
            text = f"Scheduled by the system ({backend.name}): sync {when.describe()}."
        elif shown:
            text = f"Scheduled by the system: {shown}"
        else:
            self.schedule_combo.setCurrentIndex(0)
            text = "No scheduled sync: syncs run only when you ask."
        self.schedule_label.setText(text)

    def _schedule_index(self, when: schedule.When) -> int:
        """The combo entry for ``when``; one is added for an interval set from the command
        line (e.g. every 2 hours)."""
        for i in range(1, self.schedule_combo.count()):
            data = self.schedule_combo.itemData(i)
            if data == "daily":
                if when.daily:
                    return i
            elif not when.daily and schedule.parse_when(every=data) == when:
                return i
        self.schedule_combo.addItem(when.describe().capitalize(), f"{when.every_min}m")
        return self.schedule_combo.count() - 1

    def _add_advice(self, done: str, advice: str | None) -> None:
        if advice and self.message.text() == done:  # not over a sync started meanwhile
            self.message.setText(f"{done} {advice}")

    def apply_schedule(self) -> None:
        value = self.schedule_combo.currentData()
        try:
            backend = schedule.detect()
            if value is None:
                backend.remove()
                self.message.setText("The scheduled sync is removed.")
            else:
                when = (
                    schedule.parse_when(daily=self.daily.time().toString("HH:mm"))
                    if value == "daily"
                    else schedule.parse_when(every=value)
                )
                where = backend.install(when, schedule.command_line())
                done = f"Syncing {when.describe()} ({where})."
                self.message.setText(done)
                # Whether the job will reach the keys: may start a process (cron's probe).
                needs = schedule_keys.keys_needed(self.ctx)
                self.tasks.start(
                    asyncio.to_thread(schedule_keys.advice, needs, self.ctx.secrets, backend),
                    on_done=lambda advice: self._add_advice(done, advice),
                )
        except schedule.ScheduleError as exc:
            self.message.setText(str(exc))
        self.show_schedule()


def _alerts_sent(run: SyncRun) -> str:
    """The alerts a run sent, from its details ("" when it read no alert source)."""
    alerts = json.loads(run.details or "{}").get("alerts")
    return "" if not alerts else str(alerts.get("sent", 0))
