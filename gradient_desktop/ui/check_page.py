"""The "Integration check" page: Gradient's QA steps for the current partner, each ticked from
a live API answer (``services.qa``), with a Run check button and the time of the last check."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.qa import QA_STEPS, IntegrationCheck, QaReport, empty_report
from gradient_desktop.services.state import age, when
from gradient_desktop.store.models import Partner
from gradient_desktop.ui import theme
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets
from gradient_desktop.ui.state_binding import binding
from gradient_desktop.ui.tasks import TaskRunner, describe_error

MARKS = {True: ("✔", "ok"), False: ("✘", "error"), None: ("–", "muted")}  # theme tokens


class IntegrationCheckPage(QtWidgets.QWidget):
    title = "Integration check"
    undo_stack = None

    def __init__(self, ctx: AppContext, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.tasks = TaskRunner(self)
        self.partner: Partner | None = None
        self.report: QaReport | None = None
        self._task: asyncio.Task[Any] | None = None
        theme.on_change(self._on_theme_changed)

        heading = QtWidgets.QLabel(
            "<b>Integration check</b> — Gradient's QA steps before launch, each ticked from what "
            "the Vendor API answers now for the selected partner."
        )
        heading.setWordWrap(True)
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setAccessibleName("QA steps")
        self.tree.setHeaderLabels(["", "Step", "Result"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setWordWrap(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Fixed)
        header.resizeSection(0, 32)
        header.resizeSection(1, 200)
        header.setStretchLastSection(True)
        font = QtGui.QFont()
        font.setPointSize(font.pointSize() + 4)
        self._mark_font = font

        self.run_button = QtWidgets.QPushButton("&Run check")
        self.run_button.setShortcut(QtGui.QKeySequence("Ctrl+R"))
        self.run_button.clicked.connect(self.run_check)
        self.busy = QtWidgets.QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(10)
        self.busy.hide()
        self.last_check = QtWidgets.QLabel("Not checked yet.")
        self.last_check.setAccessibleName("Last check")
        self.error = QtWidgets.QLabel()
        self.error.setWordWrap(True)
        theme.tint(self.error, "error")
        self.error.hide()
        self.hint = QtWidgets.QLabel(
            "Tip from Gradient's QA guide: after the check passes, disconnect the integration "
            "and run the setup again to prove partners can disconnect and reconnect."
        )
        self.hint.setWordWrap(True)
        theme.tint(self.hint, "muted")

        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.run_button)
        row.addWidget(self.busy, 1)
        row.addWidget(self.last_check, 2)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addLayout(row)
        layout.addWidget(self.error)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.hint)
        self._show(None)
        binding(ctx).changed.connect(self._on_state)

    # -- partner ------------------------------------------------------------------------------

    def set_partner(self, partner: Partner | None) -> None:
        changed = (partner.id if partner else None) != (self.partner.id if self.partner else None)
        self.partner = partner
        if changed and self._task is not None:
            self._task.cancel()
        self.run_button.setEnabled(partner is not None and not self.tasks.busy)
        self.show_state()

    def _on_state(self, partner_id: int) -> None:
        if self.partner is not None and self.partner.id == partner_id:
            self.show_state()

    def show_state(self) -> None:
        """Ticks, counts and the "last check" line from the partner's state: the last check
        is shown only while the status it saw is still the status (defect 4)."""
        st = self.ctx.state.get(self.partner.id or 0) if self.partner is not None else None
        if self.tasks.busy:
            return
        check = st.last_check if st is not None else None
        if st is None:
            self.report = None
            self._show(None)
            self.last_check.setText("No partner selected.")
            self.error.hide()
            return
        if check is None or st.check_outdated:
            self.report = None
            self._show(None)
            if check is None:
                self.last_check.setText("Not checked yet: press Run check.")
            else:
                self.last_check.setText(
                    f"The last check ({when(check.at)}) is out of date: the status is "
                    f"{st.status.upper()} now. Press Run check to check again."
                )
            self.error.hide()
            return
        if self.report is None or self.report.checked_at != check.at:
            # A check run elsewhere (another window, the CLI in-process): marks only.
            self.report = report_from_marks(st.name, check.at, check.marks, check.error)
        self._show(self.report)
        self.last_check.setText(
            f"Last check {when(check.at)} ({age(check.at)}): {check.passed} of {check.total} "
            "steps pass."
        )
        self.error.setText(check.error or "")
        self.error.setVisible(bool(check.error))

    # -- running --------------------------------------------------------------------------------

    def run_check(self) -> None:
        partner = self.partner
        if partner is None or self.tasks.busy:
            return
        self.run_button.setEnabled(False)
        self.busy.show()
        self.error.hide()
        self.last_check.setText(f"Checking {partner.name}…")
        self._task = self.tasks.start(
            IntegrationCheck(self.ctx).run(partner),
            on_done=self._done,
            on_error=self._failed,
            on_cancel=self._stopped,
        )

    def _stopped(self) -> None:
        self.busy.hide()
        self.run_button.setEnabled(self.partner is not None)
        if self.partner is not None:
            self.show_state()

    def _failed(self, exc: BaseException) -> None:
        self._stopped()
        self.error.setText(describe_error(exc))
        self.error.show()

    def _done(self, report: QaReport) -> None:
        self.report = report  # details of the steps; ticks and counts come from the state
        self._stopped()
        self.show_state()

    def _on_theme_changed(self, _scheme: str) -> None:
        self._show(self.report)  # the marks' colours are drawn into the items

    def _show(self, report: QaReport | None) -> None:
        report = report or empty_report(self.partner.name if self.partner else "")
        self.tree.clear()
        for step in report.steps:
            mark, color = MARKS[step.ok]
            detail = step.detail or next(h for k, _t, h in QA_STEPS if k == step.key)
            item = QtWidgets.QTreeWidgetItem(
                ["" if self.report is None else mark, step.title, detail]
            )
            item.setForeground(0, theme.color(color))
            item.setFont(0, self._mark_font)
            item.setToolTip(2, detail)
            item.setData(0, QtCore.Qt.ItemDataRole.UserRole, step.key)
            self.tree.addTopLevelItem(item)

    def marks(self) -> dict[str, bool | None]:
        """key -> ticked as shown now (tests, accessibility)."""
        return {s.key: s.ok for s in self.report.steps} if self.report else {}


def report_from_marks(
    partner: str, at: datetime, marks: dict[str, bool | None], error: str | None
) -> QaReport:
    report = empty_report(partner)
    report.checked_at, report.error = at, error
    for step in report.steps:
        step.ok = marks.get(step.key)
    return report
