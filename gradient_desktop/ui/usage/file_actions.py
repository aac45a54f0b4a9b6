"""The Usage page's file and drift actions (a mixin of ``UsagePage``): import a count file into
staged edits (problems previewed by row first), export the counts last pushed, compare them
with a fresh source (a file, or the demo sandbox) to stage the differences, and the partner's
Count settings (import current totals, legacy count routes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gradient_desktop.services.usage import DriftRow, StagedEdit, StagingError, UsageService
from gradient_desktop.services.wording import plural
from gradient_desktop.ui.dialogs.count_settings import CountSettingsDialog
from gradient_desktop.ui.message_line import MessageLine
from gradient_desktop.ui.qt import QtWidgets
from gradient_desktop.ui.tasks import show_error
from gradient_desktop.ui.usage.dialogs import DriftDialog, ImportDialog


class FileActions:
    """Needs from the page: ``usage``, ``notice``, ``stage_edits``, dialogs kept as attributes."""

    usage: UsageService | None
    notice: MessageLine
    import_dialog: ImportDialog | None
    drift_dialog: DriftDialog | None
    count_settings: CountSettingsDialog | None = None

    def stage_edits(self, edits: list[StagedEdit], text: str) -> None:
        raise NotImplementedError

    @property
    def page(self) -> QtWidgets.QWidget:
        """The page this mixin is part of: the parent of its dialogs."""
        assert isinstance(self, QtWidgets.QWidget)
        return self

    def import_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.page, "Import counts", "", "Count files (*.csv *.json);;All files (*)"
        )
        if path:
            try:
                self.import_bytes(Path(path).read_bytes(), Path(path).name)
            except (OSError, ValueError) as exc:
                show_error(self.page, "Import counts", exc)

    def import_bytes(self, data: bytes, filename: str, bytes_in_file: bool = False) -> None:
        """Parse a count file; problems are listed by row before anything is staged."""
        assert self.usage is not None
        result = self.usage.import_file(data, filename, bytes_in_file=bytes_in_file)
        if not result.errors:
            self.stage_edits(result.edits, f"import {filename} ({len(result.edits)} changes)")
            self.notice.say(
                "" if result.edits else f"{filename}: nothing to change.", kind="import"
            )
            return
        dialog = ImportDialog(filename, result.rows, result.edits, result.errors, self.page)
        dialog.stage_requested.connect(
            lambda edits: self.stage_edits(edits, f"import {filename} ({len(edits)} changes)")
        )
        self.import_dialog = dialog
        dialog.open()

    def export_file(self) -> None:
        assert self.usage is not None
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self.page, "Export counts", "counts.csv", "CSV (*.csv)"
        )
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> None:
        """Write the file and say what was saved where (defect 11: no confirmation before)."""
        assert self.usage is not None
        text = self.usage.export_csv()
        try:
            Path(path).write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            show_error(self.page, "Export counts", exc)
            return
        rows = max(0, len(text.strip().splitlines()) - 1)
        self.notice.say(f"Saved {plural(rows, 'count')} to {path}.", kind="export")

    def open_count_settings(self) -> None:
        """The partner's Count settings: import current totals, legacy count routes."""
        if self.usage is None:
            return
        dialog = CountSettingsDialog(self.usage.ctx, self.usage.partner, self.page)
        self.count_settings = dialog
        dialog.open()

    def drift_from_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.page, "Fresh counts to compare", "", "Count files (*.csv *.json)"
        )
        if path and self.usage is not None:
            try:
                rows, errors = self.usage.drift_from_file(Path(path).read_bytes(), Path(path).name)
            except (OSError, ValueError) as exc:
                show_error(self.page, "Drift", exc)
                return
            self.show_drift(Path(path).name, rows, errors)

    def drift_from_sandbox(self) -> None:
        assert self.usage is not None
        try:
            self.show_drift("the demo sandbox", self.usage.drift_from_demo_sandbox(), [])
        except StagingError as exc:
            self.notice.say(str(exc), error=True, kind="staging")

    def show_drift(self, source: str, rows: list[DriftRow], errors: list[Any]) -> None:
        assert self.usage is not None
        snap = self.usage.refs()
        acc = {a.account_id: a.name for a in snap.accounts}
        svc = {s.service_id: s.name for s in snap.services}
        names = {
            (r.service_id, r.account_id): (
                acc.get(r.account_id, r.account_id),
                svc.get(r.service_id, r.service_id),
            )
            for r in rows
        }
        dialog = DriftDialog(source, rows, names, errors, self.page)
        usage = self.usage
        dialog.stage_requested.connect(
            lambda rs: self.stage_edits(
                usage.drift_edits(rs), f"stage {plural(len(rs), 'drift difference')}"
            )
        )
        self.drift_dialog = dialog
        dialog.open()
