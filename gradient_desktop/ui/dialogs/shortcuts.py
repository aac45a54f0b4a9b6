"""Help → Keyboard shortcuts: a table generated from the main window's actions (menu by menu,
then any other action or ``QShortcut`` with a key), so it never drifts from what the keys do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gradient_desktop.ui.qt import ModelIndex, QtCore, QtGui, QtWidgets

NATIVE = QtGui.QKeySequence.SequenceFormat.NativeText


@dataclass(frozen=True)
class ShortcutRow:
    group: str
    command: str
    keys: str


def _clean(text: str) -> str:
    # "&Connect a partner…" -> "Connect a partner…"; "&&" stays a literal ampersand.
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").strip()


def _keys(action: QtGui.QAction) -> str:
    return ", ".join(s.toString(NATIVE) for s in action.shortcuts() if not s.isEmpty())


def collect_shortcuts(window: QtWidgets.QMainWindow) -> list[ShortcutRow]:
    """Every action with a key: menu actions first (in menu order), then the rest."""
    rows: list[ShortcutRow] = []
    seen: set[int] = set()

    def walk(menu: QtWidgets.QMenu, group: str) -> None:
        for action in menu.actions():
            sub = action.menu()
            if isinstance(sub, QtWidgets.QMenu):
                walk(sub, f"{group} › {_clean(sub.title())}")
                continue
            if action.isSeparator():
                continue
            seen.add(id(action))
            keys = _keys(action)
            if keys:
                rows.append(ShortcutRow(group, _clean(action.text()), keys))

    for top in window.menuBar().actions():
        menu = top.menu()
        if isinstance(menu, QtWidgets.QMenu):
            walk(menu, _clean(menu.title()))

    for action in window.findChildren(QtGui.QAction):
        keys = _keys(action)
        if id(action) in seen or not keys or not action.text():
            continue
        seen.add(id(action))
        rows.append(ShortcutRow(_page_of(window, action), _clean(action.text()), keys))
    for shortcut in window.findChildren(QtGui.QShortcut):
        # A QShortcut has no text of its own: list the ones that say what they do.
        what = shortcut.whatsThis() or shortcut.objectName()
        if what and not shortcut.key().isEmpty():
            rows.append(
                ShortcutRow(_page_of(window, shortcut), what, shortcut.key().toString(NATIVE))
            )
    # The same command registered twice (e.g. a button and its action) is listed once.
    unique: dict[tuple[str, str, str], ShortcutRow] = {}
    for row in rows:
        unique.setdefault((row.group, row.command, row.keys), row)
    return list(unique.values())


def _page_of(window: QtWidgets.QMainWindow, obj: QtCore.QObject) -> str:
    """The title of the page that owns ``obj`` (its shortcuts work on that page), else "Other"."""
    pages = {id(p): p for p in getattr(window, "pages", [])}
    node: QtCore.QObject | None = obj.parent()
    while node is not None and node is not window:
        page = pages.get(id(node))
        if page is not None:
            return str(getattr(page, "title", "Other"))
        node = node.parent()
    return "Other"


class ShortcutsModel(QtCore.QAbstractTableModel):
    HEADERS = ("Menu", "Command", "Shortcut")

    def __init__(self, rows: list[ShortcutRow], parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._rows = [(r.group, r.command, r.keys) for r in rows]

    def rowCount(self, parent: Any = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Any = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def data(self, index: ModelIndex, role: int = QtCore.Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in (QtCore.Qt.ItemDataRole.DisplayRole, QtCore.Qt.ItemDataRole.ToolTipRole):
            return None
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        return self._rows[index.row()][index.column()]

    def headerData(
        self,
        section: int,
        orientation: QtCore.Qt.Orientation,
        role: int = QtCore.Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if (
            role == QtCore.Qt.ItemDataRole.DisplayRole
            and orientation == QtCore.Qt.Orientation.Horizontal
        ):
            return self.HEADERS[section] if 0 <= section < len(self.HEADERS) else None
        return None


class ShortcutsDialog(QtWidgets.QDialog):
    def __init__(
        self, window: QtWidgets.QMainWindow, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setAccessibleName("Keyboard shortcuts")
        self.rows = collect_shortcuts(window)
        self.model = ShortcutsModel(self.rows, self)
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Keyboard shortcuts")
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.resizeColumnsToContents()  # a few dozen rows: cheap here
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(QtWidgets.QLabel("Shortcuts of the commands in this window:"))
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(560, 460)
