"""The state every setup step handler shares, and how progress is saved."""

from __future__ import annotations

import logging
from typing import Any

from gradient_desktop.api import (
    Vendor,
)
from gradient_desktop.services.context import (
    AppContext,
)
from gradient_desktop.services.demo import RealSetup, setup_extras
from gradient_desktop.services.integration import (
    IntegrationService,
)
from gradient_desktop.services.mapping import MappingService
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.services.setup.steps import (
    SetupError,
    Step,
)
from gradient_desktop.store.models import (
    Partner,
    VendorProfile,
)

log = logging.getLogger(__name__)


class FlowBase:
    """What every step handler shares: the partner being set up, its non-secret choices
    (``data``), the services the steps call, and saving progress after each step."""

    def __init__(self, ctx: AppContext, partner: Partner | None = None) -> None:
        self.ctx = ctx
        self.directory = PartnerDirectory(ctx)
        self.integration = IntegrationService(ctx)
        self.mapping = MappingService(ctx)
        self.partner = partner
        self.data: dict[str, Any] = partner.get_setup_data() if partner else {}
        self.step = Step.VENDOR
        #: The kick-off partner key entered on step 1: memory only, never saved.
        self.record_key: str | None = None
        self.vendor: Vendor | None = None

    # -- persistence and navigation -----------------------------------------------------------

    @property
    def extras(self) -> RealSetup:
        """What this environment adds to the setup (the demo's customers, keys and first
        usage; nothing for a real Gradient): services/demo.py, the flow's one demo call."""
        return setup_extras(self.ctx, self.data.get("base_url", ""))

    @property
    def is_demo(self) -> bool:
        """The built-in demo (the wizard shows its extra controls)."""
        return self.extras.keys_built_in

    def _persist(self, step: Step) -> None:
        self.step = step
        if self.partner is None:
            return
        self.partner = self.directory.update(
            self.partner.id or 0, setup_step=int(step), setup_data=self.data
        )
        self.extras.saved()

    def enter(self, step: Step) -> None:
        """The wizard shows ``step`` (Next or Back): remember it for a resume."""
        if self.partner is not None and step != self.step:
            self._persist(step)
        self.step = step

    def profile(self) -> VendorProfile | None:
        name = self.data.get("profile")
        return self.directory.profile(name) if name else None

    def _need_partner(self) -> Partner:
        if self.partner is None:
            raise SetupError("Finish the Vendor step first.")
        return self.partner
