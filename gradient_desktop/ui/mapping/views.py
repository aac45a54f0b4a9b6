"""The two table views of the mapping grid: drag-and-drop set up once, fixed row heights (no
ResizeToContents at 50,000 rows), and the keys that make every action reachable without a
mouse (Delete unmaps, Enter / Ctrl+M maps or accepts)."""

from __future__ import annotations

from gradient_desktop.ui.qt import QtCore, QtGui, QtWidgets

Qt = QtCore.Qt


class PaneView(QtWidgets.QTableView):
    """A table that drags ids out, accepts drops on items and reports the grid's keys."""

    delete_pressed = QtCore.Signal()
    enter_pressed = QtCore.Signal()
    map_pressed = QtCore.Signal()  # Ctrl+M

    def __init__(self, name: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(name)
        self.setObjectName(name.replace(" ", "_").lower())
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        # Overwrite mode: a drop always lands *on* a row (a client), never between two rows.
        self.setDragDropOverwriteMode(True)
        self.setDragDropMode(QtWidgets.QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setAlternatingRowColors(True)
        self.setSortingEnabled(True)
        self.setWordWrap(False)
        self.setTabKeyNavigation(False)  # Tab leaves the table (to the other pane)
        self.verticalHeader().hide()
        rows = self.verticalHeader()
        rows.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        self.doubleClicked.connect(lambda _index: self.enter_pressed.emit())

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        key, mods = event.key(), event.modifiers()
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not mods:
            self.delete_pressed.emit()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not (
            mods & ~Qt.KeyboardModifier.KeypadModifier
        ):
            self.enter_pressed.emit()
            return
        if key == Qt.Key.Key_M and mods == Qt.KeyboardModifier.ControlModifier:
            self.map_pressed.emit()
            return
        super().keyPressEvent(event)

    def selected_rows(self) -> list[int]:
        model = self.selectionModel()
        return sorted(i.row() for i in model.selectedRows()) if model else []

    def select_row(self, row: int, *, scroll: bool = True) -> None:
        """Make ``row`` the current and only selected row (what the other pane syncs to)."""
        model = self.model()
        if model is None or not 0 <= row < model.rowCount():
            return
        index = model.index(row, 0)
        flags = (
            QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QtCore.QItemSelectionModel.SelectionFlag.Rows
        )
        self.selectionModel().setCurrentIndex(index, flags)
        if scroll:
            self.scrollTo(index, QtWidgets.QAbstractItemView.ScrollHint.PositionAtCenter)
