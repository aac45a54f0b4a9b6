"""The "Partner's view" page: the billing dashboard the MSP sees once our counts arrive (the
seed's second lane), for sandbox partners only — the demo and sandboxes on this machine.

Service cards grouped by client or by service, filtered to those needing review or all, with
the monthly money approving them would change; edit a card's quantity or price (double-click),
approve (one, the selection, or everything shown, from an effective date) or dismiss, and
undo either (Ctrl+Z, or the Undo button: ``ui/billing/undo.py``); the
selected client's PSA agreement and its history; a chart of our counts vs the PSA per service.
On a real partner this all happens in Synthesize, which every tooltip says. The page calls only
``BillingService``; the work runs on the qasync loop through TaskRunner.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from gradient_desktop.services.billing import (
    SYNTHESIZE_NOTE,
    BillingService,
    Dashboard,
    empty_text,
    group_cards,
    parse_number,
    totals,
    totals_text,
)
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.wording import plural
from gradient_desktop.store.models import Partner
from gradient_desktop.ui import theme
from gradient_desktop.ui.billing.agreement import AgreementPanel
from gradient_desktop.ui.billing.cards_model import CardsModel
from gradient_desktop.ui.billing.chart import BillingChart
from gradient_desktop.ui.billing.undo import ReviewActions
from gradient_desktop.ui.flow_layout import FlowLayout, group
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets
from gradient_desktop.ui.tasks import TaskRunner, describe_error, show_error

GROUPS = (("By client", "client"), ("By service", "service"))
FILTERS = (("Needs review", True), ("All cards", False))


class PartnerViewPage(ReviewActions, QtWidgets.QWidget):
    title = "Partner's view"
    loaded = QtCore.Signal()  # after every reload (tests and screenshots wait on it)

    def __init__(self, ctx: AppContext, window: QtWidgets.QWidget | None = None) -> None:
        super().__init__()
        self.ctx, self.window_ = ctx, window
        self.tasks = TaskRunner(self)
        #: Approve and dismiss are undoable (ui/billing/undo.py); the window's Edit → Undo
        #: (Ctrl+Z) and the page's Undo button both use this stack.
        self.undo_stack = QtGui.QUndoStack(self)
        self.billing = BillingService(ctx)
        self.partner: Partner | None = None
        self.dashboard: Dashboard | None = None
        self._selected_client: str | None = None
        self._message = ""  # what the last action did; stays until the next one
        self._generation = 0  # answers of a reload older than the latest are dropped
        self._build()
        self.set_partner(None)

    # -- layout ------------------------------------------------------------------------------

    def _button(self, text: str, tip: str, slot: Any, shortcut: str | None = None) -> Any:
        b = QtWidgets.QPushButton(text)
        b.setToolTip(f"{tip}{f' ({shortcut})' if shortcut else ''}\n\n{SYNTHESIZE_NOTE}")
        b.setAccessibleName(text.replace("&", "").rstrip("…"))
        b.clicked.connect(slot)
        if shortcut:
            # A page-wide action (not the button's own, window-wide shortcut): the keys work
            # only on this page and show up in Help → Keyboard shortcuts.
            action = QtGui.QAction(f"Partner's view: {tip}", self)
            action.setShortcut(QtGui.QKeySequence(shortcut))
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _=False: slot())
            self.addAction(action)
        return b

    def _build(self) -> None:
        self.heading = QtWidgets.QLabel(
            "<b>Partner's view</b> — the Billing page the MSP sees in Synthesize once your "
            "counts arrive: review each service card, correct it if needed, and approve it to "
            "update the client's agreement in the PSA."
        )
        self.heading.setWordWrap(True)
        self.heading.setToolTip(SYNTHESIZE_NOTE)
        self.group_choice = QtWidgets.QComboBox()
        self.group_choice.addItems([g for g, _ in GROUPS])
        self.group_choice.setAccessibleName("Group cards")
        self.group_choice.setToolTip(
            "Group the service cards by the partner's client or by service"
        )
        self.filter_choice = QtWidgets.QComboBox()
        self.filter_choice.addItems([f for f, _ in FILTERS])
        self.filter_choice.setAccessibleName("Show cards")
        self.filter_choice.setToolTip("Show only the cards waiting for review, or every card")
        self.group_choice.currentIndexChanged.connect(self._regroup)
        self.filter_choice.currentIndexChanged.connect(lambda _i: self.reload())
        self.effective = QtWidgets.QDateEdit()
        self.effective.setCalendarPopup(True)
        self.effective.setDisplayFormat("yyyy-MM-dd")
        self.effective.setAccessibleName("Effective date")
        today = QtCore.QDate.currentDate()
        self.effective.setDate(QtCore.QDate(today.year(), today.month(), 1).addMonths(1))
        self.effective.setToolTip(
            "The date the new quantity and price take effect on the PSA agreement "
            "(Gradient's default: the first of next month)."
        )
        effective_label = QtWidgets.QLabel("Effective &from:")
        effective_label.setBuddy(self.effective)
        self.approve_button = self._button(
            "&Approve selected",
            "Update the PSA agreements of the selected cards",
            self.approve_selected,
            "Ctrl+Shift+A",
        )
        self.approve_all_button = self._button(
            "Approve all shown…",
            "Approve every card shown that needs review",
            self.approve_all_shown,
        )
        self.dismiss_button = self._button(
            "Dis&miss",
            "Leave the PSA as it is for the selected cards this month",
            self.dismiss_selected,
            "Ctrl+Shift+X",
        )
        self.refresh_button = self._button(
            "Refresh", "Read the partner's billing page again", self.reload
        )
        self.undo_button = QtWidgets.QToolButton()
        self.undo_button.setDefaultAction(self.undo_stack.createUndoAction(self, "&Undo"))
        self.undo_button.setAccessibleName("Undo")
        self.undo_button.setToolTip("Take back the last approval or dismissal (Ctrl+Z)")
        # The controls wrap onto a second line on a narrow window instead of widening it.
        bar_widget = QtWidgets.QWidget()
        bar = FlowLayout(bar_widget)
        for w in (
            self.group_choice,
            self.filter_choice,
            group(effective_label, self.effective),
            self.refresh_button,
            self.undo_button,
            self.dismiss_button,
            self.approve_button,
            self.approve_all_button,
        ):
            bar.addWidget(w)

        self.totals = QtWidgets.QLabel()
        self.totals.setAccessibleName("Billing totals")
        self.totals.setWordWrap(True)
        theme.bold(self.totals)
        self.notice = QtWidgets.QLabel()
        self.notice.setWordWrap(True)
        self.notice.setAccessibleName("Partner's view messages")
        self.busy = QtWidgets.QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumHeight(8)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.tasks.busy_changed.connect(self.busy.setVisible)

        self.model = CardsModel(self)
        self.model.edit_requested.connect(self.edit_card)
        self.tree = QtWidgets.QTreeView()
        self.tree.setModel(self.model)
        self.tree.setAccessibleName("Service cards")
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setEditTriggers(
            QtWidgets.QAbstractItemView.EditTrigger.DoubleClicked
            | QtWidgets.QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.tree.selectionModel().currentChanged.connect(self._current_changed)
        for col, width in enumerate((215, 75, 85, 75, 100, 80, 105, 105)):
            self.tree.setColumnWidth(col, width)

        self.agreement = AgreementPanel(self)
        self.chart = BillingChart(self)
        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        right.addWidget(self.agreement)
        right.addWidget(self.chart)
        right.setSizes([330, 330])
        split = QtWidgets.QSplitter()
        split.addWidget(self.tree)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([900, 520])

        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(bar_widget)
        layout.addWidget(self.totals)
        layout.addWidget(self.notice)
        layout.addWidget(self.busy)
        layout.addWidget(split, 1)

    # -- partner and loading -----------------------------------------------------------------

    def _tab_widget(self) -> QtWidgets.QTabWidget | None:
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QtWidgets.QTabWidget):
            parent = parent.parentWidget()
        return parent

    def set_partner(self, partner: Partner | None) -> None:
        available = self.billing.available(partner)
        tabs = self._tab_widget()
        if tabs is not None:  # real Gradient partners have no such page to show
            tabs.setTabVisible(tabs.indexOf(self), available)
        changed = (partner.id if partner else None) != (self.partner.id if self.partner else None)
        self.partner = partner if available else None
        self.setEnabled(self.partner is not None)
        if changed:
            self.undo_stack.clear()  # the history belongs to the partner it was made for
            self._selected_client, self._message = None, ""
            self.agreement.clear()
        if self.partner is None:
            self.dashboard = None
            self.model.reset([], "client")
            self.totals.setText("")
            self.notice.setText(
                "The partner's view is there for demo and sandbox partners; on a real partner "
                "the MSP reviews your usage in Synthesize."
            )
            return
        if self.isVisible():  # otherwise showEvent loads it: no requests for a hidden tab
            self.reload()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if self.partner is not None and not self.tasks.busy:
            self.reload()  # counts pushed on the Usage page show up when you come here

    @property
    def _by(self) -> str:
        return GROUPS[self.group_choice.currentIndex()][1]

    @property
    def _review_only(self) -> bool:
        return FILTERS[self.filter_choice.currentIndex()][1]

    def reload(self) -> None:
        partner = self.partner
        if partner is None:
            return
        self._generation += 1
        generation = self._generation
        self.tasks.start(
            self.billing.dashboard(partner, self._review_only),
            on_done=lambda d: self._show(partner, d, generation),
            on_error=self._load_failed,
        )

    def _show(self, partner: Partner, dashboard: Dashboard, generation: int) -> None:
        if self.partner is None or partner.id != self.partner.id:
            return  # another partner was chosen meanwhile
        if generation != self._generation:
            return  # a newer reload (after an edit or approval) is on its way
        self.dashboard = dashboard
        self._regroup()
        self.chart.show_series(dashboard.chart)
        if self._selected_client:
            self._load_agreement(self._selected_client)
        self.loaded.emit()

    def _regroup(self, *_: object) -> None:
        if self.dashboard is None:
            return
        cards = self.dashboard.cards
        self.model.reset(group_cards(cards, self._by), self._by)
        self.tree.expandAll()
        t = totals(cards)
        if not cards:
            self.totals.setText("")
            self.notice.setText(
                " ".join(filter(None, (self._message, empty_text(self._review_only))))
            )
        else:
            self.notice.setText(self._message)
            self.totals.setText(totals_text(t))
        self.approve_all_button.setText(
            f"Approve all {t.needs_review:,} shown…" if t.needs_review else "Approve all shown…"
        )
        self.approve_all_button.setEnabled(bool(t.needs_review))

    # -- selection and the agreement panel ---------------------------------------------------

    def _current_changed(self, current: QtCore.QModelIndex, _previous: QtCore.QModelIndex) -> None:
        card_id = self.model.card_id(current)
        card = self.model.cards.get(card_id or "")
        if card is None and self._by == "client" and current.isValid():
            ids = self.model.card_ids_under(current)
            card = self.model.cards.get(ids[0]) if ids else None
        if card is not None and card.client_id != self._selected_client:
            self._selected_client = card.client_id
            self._load_agreement(card.client_id, card.client_name)

    def _load_agreement(self, client_id: str, client_name: str = "") -> None:
        partner = self.partner
        if partner is None:
            return
        self.tasks.start(
            self.billing.agreement(partner, client_id),
            on_done=lambda a: self.agreement.show_agreement(a, client_name or client_id),
            on_error=lambda exc: self._failed("The PSA agreement", exc),
        )

    def selected_card_ids(self) -> list[str]:
        rows = self.tree.selectionModel().selectedRows()
        if not rows and self.tree.currentIndex().isValid():
            rows = [self.tree.currentIndex()]
        ids = [cid for index in rows for cid in self.model.card_ids_under(index)]
        return [cid for cid in dict.fromkeys(ids) if self.model.cards[cid].state == "needs_review"]

    # -- the partner's actions ---------------------------------------------------------------

    def edit_card(self, card_id: str, field: str, text: str) -> None:
        partner = self.partner
        if partner is None:
            return
        try:
            value = parse_number(text, "quantity" if field == "quantity" else "unit price")
        except ValueError as exc:
            self.notice.setText(str(exc))
            return
        self.tasks.start(
            self.billing.edit(partner, card_id, **{field: value}),
            on_done=lambda _card: self.reload(),
            on_error=lambda exc: self._failed("Editing the card", exc),
        )

    def _effective(self) -> date:
        chosen = self.effective.date().toPython()
        assert isinstance(chosen, date)  # a QDate converts to a date
        return chosen

    def approve(self, card_ids: list[str]) -> None:
        if self.partner is None or not card_ids:
            self.notice.setText("Select service cards that need review first.")
            return
        self.review("approve", card_ids, self._effective())

    def approve_selected(self) -> None:
        self.approve(self.selected_card_ids())

    def approve_all_shown(self) -> None:
        ids = [c.id for c in self.model.cards.values() if c.state == "needs_review"]
        if not ids:
            return
        box = QtWidgets.QMessageBox(
            QtWidgets.QMessageBox.Icon.Question,
            "Approve all shown",
            f"Approve {plural(len(ids), 'service card')}? Each client's PSA agreement takes the new "
            f"quantity and price from {self._effective().isoformat()}.",
            QtWidgets.QMessageBox.StandardButton.Yes | QtWidgets.QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        # open(), not exec(): a nested loop inside qasync fails (PITFALLS.md, qasync#59).
        box.buttonClicked.connect(
            lambda b: (
                self.approve(ids)
                if box.standardButton(b) == QtWidgets.QMessageBox.StandardButton.Yes
                else None
            )
        )
        self.confirm_box = box
        box.open()

    def dismiss_selected(self) -> None:
        ids = self.selected_card_ids()
        if self.partner is None or not ids:
            self.notice.setText("Select service cards that need review first.")
            return
        self.review("dismiss", ids, self._effective())

    def _acted(self, text: str) -> None:
        self._message = text
        self.reload()
        self.notice.setText(text)
        self._announce(text)

    def _announce(self, text: str) -> None:
        window = self.window()
        if isinstance(window, QtWidgets.QMainWindow):
            window.statusBar().showMessage(text, 8000)

    def _load_failed(self, exc: BaseException) -> None:
        # Said on the page, not in a box: reading happens on every visit to the tab.
        self.notice.setText(f"The partner's billing page could not be read: {describe_error(exc)}")

    def _failed(self, what: str, exc: BaseException) -> None:
        show_error(self, "Partner's view", exc)
        self.notice.setText(f"{what} could not be read or changed; see the message.")
