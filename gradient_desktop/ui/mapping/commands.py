"""Undo commands for mapping changes: one ``QUndoCommand`` per user action (a drop, an unmap,
"accept all suggestions", a CSV import), wrapping ``MappingService.apply`` and the inverse it
returns."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gradient_desktop.services.mapping import MappingChange
from gradient_desktop.ui.qt import QtGui

Apply = Callable[[Sequence[MappingChange]], list[MappingChange]]


class MappingCommand(QtGui.QUndoCommand):
    """Changes already applied once (``inverse`` is what that returned): pushing it onto the
    stack does not apply them again; undo applies the inverse, redo the changes."""

    def __init__(
        self,
        apply: Apply,
        changes: Sequence[MappingChange],
        inverse: Sequence[MappingChange],
        text: str,
    ) -> None:
        super().__init__(text)
        self._apply = apply
        self.changes = list(changes)
        self.inverse = list(inverse)
        self._done = True  # the first redo() (from QUndoStack.push) is the change already made

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self.inverse = self._apply(self.changes)

    def undo(self) -> None:
        self._apply(self.inverse)


def describe(changes: Sequence[MappingChange], target_name: Callable[[str], str]) -> str:
    """The Edit menu's text for a change ("Map 3 accounts to Acme Corporation")."""
    targets = {c.target_id for c in changes}
    n = len(changes)
    noun = "account" if n == 1 else "accounts"
    if targets == {None}:
        return f"Unmap {n} {noun}"
    if len(targets) == 1:
        (target,) = targets
        return f"Map {n} {noun} to {target_name(target or '')}"
    return f"Change {n} mappings"
