"""Steps 3 and 4: the partner's name and key, then authenticating it with Gradient (status pending)."""

from __future__ import annotations

import logging
from typing import Any

from gradient_desktop.api import (
    Integration,
)
from gradient_desktop.services.context import (
    MissingKeyError,
)
from gradient_desktop.services.setup.base import FlowBase
from gradient_desktop.services.setup.steps import (
    DRAFT_NAME,
    WHERE_THE_KEY_IS,
    SetupError,
    Step,
    now_iso,
)
from gradient_desktop.store.models import (
    Partner,
    PartnerStatus,
)

log = logging.getLogger(__name__)


class PartnerSteps(FlowBase):
    """Steps 3 and 4: the partner's name and key, then authenticating it with Gradient (status pending)."""

    # -- step 3: partner key ------------------------------------------------------------------

    def partner_defaults(self) -> dict[str, Any]:
        """Prefill for step 3: the partner's name, and for the demo its key."""
        name = self.data.get("partner_name") or ""
        if self.partner is not None and not self.partner.name.startswith(DRAFT_NAME):
            name = self.partner.name
        out: dict[str, Any] = {"name": name, "key": "", "has_key": False}
        prefill = self.extras.partner_prefill(name, {p.name for p in self.directory.list()})
        if prefill is not None:
            out["name"], out["key"] = prefill
        elif self.partner is not None and name:
            out["has_key"] = self.ctx.keys.has_partner_key(self.partner)
        return out

    def set_partner(self, name: str, key: str | None) -> Partner:
        """Name the partner and store its key (keyring; demo keys stay with the sandbox)."""
        partner = self._need_partner()
        name = name.strip()
        if not name:
            raise SetupError("Enter the partner's name (the MSP's company name).")
        key = (key or "").strip() or None
        if name.startswith(DRAFT_NAME):
            raise SetupError("Enter the MSP's own name, so you can tell partners apart later.")
        if key is None:
            try:
                stored = self.ctx.partner_key(partner) if name == partner.name else None
            except MissingKeyError:
                stored = None
            if not stored:
                raise SetupError("Paste the partner API key. " + WHERE_THE_KEY_IS)
        partner = self.directory.rename(partner, name)
        if key is not None:
            self.directory.set_partner_key(partner, key)
        self.partner = partner
        self.data["partner_name"] = name
        self._persist(Step.AUTHENTICATE)
        return partner

    def demo_new_key(self) -> str:
        """Demo only: play the MSP generating a new key (Synthesize → Connect → Generate)."""
        name = self.data.get("partner_name") or (self.partner.name if self.partner else "")
        key = self.extras.new_partner_key(name)
        if key is None:
            raise SetupError("Only the demo sandbox can issue keys; ask the MSP for a new one.")
        return key

    # -- step 4: authenticate -----------------------------------------------------------------

    async def authenticate(self) -> Integration:
        """GET /organization with the partner's keys, then *pending* (unless already active)."""
        partner = self._need_partner()
        await self.ctx.drop_clients(partner.id or 0)  # the key may have just changed
        await self.integration.authenticate(partner)
        integration = await self.integration.mark_pending(partner)
        self.partner = self.directory.by_id(partner.id or 0)
        self.data["organization_name"] = integration.name
        if integration.status == PartnerStatus.PENDING.value:
            self.data["pending_seen_at"] = now_iso()
        self.data["authenticated_at"] = now_iso()
        self._persist(Step.AUTHENTICATE)
        log.info(
            "%s %s: Gradient reports status %s",
            "reconnected" if self.data.get("reconnect") else "authenticated",
            partner.name,
            integration.status,
        )
        return integration

    def authenticated(self) -> bool:
        partner = self.partner
        return bool(
            partner is not None
            and self.data.get("authenticated_at")
            and partner.status in (PartnerStatus.PENDING.value, PartnerStatus.ACTIVE.value)
        )

    def finish_authenticate(self) -> None:
        if not self.authenticated():
            raise SetupError("Authenticate first: the partner key has not been checked yet.")
        self._persist(Step.MAP_CLIENTS)
