"""The service cards as a two-level tree: groups (a client or a service) and their cards.

Display strings are computed once per reset. Editing "Quantity to bill" or "Unit price" does not
change the model: ``setData`` emits ``edit_requested`` and the page asks the partner's billing
(through the service) to record it, then reloads.
"""

from __future__ import annotations

from typing import Any

from gradient_desktop.services.billing import CardGroup, ServiceCard, money, quantity
from gradient_desktop.services.wording import plural
from gradient_desktop.ui import theme
from gradient_desktop.ui.qt import ModelIndex, QtCore, QtGui

Qt = QtCore.Qt
Role = Qt.ItemDataRole
CARD_ROLE = Role.UserRole + 1  # the card id on a card row's first column
TOKEN_ROLE = Role.UserRole + 2  # a theme token ("ok"/"error"): the text colour, at paint time

HEADERS = [
    "Client / service",
    "Our count",
    "PSA quantity",
    "Difference",
    "Quantity to bill",
    "Unit price",
    "Monthly change",
    "State",
    "Last count",
]
COL_QUANTITY, COL_PRICE = 4, 5
EDITABLE = {COL_QUANTITY: "quantity", COL_PRICE: "price"}


class CardsModel(QtGui.QStandardItemModel):
    edit_requested = QtCore.Signal(str, str, str)  # card id, "quantity" | "price", text

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.setHorizontalHeaderLabels(HEADERS)
        self.cards: dict[str, ServiceCard] = {}

    def reset(self, groups: list[CardGroup], by: str) -> None:
        self.beginResetModel()
        self.blockSignals(True)  # one reset, not an itemChanged per cell
        try:
            self.removeRows(0, self.rowCount())
            self.cards = {c.id: c for g in groups for c in g.cards}
            root = self.invisibleRootItem()
            for group in groups:
                root.appendRow(self._group_row(group, by))
        finally:
            self.blockSignals(False)
            self.endResetModel()

    def _group_row(self, group: CardGroup, by: str) -> list[QtGui.QStandardItem]:
        review = group.needs_review
        head = _item(group.title, bold=True)
        head.setToolTip(
            f"{group.title}: {plural(len(group.cards), 'service card')}, {review} to review"
        )
        row = [head] + [_item("") for _ in HEADERS[1:]]
        row[7].setText(f"{review} to review" if review else "reconciled")
        change = group.monthly_difference
        row[6].setText(money(change, signed=True) if change else "")
        _colour(row[6], change)
        for card in group.cards:
            head.appendRow(self._card_row(card, by))
        return row

    def _card_row(self, card: ServiceCard, by: str) -> list[QtGui.QStandardItem]:
        title = card.service_name if by == "client" else card.client_name
        first = _item(title)
        first.setData(card.id, CARD_ROLE)
        first.setToolTip(
            f"{card.client_name} — {card.service_name}\nOur account: {card.account_name}\n"
            f"PSA product: {card.product}"
            + (f" (agreement {card.agreement_id})" if card.agreement_id else "")
        )
        review = card.state == "needs_review"
        when = (
            card.vendor_updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
            if card.vendor_updated_at
            else ""
        )
        diff = card.difference
        cells = [
            first,
            _item(quantity(card.vendor_quantity)),
            _item(quantity(card.psa_quantity)),
            _item(f"{'+' if diff > 0 else ''}{quantity(diff)}" if diff else "0"),
            _item(quantity(card.proposed_quantity) if review else "", editable=review),
            _item(money(card.proposed_price if review else card.unit_price), editable=review),
            _item(
                money(card.monthly_difference, signed=True)
                if review and card.monthly_difference
                else ""
            ),
            _item(card.state_label + (" (edited)" if card.edited else ""), bold=review),
            _item(when),
        ]
        _colour(cells[3], diff)
        _colour(cells[6], card.monthly_difference)
        for col in (1, 2, 3, 4, 5, 6):
            cells[col].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if review:
            tip = "Double-click to change what the PSA will bill before you approve."
            cells[COL_QUANTITY].setToolTip(tip)
            cells[COL_PRICE].setToolTip(tip)
        return cells

    def data(self, index: ModelIndex, role: int = Role.DisplayRole) -> Any:
        if role == Role.ForegroundRole:
            # A token, not a stored brush: the colours follow a live switch to dark.
            token = super().data(index, TOKEN_ROLE)
            return theme.brush(token) if token else None
        return super().data(index, role)

    def setData(self, index: ModelIndex, value: Any, role: int = Role.EditRole) -> bool:
        if role == Role.EditRole and index.column() in EDITABLE:
            card_id = self.card_id(index)
            if card_id is not None:
                self.edit_requested.emit(card_id, EDITABLE[index.column()], str(value))
                return True
        return super().setData(index, value, role)

    def card_id(self, index: ModelIndex) -> str | None:
        if not index.isValid():
            return None
        value = self.index(index.row(), 0, index.parent()).data(CARD_ROLE)
        return str(value) if value else None

    def card_ids_under(self, index: ModelIndex) -> list[str]:
        """A card row's id, or every card id of a group row."""
        own = self.card_id(index)
        if own is not None:
            return [own]
        group = self.index(index.row(), 0, index.parent())
        return [
            cid
            for r in range(self.rowCount(group))
            if (cid := self.card_id(self.index(r, 0, group))) is not None
        ]


def _item(text: str, *, bold: bool = False, editable: bool = False) -> QtGui.QStandardItem:
    item = QtGui.QStandardItem(text)
    item.setEditable(editable)
    if bold:
        font = item.font()
        font.setBold(True)
        item.setFont(font)
    return item


def _colour(item: QtGui.QStandardItem, amount: float) -> None:
    if amount:
        item.setData("ok" if amount > 0 else "error", TOKEN_ROLE)
