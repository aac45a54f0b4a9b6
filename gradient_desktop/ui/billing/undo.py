"""Undo for the Partner's view: approving or dismissing service cards is one ``QUndoCommand``,
so Ctrl+Z (Edit → Undo) and the page's Undo button take it back as everywhere else in the app.

The action already happened when the command is pushed (the first ``redo`` is skipped, as
``ui/mapping/commands.py`` does); ``undo`` asks the partner's billing page to reopen the cards
(an approval's PSA agreement line gets back its quantity and price), ``redo`` approves or
dismisses them again. Both run on the loop through the page's TaskRunner; a refusal (the card
got a newer count meanwhile) is said, and the history is cleared since it no longer matches.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from gradient_desktop.services.wording import plural
from gradient_desktop.ui.qt import QtGui


class ReviewPage(Protocol):
    def review(
        self, action: str, card_ids: list[str], effective: date, *, again: bool = False
    ) -> None: ...

    def reopen(self, action: str, card_ids: list[str]) -> None: ...


def describe(action: str, n: int) -> str:
    """The Edit menu's text: "Approve 3 cards", "Dismiss 1 card"."""
    return f"{action.capitalize()} {plural(n, 'card')}"


class ReviewCommand(QtGui.QUndoCommand):
    def __init__(self, page: ReviewPage, action: str, card_ids: list[str], effective: date) -> None:
        super().__init__(describe(action, len(card_ids)))
        self.page, self.action = page, action
        self.card_ids, self.effective = list(card_ids), effective
        self._done = True  # the first redo() (from QUndoStack.push) is the action already made

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self.page.review(self.action, self.card_ids, self.effective, again=True)

    def undo(self) -> None:
        self.page.reopen(self.action, self.card_ids)
