"""One PSA agreement as the partner's PSA holds it: its recurring services (quantity, price,
cost) and the history of changes approvals made, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gradient_desktop.services.billing import money, quantity
from gradient_desktop.services.wording import plural
from gradient_desktop.ui import theme
from gradient_desktop.ui.qt import QtWidgets
from gradient_desktop.ui.usage.models import RowsModel


def _table(model: RowsModel, name: str) -> QtWidgets.QTableView:
    view = QtWidgets.QTableView()
    view.setModel(model)
    view.setAccessibleName(name)
    view.verticalHeader().hide()
    view.horizontalHeader().setStretchLastSection(True)
    view.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    return view


def _local(stamp: str) -> str:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


class AgreementPanel(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.agreement: dict[str, Any] | None = None
        self.title = QtWidgets.QLabel("PSA agreement: select a service card")
        theme.bold(self.title)
        self.title.setWordWrap(True)
        self.title.setAccessibleName("Agreement title")
        self.lines_model = RowsModel(
            ["PSA product", "Quantity", "Unit price", "Unit cost", "Monthly"], self
        )
        self.history_model = RowsModel(
            ["Changed", "Effective", "PSA product", "Quantity", "Unit price"], self
        )
        self.lines = _table(self.lines_model, "Agreement services")
        self.history = _table(self.history_model, "Agreement history")
        self.history_label = QtWidgets.QLabel("History")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.lines, 1)
        layout.addWidget(self.history_label)
        layout.addWidget(self.history, 1)

    def clear(self, text: str = "PSA agreement: select a service card") -> None:
        self.agreement = None
        self.title.setText(text)
        self.lines_model.set_rows([])
        self.history_model.set_rows([])

    def show_agreement(self, agreement: dict[str, Any] | None, client_name: str) -> None:
        if agreement is None:
            self.clear(f"{client_name} has no PSA agreement yet; approving a card creates one.")
            return
        self.agreement = agreement
        self.title.setText(f"{agreement['name']} {agreement['id']} — {agreement['clientName']}")
        self.lines_model.set_rows(
            [
                [
                    ln["product"],
                    quantity(ln["quantity"]),
                    money(ln["unitPrice"]),
                    money(ln["unitCost"]),
                    money(ln["quantity"] * ln["unitPrice"]),
                ]
                for ln in agreement["lines"]
            ]
        )
        history = agreement["history"]
        self.history_label.setText(
            f"History ({plural(len(history), 'change')})"
            if history
            else "History: no change approved yet"
        )
        self.history_model.set_rows(
            [
                [
                    _local(h["at"]),
                    h["effectiveDate"],
                    h["product"] + (" (approval undone)" if h.get("action") == "undone" else ""),
                    f"{quantity(h['quantityFrom'])} → {quantity(h['quantityTo'])}",
                    f"{money(h['priceFrom'])} → {money(h['priceTo'])}"
                    if h["priceFrom"] != h["priceTo"]
                    else money(h["priceTo"]),
                ]
                for h in history
            ]
        )
        for view, widths in ((self.lines, (210, 70, 80, 75)), (self.history, (120, 85, 190, 80))):
            for col, width in enumerate(widths):
                view.setColumnWidth(col, width)
