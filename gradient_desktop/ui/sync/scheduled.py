"""The OS's scheduled syncs, told in the app (issue #13).

* On opening: a banner with what the scheduled runs did while the app was closed; a failed one
  also raises a tray message and brings the Sync page to the front.
* While the app is open it holds the data folder, so the OS's job cannot sync: it records a
  skipped run instead (cli_sync.py). The app notices that record and runs the sync itself, so a
  schedule keeps working for a user who leaves the app open all day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gradient_desktop.services.wording import plural
from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets

if TYPE_CHECKING:
    from gradient_desktop.ui.sync.page import SyncPage

#: How a sync the app ran on the OS schedule's behalf is listed ("How" in the runs table).
IN_APP_TRIGGER = "schedule (app open)"
TRAY_TITLE = "Gradient Desktop: scheduled sync failed"


class Banner(QtWidgets.QFrame):
    """A notice over the Sync page, in the palette's tooltip colours (readable in the dark
    theme), until the user dismisses it."""

    def __init__(self) -> None:
        super().__init__()
        self.setAutoFillBackground(True)
        self.setForegroundRole(QtGui.QPalette.ColorRole.ToolTipText)
        self.setBackgroundRole(QtGui.QPalette.ColorRole.ToolTipBase)
        self.label = QtWidgets.QLabel()
        self.label.setWordWrap(True)
        self.label.setAccessibleName("Scheduled sync notice")
        self.label.setForegroundRole(QtGui.QPalette.ColorRole.ToolTipText)
        self.dismiss = QtWidgets.QPushButton("Dismiss")
        self.dismiss.clicked.connect(self.hide)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.dismiss, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        self.hide()

    def say(self, text: str) -> None:
        self.label.setText(text)
        self.show()


class ScheduledRuns(QtCore.QObject):
    #: How often the app looks for a scheduled run it must take over (the shortest schedule is
    #: 5 minutes: a run starts at most this much later than the OS asked).
    POLL_MS = 30_000

    def __init__(self, page: SyncPage) -> None:
        super().__init__(page)
        self.page = page
        self.runs = page.runs
        self.tray: QtWidgets.QSystemTrayIcon | None = None
        self.banner = Banner()  # laid out by the page
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(self.POLL_MS)
        self.timer.timeout.connect(self.take_over_skipped)
        self.timer.start()
        QtCore.QTimer.singleShot(0, self.report)

    def report(self) -> None:
        """What scheduled runs did since the app was last open; a failure is raised loudly."""
        unseen = self.runs.unseen_scheduled()
        if not unseen:
            return
        self.runs.mark_seen([r.id or 0 for r in unseen])
        failed = [r for r in unseen if r.status == "failed"]
        skipped = sum(1 for r in unseen if r.status == "skipped")
        ran = len(unseen) - skipped
        landed = sum(r.landed for r in unseen)
        text = (
            f"{plural(ran, 'scheduled sync')} ran since the app was last open; "
            f"{plural(landed, 'count')} landed."
        )
        if skipped:
            text += f" {skipped} did not run because the app was open then."
        if failed:
            last = failed[-1]
            when = last.started_at.astimezone()
            self.failed(f"A scheduled sync failed ({when:%Y-%m-%d %H:%M}): {last.message} {text}")
            return
        self.banner.say(text)

    def take_over_skipped(self) -> None:
        """The OS's job ran while the app was open and left a skipped record: sync now."""
        if not self.page.window().isVisible():
            return  # the app is closing (or closed): its store may be gone
        if not self.page.sync_button.isEnabled():
            return  # a sync is running; the next look finds the record still unseen
        skipped = [r for r in self.runs.unseen_scheduled() if r.status == "skipped"]
        if not skipped:
            return
        self.runs.mark_seen([r.id or 0 for r in skipped])
        self.page.start_sync(IN_APP_TRIGGER)

    def failed(self, text: str) -> None:
        """A scheduled sync failed: banner, tray message, and the Sync page to the front."""
        self.banner.say(text)
        self._tray(text)
        tabs = getattr(self.page.window(), "tabs", None)
        if isinstance(tabs, QtWidgets.QTabWidget):
            tabs.setCurrentWidget(self.page)  # a failure is not left on a hidden tab

    def _tray(self, text: str) -> None:
        # Without a tray (some desktops hide it) the banner and the tab switch remain.
        if not QtWidgets.QSystemTrayIcon.isSystemTrayAvailable():
            return
        window = self.page.window()
        icon = window.windowIcon() if window else QtGui.QIcon()
        if icon.isNull():
            icon = self.page.style().standardIcon(
                QtWidgets.QStyle.StandardPixmap.SP_MessageBoxWarning
            )
        if self.tray is None:
            self.tray = QtWidgets.QSystemTrayIcon(icon, self)
            self.tray.setToolTip("Gradient Desktop")
        self.tray.show()
        self.tray.showMessage(TRAY_TITLE, text, QtWidgets.QSystemTrayIcon.MessageIcon.Warning)
