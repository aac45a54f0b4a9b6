"""Step 6: set the integration active and, optionally, send a first usage sync."""

from __future__ import annotations

import logging
from collections.abc import Callable

from gradient_desktop.api import (
    ApiError,
    Integration,
    ProgressEvent,
)
from gradient_desktop.services.push import PushService, PushSummary
from gradient_desktop.services.setup.base import FlowBase
from gradient_desktop.services.setup.steps import (
    DRAFT_NAME,
    SetupError,
    Step,
    now_iso,
)

log = logging.getLogger(__name__)


class ActivateSteps(FlowBase):
    """Step 6: set the integration active and, optionally, send a first usage sync."""

    # -- step 6: activate and first usage -----------------------------------------------------

    async def activate(self) -> Integration:
        partner = self._need_partner()
        integration = await self.integration.activate(partner)
        self.partner = self.directory.by_id(partner.id or 0)
        self.data["activated_at"] = now_iso()
        self.data.pop("reconnect", None)
        self.step = Step.DONE
        self.partner = self.directory.update(
            partner.id or 0, setup_step=int(Step.DONE), setup_data=self.data
        )
        self.extras.saved()
        return integration

    def counts_already_sent(self) -> int:
        """Counts Gradient acknowledged for this partner before (a reconnect has some)."""
        return len(self.ctx.outbox.last_totals(self._need_partner().id or 0))

    def queued_counts(self) -> int:
        return PushService(self.ctx).pending(self._need_partner())

    async def first_usage_sync(
        self, on_progress: Callable[[ProgressEvent], None] | None = None
    ) -> PushSummary:
        """Push what is queued in the outbox, after the counts the environment generates
        (the demo's; a real Gradient generates none)."""
        partner = self._need_partner()
        push = PushService(self.ctx)
        batch = None
        rows = self.extras.first_usage_rows(partner)
        if rows is not None:
            if not rows:
                raise SetupError("Map at least one account first: usage is counted per account.")
            batch = push.enqueue(partner, rows, actor="setup wizard (demo usage)").batch_id
        summary = await push.run(partner, on_progress=on_progress, batch_id=batch)
        try:
            await self.integration.refresh(partner)
        except ApiError as exc:
            log.info("status not refreshed after the first usage sync: %s", exc)
        self.partner = self.directory.by_id(partner.id or 0)
        self.data["first_usage_at"] = now_iso()
        self.directory.update(partner.id or 0, setup_data=self.data)
        self.extras.saved()
        return summary

    def discard(self) -> None:
        """Forget a draft that never got past naming (the Cancel of a brand-new setup)."""
        if self.partner is not None and self.partner.name.startswith(DRAFT_NAME):
            self.directory.remove(self.partner.name, delete_keys=True)
            self.partner = None
