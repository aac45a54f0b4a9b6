"""The "Send alert…" action other pages put on their account views: it opens the Alerts page's
form for the selected account (registered with one line per view, so those pages stay as they
are)."""

from __future__ import annotations

from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets


def add_send_alert_action(
    owner: QtWidgets.QWidget, views: list[QtWidgets.QAbstractItemView], account_of_selection: object
) -> None:
    """Give account views a "Send alert…" context-menu action (Ctrl+Shift+T) that opens the
    Alerts page's form for the selected account. ``account_of_selection()`` → id or None."""
    action = QtGui.QAction("Send &alert…", owner)
    action.setShortcut(QtGui.QKeySequence("Ctrl+Shift+T"))
    action.setShortcutContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)

    def trigger() -> None:
        account = account_of_selection()  # type: ignore[operator]
        window = owner.window()
        page = next((p for p in getattr(window, "pages", []) if hasattr(p, "start_alert")), None)
        if account and page is not None:
            window.tabs.setCurrentWidget(page)  # type: ignore[attr-defined]
            page.start_alert(account)

    action.triggered.connect(trigger)
    for view in views:
        view.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.ActionsContextMenu)
        view.addAction(action)
