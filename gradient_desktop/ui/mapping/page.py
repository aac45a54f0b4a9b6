"""The main window's Mapping page: the mapping grid for accounts and for services, refresh
from Gradient, CSV import/export. One undo history for both grids (the page's ``undo_stack``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.integration import IntegrationService
from gradient_desktop.services.wording import plural
from gradient_desktop.store.models import MappingKind, Partner
from gradient_desktop.ui.mapping.grid import MappingGrid
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets
from gradient_desktop.ui.tasks import TaskRunner, describe_error, show_error

log = logging.getLogger(__name__)


class MappingPage(QtWidgets.QWidget):
    title = "Mapping"

    def __init__(self, ctx: AppContext, window: QtWidgets.QWidget | None = None) -> None:
        super().__init__(window)
        self.ctx = ctx
        self.tasks = TaskRunner(self)
        self.partner: Partner | None = None
        self.undo_stack = QtGui.QUndoStack(self)
        self.accounts = MappingGrid(ctx, self, undo_stack=self.undo_stack)
        self.services = MappingGrid(
            ctx, self, kind=MappingKind.SERVICE.value, undo_stack=self.undo_stack
        )
        from gradient_desktop.ui.state_binding import binding

        binding(ctx).changed.connect(self._on_state)
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.accounts)
        self.stack.addWidget(self.services)

        self.what = QtWidgets.QComboBox()
        self.what.addItem("Accounts → Gradient clients")
        self.what.addItem("Services → partner services")
        self.what.setAccessibleName("What to map")
        self.what.currentIndexChanged.connect(self._on_what)
        what_label = QtWidgets.QLabel("Ma&p")
        what_label.setBuddy(self.what)
        self.refresh_button = QtWidgets.QPushButton("&Refresh from Gradient")
        self.refresh_button.setToolTip(
            "Load the partner's clients (or services) from Gradient; clients that disappeared "
            "are flagged stale. Also retries mappings that failed to sync."
        )
        self.refresh_button.clicked.connect(self.refresh)
        self.import_button = QtWidgets.QPushButton("&Import CSV…")
        self.import_button.setToolTip(
            "Import vendorAccountId,gradientClientId rows (one undo step)."
        )
        self.import_button.clicked.connect(self.import_csv)
        self.export_button = QtWidgets.QPushButton("E&xport CSV…")
        self.export_button.clicked.connect(self.export_csv)
        self.busy = QtWidgets.QLabel()

        top = QtWidgets.QHBoxLayout()
        top.addWidget(what_label)
        top.addWidget(self.what)
        top.addWidget(self.refresh_button)
        top.addStretch(1)
        top.addWidget(self.busy)
        top.addWidget(self.import_button)
        top.addWidget(self.export_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        self.tasks.busy_changed.connect(
            lambda b: self.busy.setText("Loading from Gradient…" if b else "")
        )

    @property
    def grid(self) -> MappingGrid:
        return self.accounts if self.stack.currentIndex() == 0 else self.services

    def _on_what(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        is_accounts = index == 0
        self.import_button.setEnabled(is_accounts)
        self.export_button.setEnabled(is_accounts)
        if not is_accounts and self.partner is not None and not self.services.remote_targets:
            self.refresh()

    def set_partner(self, partner: Partner | None) -> None:
        self.partner = partner
        self.services.remote_targets, self.services.remote_notes = [], {}
        self.accounts.set_partner(partner)
        self.services.set_partner(partner)
        # A partner whose clients were never loaded: load them now, in the background.
        if partner is not None and not self.accounts.state.right.ids and self._loop_running():
            self.refresh()

    def _on_state(self, partner_id: int) -> None:
        """Mappings changed elsewhere (the wizard's grid, a CSV, the CLI): this grid re-reads
        them, so its counters never disagree with the partners list (#11 defect 4)."""
        if self.partner is None or self.partner.id != partner_id:
            return
        st = self.ctx.state.get(partner_id)
        if st is not None and st.accounts_mapped != len(self.accounts.state.mapping):
            self.accounts.reload()

    @staticmethod
    def _loop_running() -> bool:
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    def refresh(self) -> None:
        partner = self.partner
        if partner is None:
            return
        if self.grid is self.accounts:
            self.tasks.start(
                IntegrationService(self.ctx).sync_clients(partner),
                on_done=lambda result: self._clients_loaded(partner, result),
                on_error=lambda exc: show_error(self, "Refresh from Gradient", exc),
            )
        else:
            self.tasks.start(
                self.services.service.partner_services(partner),
                on_done=lambda rows: self._services_loaded(partner, rows),
                on_error=lambda exc: show_error(self, "Refresh from Gradient", exc),
            )

    def _clients_loaded(self, partner: Partner, result: object) -> None:
        if self.partner is None or self.partner.id != partner.id:
            return
        self.accounts.reload()
        self.accounts.retry_failed()
        stale = getattr(result, "stale", 0)
        total = getattr(result, "total", 0)
        self.accounts.show_message(
            f"Loaded {total:,} clients from Gradient"
            + (f"; {stale} disappeared there and are marked stale." if stale else ".")
        )

    def _services_loaded(self, partner: Partner, rows: list[tuple[str, str, bool]]) -> None:
        if self.partner is None or self.partner.id != partner.id:
            return
        notes = {
            rid: "mapped on Gradient" if mapped else "not mapped on Gradient"
            for rid, _n, mapped in rows
        }
        self.services.set_remote_targets([(rid, name) for rid, name, _m in rows], notes)
        if not rows:
            self.services.show_message(
                "This partner has no organisation services on Gradient; vendor SKUs are mapped "
                "by the MSP in Synthesize."
            )

    # -- CSV --------------------------------------------------------------------------------------

    def import_csv(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Import mappings", "", "CSV files (*.csv);;All files (*)"
        )
        if not path:
            return
        try:
            n = self.accounts.import_csv(Path(path).read_bytes())
        except (OSError, ValueError) as exc:
            show_error(self, "Import mappings", describe_error(exc))
            return
        self.accounts.show_message(f"Imported {plural(n, 'mapping')} from {Path(path).name}.")

    def export_csv(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export mappings", "mappings.csv", "CSV files (*.csv)"
        )
        if not path:
            return
        try:
            Path(path).write_text(self.accounts.export_csv(), encoding="utf-8", newline="")
        except OSError as exc:
            show_error(
                self,
                "Export mappings",
                f"The file could not be written ({exc.strerror}); pick another folder.",
            )
            return
        self.accounts.show_message(
            f"Exported {plural(len(self.accounts.state.mapping), 'mapping')} to {Path(path).name}."
        )

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(1100, 700)
