"""The main window: partners on the left, the selected partner's pages on the right, one undo
history per page (Edit → Undo follows the page you are on), and the app's menus and shortcuts.

Pages are plain widgets with three members: ``title`` (tab text), ``set_partner(partner | None)``
and ``undo_stack`` (a ``QUndoStack`` or None). They reach the network only through services.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets
from gradient_desktop.ui.tasks import TaskRunner

if TYPE_CHECKING:  # the store and services load after the first paint (see ``attach``)
    from gradient_desktop.services.context import AppContext
    from gradient_desktop.store.models import Partner

log = logging.getLogger(__name__)


class MainWindow(QtWidgets.QMainWindow):
    partner_changed = QtCore.Signal(object)  # Partner | None
    first_painted = QtCore.Signal()

    def __init__(
        self, ctx: AppContext | None = None, parent: QtWidgets.QWidget | None = None
    ) -> None:
        """Without ``ctx`` only the window's frame is built, cheap enough to paint at once;
        ``attach(ctx)`` adds the partners, pages and menus when the store is open (the app
        does that an event-loop tick after the first paint: issue 16's cold start)."""
        super().__init__(parent)
        self.ctx: AppContext = None  # type: ignore[assignment]  # set by attach
        self.tasks = TaskRunner(self)
        self.partner: Partner | None = None
        self._status_asked: set[int] = set()
        self._painted = False
        self._quit_confirmed = False
        self.quit_box: QtWidgets.QMessageBox | None = None
        self.setWindowTitle("Gradient Desktop")
        self.resize(1280, 800)

        self.undo_group = QtGui.QUndoGroup(self)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.pages: list[QtWidgets.QWidget] = []

        # No alignment flag: the first ``QtCore.Qt`` enum costs ~20 ms (ui/theme.py,
        # ``platform_scheme``), and this label lives for one event-loop tick.
        self._placeholder = QtWidgets.QLabel("Loading partners…")
        self._placeholder.setMargin(12)
        self._splitter = splitter = QtWidgets.QSplitter()
        splitter.addWidget(self._placeholder)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([330, 950])
        self.setCentralWidget(splitter)
        self.tabs.installEventFilter(self)
        self.status_label = QtWidgets.QLabel("Opening your data…")
        self.statusBar().addPermanentWidget(self.status_label)
        if ctx is not None:
            self.attach(ctx)

    def attach(self, ctx: AppContext) -> None:
        """Open the window's content on ``ctx``: partners list, pages, menus, status."""
        self.ctx = ctx
        from gradient_desktop.ui.partners_view import PartnersView

        self.partners_view = PartnersView(ctx, self)
        self.partners_view.partner_selected.connect(self.select_partner_id)
        self._splitter.replaceWidget(0, self.partners_view)
        self._placeholder.deleteLater()
        self._splitter.setSizes([330, 950])

        self._build_pages()
        self._build_menus()
        self.tasks.busy_changed.connect(self._on_busy)
        from gradient_desktop.ui.state_binding import binding

        binding(ctx).changed.connect(self._on_state)
        self._age_timer = QtCore.QTimer(self)
        self._age_timer.setInterval(30_000)  # "checked 2 min ago" moves on with the clock
        self._age_timer.timeout.connect(self._update_status)
        self._age_timer.start()
        self.partners_view.reload()
        if self.partner is None:
            # No partner selected (first run): every page renders that too, e.g. the
            # Partner's view hides its tab rather than showing an empty sandbox page.
            self.partner_changed.emit(None)
        self._update_status()  # also with no partner yet (first run): never a blank bar

    # -- pages ---------------------------------------------------------------------------------

    def _build_pages(self) -> None:
        # One line per page; each page module owns its widget (see module docstring).
        from gradient_desktop.ui.alerts.page import AlertsPage
        from gradient_desktop.ui.billing.page import PartnerViewPage
        from gradient_desktop.ui.check_page import IntegrationCheckPage
        from gradient_desktop.ui.mapping.page import MappingPage
        from gradient_desktop.ui.sync.page import SyncPage
        from gradient_desktop.ui.usage.page import UsagePage

        pages = (
            IntegrationCheckPage,
            MappingPage,
            UsagePage,
            AlertsPage,
            SyncPage,
            PartnerViewPage,
        )
        for page_cls in pages:
            self.add_page(page_cls(self.ctx, self))

    def add_page(self, page: QtWidgets.QWidget) -> None:
        self.pages.append(page)
        self.tabs.addTab(page, getattr(page, "title", type(page).__name__))
        stack = getattr(page, "undo_stack", None)
        if stack is not None:
            self.undo_group.addStack(stack)
        if hasattr(page, "set_partner"):
            self.partner_changed.connect(page.set_partner)

    def _on_tab_changed(self, index: int) -> None:
        page = self.tabs.widget(index)
        stack = getattr(page, "undo_stack", None)
        # None (a page without undo) leaves no stack active, as Qt allows; the stubs say
        # QUndoStack only.
        self.undo_group.setActiveStack(stack)  # type: ignore[arg-type]

    # -- partners ------------------------------------------------------------------------------

    def select_partner_id(self, partner_id: int | None) -> None:
        from gradient_desktop.services.partners import PartnerDirectory

        partner = None
        if partner_id is not None:
            try:
                partner = PartnerDirectory(self.ctx).by_id(partner_id)
            except LookupError:
                partner = None
        self.partner = partner
        self.ctx.settings.last_partner = partner.name if partner else None
        self.partner_changed.emit(partner)
        self._update_status()
        self._ask_status_if_unknown()

    def _ask_status_if_unknown(self) -> None:
        """A connected partner whose status Gradient has not told us in this run (the app just
        started): ask once in the background, so what is shown is what Gradient says now."""
        partner = self.partner
        st = self.ctx.state.get(partner.id or 0) if partner is not None else None
        if (
            partner is None
            or st is None
            or st.status_seen_at is not None
            or st.in_setup
            or st.status not in ("active", "pending")
            or st.partner_id in self._status_asked
        ):
            return
        self._status_asked.add(st.partner_id)
        from gradient_desktop.services.integration import IntegrationService

        async def ask() -> None:
            try:
                await IntegrationService(self.ctx).refresh(partner)
            except Exception as exc:  # shown as "not checked"; Sync now says why
                log.info("status of partner #%s not refreshed: %s", partner.id, exc)

        self.tasks.start(ask())

    def _on_state(self, partner_id: int) -> None:
        """The current partner's state changed: title and status bar follow; pages that hold
        the Partner record get the fresh one."""
        if self.partner is None or self.partner.id != partner_id:
            return
        from gradient_desktop.services.partners import PartnerDirectory

        try:
            fresh = PartnerDirectory(self.ctx).by_id(partner_id)
        except LookupError:
            self.select_partner_id(None)
            return
        # Only a changed record goes to the pages (push progress changes the state, not it).
        if fresh.model_dump() != self.partner.model_dump():
            self.partner = fresh
            self.partner_changed.emit(fresh)
        self._update_status()

    def refresh_partner(self) -> None:
        """Re-read the current partner (status changed) and tell every page."""
        self.partners_view.reload()
        if self.partner is not None:
            self.select_partner_id(self.partner.id)

    def _update_status(self) -> None:
        """Status bar and window title, rendered from the partner's state (services/state.py)."""
        st = self.ctx.state.get(self.partner.id or 0) if self.partner is not None else None
        if st is None:
            self.status_label.setText("No partner selected")
            self.setWindowTitle("Gradient Desktop")
            return
        demo = " (demo)" if st.demo and "demo" not in st.name else ""
        self.setWindowTitle(f"{st.name}{demo} — {st.status_label()} — Gradient Desktop")
        queue = st.queue_text()
        text = f"{st.name}: {st.status_with_age()}" + (f" · {queue}" if queue else "")
        alerts = st.alerts_text()
        self.status_label.setText(text + (f" · {alerts}" if alerts else ""))

    def _on_busy(self, busy: bool) -> None:
        if busy:
            self.statusBar().showMessage("Working…")
        else:
            self.statusBar().clearMessage()
            self._update_status()

    # -- menus and shortcuts -----------------------------------------------------------------------

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.connect_action = file_menu.addAction("&Connect a partner…")
        self.connect_action.setShortcut(QtGui.QKeySequence("Ctrl+Shift+N"))
        self.connect_action.triggered.connect(self.partners_view.connect_partner)
        self.demo_action = file_menu.addAction("Open the &demo partner")
        self.demo_action.triggered.connect(self.partners_view.open_demo)
        file_menu.addSeparator()
        self.quit_action = file_menu.addAction("&Quit")
        # The platform's Quit keys, or Ctrl+Q where it has none (Windows, some X11 desktops).
        self.quit_action.setShortcuts(
            QtGui.QKeySequence.keyBindings(QtGui.QKeySequence.StandardKey.Quit)
            or [QtGui.QKeySequence("Ctrl+Q")]
        )
        self.quit_action.triggered.connect(self.close)

        edit_menu = bar.addMenu("&Edit")
        undo = self.undo_group.createUndoAction(self, "&Undo")
        undo.setShortcut(QtGui.QKeySequence.StandardKey.Undo)
        redo = self.undo_group.createRedoAction(self, "&Redo")
        redo.setShortcut(QtGui.QKeySequence.StandardKey.Redo)
        edit_menu.addAction(undo)
        edit_menu.addAction(redo)
        # Settings live under Edit (where GNOME, KDE and Windows apps keep Preferences); macOS
        # moves the action to the application menu as "Preferences…" through its role.
        self.edit_menu = edit_menu
        edit_menu.addSeparator()
        self.settings_action = edit_menu.addAction("&Settings…")
        self.settings_action.setShortcut(QtGui.QKeySequence("Ctrl+,"))
        self.settings_action.setMenuRole(QtGui.QAction.MenuRole.PreferencesRole)
        self.settings_action.triggered.connect(self._open_settings)

        view_menu = bar.addMenu("&View")
        for i in range(self.tabs.count()):
            action = view_menu.addAction(self.tabs.tabText(i))
            action.setShortcut(QtGui.QKeySequence(f"Ctrl+{i + 1}"))
            action.triggered.connect(lambda _=False, i=i: self.tabs.setCurrentIndex(i))
        refresh = view_menu.addAction("&Refresh partner")
        refresh.setShortcut(QtGui.QKeySequence.StandardKey.Refresh)
        refresh.triggered.connect(self.refresh_partner)

        self.help_menu = bar.addMenu("&Help")
        self._build_help_menu()

    def _open_settings(self) -> None:
        from gradient_desktop.ui import dialogs

        dialogs.show_settings(self)

    # -- help menu (About, log, shortcuts) ------------------------------------------------------

    def _build_help_menu(self) -> None:
        from gradient_desktop.ui import dialogs

        menu = self.help_menu
        self.shortcuts_action = menu.addAction("&Keyboard shortcuts")
        self.shortcuts_action.setShortcut(QtGui.QKeySequence("F1"))
        self.shortcuts_action.triggered.connect(lambda: dialogs.show_shortcuts(self))
        self.log_action = menu.addAction("Show &log")
        self.log_action.setShortcut(QtGui.QKeySequence("Ctrl+Shift+L"))
        self.log_action.triggered.connect(lambda: dialogs.show_log(self))
        menu.addSeparator()
        self.about_action = menu.addAction("&About Gradient Desktop")
        self.about_action.setMenuRole(QtGui.QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(lambda: dialogs.show_about(self))

    # -- window geometry (remembered between runs) ----------------------------------------------

    @staticmethod
    def _window_settings() -> QtCore.QSettings:
        # An INI file in our config folder rather than QSettings' default location, so
        # GRADIENT_DESKTOP_HOME (tests, demo) keeps it out of the user's real profile.
        from gradient_desktop.config import config_dir

        return QtCore.QSettings(str(config_dir() / "window.ini"), QtCore.QSettings.Format.IniFormat)

    def save_geometry(self) -> None:
        store = self._window_settings()
        store.setValue("main_window/geometry", self.saveGeometry())
        store.setValue("main_window/state", self.saveState())
        store.sync()

    def restore_geometry(self) -> bool:
        """Put the window where it was last closed; False when there is nothing to restore."""
        store = self._window_settings()
        geometry = store.value("main_window/geometry")
        state = store.value("main_window/state")
        restored = isinstance(geometry, QtCore.QByteArray) and self.restoreGeometry(geometry)
        if isinstance(state, QtCore.QByteArray):
            self.restoreState(state)
        from gradient_desktop.ui.geometry import clamp_to_screen, fit_default

        # Never larger than the screen: the default is a share of it, and a remembered size
        # from a bigger monitor or a lower scale factor is pulled back onto this one.
        if restored:
            clamp_to_screen(self)
        else:
            fit_default(self, QtCore.QSize(1440, 900))
        return bool(restored)

    # -- life cycle ------------------------------------------------------------------------------

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        # The central widget covers the window, so its first paint is the window's first paint.
        if event.type() == QtCore.QEvent.Type.Paint and not self._painted:
            self._painted = True
            watched.removeEventFilter(self)
            QtCore.QTimer.singleShot(0, self.first_painted.emit)
        return False

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if self.ctx is None:  # closed before the store was open: nothing of ours to save
            super().closeEvent(event)
            return
        if not self._quit_confirmed and self._ask_before_quitting_a_push():
            event.ignore()
            return
        self.tasks.cancel_all()
        for page in self.pages:
            runner = getattr(page, "tasks", None)
            if isinstance(runner, TaskRunner):
                runner.cancel_all()
        try:
            self.ctx.settings.save()
        except OSError as exc:
            log.warning("settings not saved: %s", exc)
        try:
            self.save_geometry()
        except OSError as exc:
            log.warning("window geometry not saved: %s", exc)
        super().closeEvent(event)

    def _ask_before_quitting_a_push(self) -> bool:
        """While a push runs, ask (Cancel by default) instead of closing; True = asked.

        The answer comes back through ``open()`` and a signal, never a nested ``exec()``
        (qasync#59). Quitting anyway cancels the push: its unanswered rows stay in the outbox
        and the next start finishes them without counting twice. If the push ends while the
        question is open, the app quits as asked: nothing is left to lose.
        """
        from gradient_desktop.services.push import PushService

        progress = PushService(self.ctx).running()
        if progress is None:
            return False
        if self.quit_box is not None:
            self.quit_box.raise_()
            return True
        box = QtWidgets.QMessageBox(self)
        box.setIcon(QtWidgets.QMessageBox.Icon.Warning)
        box.setWindowTitle("Quit Gradient Desktop")
        box.setText(f"A push is running ({progress}). Quit anyway?")
        box.setInformativeText("The rest stays queued and is finished next time.")
        quit_button = box.addButton(
            "&Quit anyway", QtWidgets.QMessageBox.ButtonRole.DestructiveRole
        )
        cancel = box.addButton(QtWidgets.QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        timer = QtCore.QTimer(box)  # keep "81 of 362 sent" current while the box is up
        timer.setInterval(250)

        def refresh() -> None:
            now = PushService(self.ctx).running()
            if now:
                box.setText(f"A push is running ({now}). Quit anyway?")
            else:  # nothing is left to lose: do what the user asked for
                box.done(0)
                self._quit_confirmed = True
                self.close()

        timer.timeout.connect(refresh)
        timer.start()

        def answered(_: int) -> None:
            timer.stop()
            self.quit_box = None
            box.deleteLater()
            if box.clickedButton() is quit_button and not self._quit_confirmed:
                self._quit_confirmed = True
                log.info("quit while a push was running; unsent counts stay queued")
                self.close()

        box.finished.connect(answered)
        self.quit_box = box
        box.open()
        return True
