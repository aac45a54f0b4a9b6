"""Non-modal dialogs of the Usage page (opened with ``open()``, never ``exec()``: qasync#59):
the import preview with row-numbered problems, and the drift list with "stage the differences"."""

from __future__ import annotations

from gradient_desktop.services.csvio import RowError
from gradient_desktop.services.usage import DriftRow, StagedEdit, format_amount
from gradient_desktop.services.wording import plural, verb
from gradient_desktop.ui.qt import QtCore, QtWidgets
from gradient_desktop.ui.usage.models import RowsModel


def _table(model: RowsModel, name: str) -> QtWidgets.QTableView:
    view = QtWidgets.QTableView()
    view.setModel(model)
    view.setAccessibleName(name)
    view.verticalHeader().hide()
    view.horizontalHeader().setStretchLastSection(True)
    view.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    return view


class ImportDialog(QtWidgets.QDialog):
    """What a count file would stage, and every problem with its row number. Nothing is staged
    (let alone sent) until the user says so; ``stage_requested`` carries the good rows."""

    stage_requested = QtCore.Signal(list)

    def __init__(
        self,
        filename: str,
        rows: int,
        edits: list[StagedEdit],
        errors: list[RowError],
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Import {filename}")
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        self.edits = edits
        self.summary = QtWidgets.QLabel(
            f"{plural(rows, 'row')} read: {plural(len(edits), 'change')} ready to stage, "
            f"{plural(len(errors), 'row')} with problems. Fix the file and import it again, or stage "
            "the good rows now (you can review and undo them before pushing)."
        )
        self.summary.setWordWrap(True)
        self.errors_model = RowsModel(["Row", "Problem"], self)
        self.errors_model.set_rows([[str(e.line) if e.line else "—", e.message] for e in errors])
        self.errors_view = _table(self.errors_model, "Import problems")
        buttons = QtWidgets.QDialogButtonBox()
        self.stage_button = buttons.addButton(
            f"Stage {plural(len(edits), 'change')}",
            QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.stage_button.setEnabled(bool(edits))
        buttons.addButton(QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._stage)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.errors_view)
        layout.addWidget(buttons)
        self.resize(640, 420)

    def _stage(self) -> None:
        self.stage_requested.emit(self.edits)
        self.accept()


class DriftDialog(QtWidgets.QDialog):
    """Cells whose fresh count differs from the count last pushed."""

    stage_requested = QtCore.Signal(list)

    def __init__(
        self,
        source: str,
        rows: list[DriftRow],
        names: dict[tuple[str, str], tuple[str, str]],
        errors: list[RowError],
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Drift against {source}")
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        self.rows = rows
        text = (
            f"{plural(len(rows), 'cell')} {verb(len(rows), 'differs')} from the counts last pushed."
            if rows
            else "No drift: every count in the source matches the count last pushed."
        )
        if errors:
            text += f" {plural(len(errors), 'row')} of the source could not be read (listed below)."
        self.summary = QtWidgets.QLabel(text)
        self.summary.setWordWrap(True)
        self.model = RowsModel(["Account", "Service", "Last pushed", "Source"], self)
        table = []
        for r in rows:
            acc, svc = names.get((r.service_id, r.account_id), (r.account_id, r.service_id))
            table.append([acc, svc, format_amount(r.pushed), format_amount(r.source)])
        table += [[f"row {e.line}", "", "", e.message] for e in errors]
        self.model.set_rows(table)
        self.view = _table(self.model, "Drift differences")
        buttons = QtWidgets.QDialogButtonBox()
        self.stage_button = buttons.addButton(
            "Stage the differences", QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.stage_button.setEnabled(bool(rows))
        buttons.addButton(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.accepted.connect(self._stage)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.view)
        layout.addWidget(buttons)
        self.resize(640, 420)

    def _stage(self) -> None:
        self.stage_requested.emit(self.rows)
        self.accept()
