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
from typing import Any, Protocol

from gradient_desktop.services.billing import BillingService
from gradient_desktop.services.wording import plural, verb
from gradient_desktop.store.models import Partner
from gradient_desktop.ui.qt import QtGui
from gradient_desktop.ui.tasks import TaskRunner


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


def _reviewed_text(action: str, n: int, effective: date) -> str:
    if action == "approve":
        text = f"Approved {plural(n, 'card')}; the PSA agreements change from {effective}."
    else:
        text = f"Dismissed {plural(n, 'card')}; the PSA stays as it is."
    return f"{text} Ctrl+Z undoes it."


class ReviewActions:
    """Approve, dismiss and their undo (a mixin of ``PartnerViewPage``). Needs from the page:
    ``partner``, ``billing``, ``tasks``, ``undo_stack``, ``_acted`` and ``_failed``."""

    partner: Partner | None
    billing: BillingService
    tasks: TaskRunner
    undo_stack: QtGui.QUndoStack

    def _acted(self, text: str) -> None:
        raise NotImplementedError

    def _failed(self, what: str, exc: BaseException) -> None:
        raise NotImplementedError

    def review(
        self, action: str, card_ids: list[str], effective: date, *, again: bool = False
    ) -> None:
        """Approve or dismiss ``card_ids``; a first time pushes an undo step, a redo does not."""
        partner = self.partner
        if partner is None:
            return
        if action == "approve":
            work = self.billing.approve(partner, card_ids, effective)
        else:
            work = self.billing.dismiss(partner, card_ids)

        def done(cards: list[Any]) -> None:
            if not again:
                self.undo_stack.push(ReviewCommand(self, action, card_ids, effective))
            self._acted(_reviewed_text(action, len(cards), effective))

        self.tasks.start(
            work,
            on_done=done,
            on_error=lambda exc: self._failed(
                "Approving" if action == "approve" else "Dismissing", exc
            ),
        )

    def reopen(self, action: str, card_ids: list[str]) -> None:
        """Undo: the cards wait for review again (ui/billing/undo.py)."""
        partner = self.partner
        if partner is None:
            return
        self.tasks.start(
            self.billing.reopen(partner, card_ids),
            on_done=lambda cards: self._acted(
                f"Undone: {plural(len(cards), 'card')} {verb(len(cards), 'waits')} for review "
                "again"
                + ("; the PSA agreements are back as they were." if action == "approve" else ".")
            ),
            on_error=self._undo_failed,
        )

    def _undo_failed(self, exc: BaseException) -> None:
        self.undo_stack.clear()  # the partner's page moved on: the steps no longer match it
        self._failed("Undoing", exc)
