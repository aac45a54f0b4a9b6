"""The setup wizard: one ``QWizard`` page per step of ``services.setup.SetupFlow``.

The flow holds every rule and all persistence; the pages only render it and start its
coroutines through one ``TaskRunner``, so Cancel or closing the window cancels whatever is in
flight and a half-finished setup resumes later where it stopped.
"""

from __future__ import annotations

import logging

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.setup import DRAFT_NAME, SetupFlow, Step
from gradient_desktop.ui.geometry import available_geometry, default_rect
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets
from gradient_desktop.ui.tasks import TaskRunner
from gradient_desktop.ui.wizard.pages_activate import ActivatePage
from gradient_desktop.ui.wizard.pages_map import MapClientsPage
from gradient_desktop.ui.wizard.pages_partner import AuthenticatePage, PartnerKeyPage
from gradient_desktop.ui.wizard.pages_vendor import ProductPage, VendorPage

log = logging.getLogger(__name__)

#: The wizard's size on every step: room for the mapping step's two lists, little empty space
#: on the others.
WIZARD_SIZE = QtCore.QSize(960, 680)


class SetupWizard(QtWidgets.QWizard):
    #: Emitted once when the wizard closes (finished or not): the partner id, or None.
    closed = QtCore.Signal(object)

    def __init__(
        self, ctx: AppContext, flow: SetupFlow, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.flow = flow
        self.tasks = TaskRunner(self)
        self.setWindowTitle("Connect a partner — Gradient Desktop")
        self.setWizardStyle(QtWidgets.QWizard.WizardStyle.ClassicStyle)
        self.setOption(QtWidgets.QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setButtonText(QtWidgets.QWizard.WizardButton.FinishButton, "&Done")
        # One size for every step (the mapping step used to widen it from 860 to 1,115 px), as
        # much of it as the screen allows.
        # Only resized: a dialog not moved by hand is centred over its parent when shown.
        self.resize(default_rect(WIZARD_SIZE, available_geometry(self)).size())
        self.pages: dict[Step, QtWidgets.QWizardPage] = {
            Step.VENDOR: VendorPage(),
            Step.PRODUCT: ProductPage(),
            Step.PARTNER_KEY: PartnerKeyPage(),
            Step.AUTHENTICATE: AuthenticatePage(),
            Step.MAP_CLIENTS: MapClientsPage(),
            Step.ACTIVATE: ActivatePage(),
        }
        for step, page in self.pages.items():
            self.setPage(int(step), page)
        start = flow.step if flow.step in self.pages else Step.VENDOR
        self.setStartId(int(start))
        self.currentIdChanged.connect(self._on_page)
        escape = QtGui.QShortcut(QtGui.QKeySequence("Ctrl+W"), self)
        escape.activated.connect(self.reject)
        self._closed = False

    def nextId(self) -> int:
        """The page after the current one, as the Qt-free flow's step map says (not page
        order): -1 after the last step."""
        try:
            following = self.flow.next_step(Step(self.currentId()))
        except (ValueError, KeyError):
            return -1
        return int(following) if following in self.pages else -1

    def _on_page(self, page_id: int) -> None:
        if page_id in self.pages:
            self.flow.enter(Step(page_id))

    # -- closing: cancel what is in flight, keep what was saved --------------------------------

    def _shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.tasks.cancel_all()
        flow = self.flow
        partner = flow.partner
        if partner is not None and partner.name.startswith(DRAFT_NAME) and flow.step <= Step.VENDOR:
            flow.discard()  # nothing worth resuming yet
        elif flow.is_demo:
            self.ctx.demo.save()
        self.closed.emit(flow.partner.id if flow.partner else None)

    def done(self, result: int) -> None:
        self._shutdown()
        super().done(result)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self._shutdown()
        super().closeEvent(event)
