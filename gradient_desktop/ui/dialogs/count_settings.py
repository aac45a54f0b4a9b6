"""*Count settings* of one partner: import the totals Gradient holds now, and the legacy count
routes switch. Both change what Add and Subtract bill, so each asks before it changes anything.

Opened from the Usage page (*Count settings…*) and the partners list (right-click). It calls
``services/count_options.py``, the same functions as ``gradient-desktop data import-totals`` and
``partner add --legacy-count-routes``; it keeps no state of its own.
"""

from __future__ import annotations

from pathlib import Path

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.count_options import (
    TotalsFile,
    TotalsFileError,
    import_current_totals,
    known_cells,
    legacy_routes,
    read_totals,
    set_legacy_routes,
)
from gradient_desktop.store.models import Partner
from gradient_desktop.ui.message_line import MessageLine
from gradient_desktop.ui.qt import QtCore, QtWidgets
from gradient_desktop.ui.tasks import ask

TOTALS_HELP = (
    "Add and Subtract are sent to Gradient as the total they produce, worked out from the last "
    "total this app pushed to each cell. A cell this app never pushed has no known total, so "
    "adding to it is refused. If Gradient already holds counts for this partner (sent by "
    "another tool, or before this computer was set up), import them here. Nothing is sent: "
    "later adds and subtracts start from these totals. The file has the columns accountId, "
    "serviceId and unitCount (CSV or JSON, like Import on the Usage page)."
)
LEGACY_HELP = (
    "Gradient documents only absolute counts. With this on, Add and Subtract on a cell with no "
    "known total are sent as changes through routes that are not in Gradient's public "
    "documentation, and a change whose answer was lost may be applied twice when it is sent "
    "again. Turn it on only if you know this partner's Gradient has these routes. Off unless "
    "you turn it on (the built-in demo has it on)."
)


def _box(title: str, text: str, *widgets: QtWidgets.QWidget) -> QtWidgets.QGroupBox:
    box = QtWidgets.QGroupBox(title)
    help_text = QtWidgets.QLabel(text)
    help_text.setWordWrap(True)
    layout = QtWidgets.QVBoxLayout(box)
    layout.addWidget(help_text)
    for w in widgets:
        layout.addWidget(w)
    return box


class CountSettingsDialog(QtWidgets.QDialog):
    def __init__(
        self, ctx: AppContext, partner: Partner, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx, self.partner = ctx, partner
        self.setWindowTitle(f"Count settings — {partner.name}")
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        self.confirm_box: QtWidgets.QMessageBox | None = None
        self.import_button = QtWidgets.QPushButton("&Import current totals from a file…")
        self.import_button.setToolTip("Record the totals Gradient holds now; nothing is sent")
        self.import_button.clicked.connect(self.choose_file)
        self.legacy = QtWidgets.QCheckBox(
            "Send Add and Subtract on cells with no known total as &changes (legacy count routes)"
        )
        self.legacy.setChecked(legacy_routes(ctx, partner))
        self.legacy.toggled.connect(self._legacy_toggled)
        self.message = MessageLine("Count settings messages")
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(_box("Current totals", TOTALS_HELP, self.import_button))
        layout.addWidget(_box("Cells with no known total", LEGACY_HELP, self.legacy))
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.resize(640, self.sizeHint().height())

    # -- current totals ---------------------------------------------------------------------------

    def choose_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Import current totals", "", "Count files (*.csv *.json);;All files (*)"
        )
        if path:
            try:
                data = Path(path).read_bytes()
            except OSError as exc:
                self.message.say(f"Cannot read {path}: {exc.strerror or exc}", error=True)
                return
            self.import_bytes(data, Path(path).name)

    def import_bytes(self, data: bytes, filename: str) -> None:
        """Check the whole file, then ask before recording (it changes what adds will bill)."""
        try:
            totals = read_totals(data, filename, known_cells(self.ctx, self.partner))
        except TotalsFileError as exc:
            self.message.say(str(exc), error=True, kind="totals")
            return
        self._confirm(
            ask(
                self,
                QtWidgets.QMessageBox.Icon.Question,
                "Import current totals",
                f"Record {totals.describe(self.partner.name)}?",
                "Nothing is sent to Gradient. From now on Add and Subtract on these cells start "
                "from these totals: if they are not what Gradient holds now, later changes bill "
                "the wrong amount. A cell pushed before takes the imported total too.",
                "&Record totals",
                lambda: self._record(totals),
            )
        )

    def _confirm(self, box: QtWidgets.QMessageBox) -> None:
        """Keep the open question (tests answer it through ``confirm_box``) until it closes."""
        box.finished.connect(lambda _r: setattr(self, "confirm_box", None))
        self.confirm_box = box

    def _record(self, totals: TotalsFile) -> None:
        try:
            text = import_current_totals(self.ctx, self.partner, totals.rows)
        except (OSError, ValueError) as exc:  # the database refused: nothing was recorded
            self.message.say(f"Nothing was recorded: {exc}", error=True, kind="totals")
            return
        self.message.say(text, kind="totals")

    # -- legacy count routes ----------------------------------------------------------------------

    def _legacy_toggled(self, on: bool) -> None:
        if on == legacy_routes(self.ctx, self.partner):
            return
        if not on:  # back to the documented behaviour: nothing can be billed twice
            self.message.say(set_legacy_routes(self.ctx, self.partner, False), kind="legacy")
            return

        def turn_on() -> None:
            self.message.say(set_legacy_routes(self.ctx, self.partner, True), kind="legacy")

        def keep_off() -> None:
            with QtCore.QSignalBlocker(self.legacy):
                self.legacy.setChecked(False)

        self._confirm(
            ask(
                self,
                QtWidgets.QMessageBox.Icon.Warning,
                "Legacy count routes",
                f"Send changes through undocumented routes for {self.partner.name}?",
                LEGACY_HELP,
                "&Turn on",
                turn_on,
                keep_off,
            )
        )
