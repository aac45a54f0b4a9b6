"""Step 6: set the integration active and, optionally, send a first usage sync."""

from __future__ import annotations

import logging
import random
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
from gradient_desktop.store import PushRow

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
        if self.is_demo:
            self.ctx.demo.save()
        return integration

    def demo_usage_rows(self) -> list[PushRow]:
        """Plausible unit counts for every mapped account × selected service (demo only):
        the same numbers on every run for the same pair."""
        partner = self._need_partner()
        services = [s.service_id for s in self.integration.services(partner)]
        rows = []
        for account_id in sorted(self.mapping.mappings(partner)):
            for service_id in services:
                rng = random.Random(f"usage:{account_id}:{service_id}")
                rows.append(PushRow(service_id, account_id, float(rng.randint(1, 60))))
        return rows

    def counts_already_sent(self) -> int:
        """Counts Gradient acknowledged for this partner before (a reconnect has some)."""
        return len(self.ctx.outbox.last_totals(self._need_partner().id or 0))

    def queued_counts(self) -> int:
        return PushService(self.ctx).pending(self._need_partner())

    async def first_usage_sync(
        self, on_progress: Callable[[ProgressEvent], None] | None = None
    ) -> PushSummary:
        """Demo: generate and push counts; otherwise push what is queued in the outbox."""
        partner = self._need_partner()
        push = PushService(self.ctx)
        batch = None
        if self.is_demo:
            rows = self.demo_usage_rows()
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
        if self.is_demo:
            self.ctx.demo.save()
        return summary

    def discard(self) -> None:
        """Forget a draft that never got past naming (the Cancel of a brand-new setup)."""
        if self.partner is not None and self.partner.name.startswith(DRAFT_NAME):
            self.directory.remove(self.partner.name, delete_keys=True)
            self.partner = None
