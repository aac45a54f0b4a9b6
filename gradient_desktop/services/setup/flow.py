"""The setup flow: starting one (new, resume, reconnect) and the step map that drives it."""

from __future__ import annotations

import logging

from gradient_desktop.services.context import (
    DEMO_PROFILE,
    SANDBOX_URL,
    AppContext,
    MissingKeyError,
)
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.services.setup.base import FlowBase
from gradient_desktop.services.setup.step_activate import ActivateSteps
from gradient_desktop.services.setup.step_map import MappingSteps
from gradient_desktop.services.setup.step_partner import PartnerSteps
from gradient_desktop.services.setup.step_vendor import VendorSteps
from gradient_desktop.services.setup.steps import (
    NEXT_STEP,
    Step,
)

log = logging.getLogger(__name__)


class SetupFlow(VendorSteps, PartnerSteps, MappingSteps, ActivateSteps):
    """One run of the setup wizard for one partner (new, resumed or reconnecting).

    Each step's work lives in its handler (``HANDLERS``); this class starts a flow and answers
    which step comes next (the Qt wizard asks it rather than going by page order).
    """

    # -- starting -----------------------------------------------------------------------------

    @classmethod
    def new(cls, ctx: AppContext, *, demo: bool = False) -> SetupFlow:
        flow = cls(ctx)
        if demo:
            flow.data.update(profile=DEMO_PROFILE, base_url=SANDBOX_URL)
        return flow

    @classmethod
    def resume(cls, ctx: AppContext, partner_id: int) -> SetupFlow:
        """Continue a half-finished setup at the step it stopped on (or the nearest earlier
        step whose inputs are still available)."""
        flow = cls(ctx, PartnerDirectory(ctx).by_id(partner_id))
        flow.step = flow.resume_step()
        return flow

    @classmethod
    def reconnect(cls, ctx: AppContext, partner_id: int) -> SetupFlow:
        """Run the setup again for a known partner with everything known filled in."""
        partner = PartnerDirectory(ctx).by_id(partner_id)
        log.info("reconnect of %s started (status was %s)", partner.name, partner.status)
        flow = cls(ctx, partner)
        profile = ctx.profile_of(partner)
        flow.data.update(
            profile=profile.name,
            base_url=profile.base_url,
            partner_name=partner.name,
            reconnect=True,
        )
        flow.data.setdefault(
            "service_ids", [s.service_id for s in flow.integration.services(partner)]
        )
        flow.data.pop("activated_at", None)
        flow.step = Step.VENDOR
        flow._persist(Step.VENDOR)
        return flow

    def resume_step(self) -> Step:
        partner = self.partner
        if partner is None or partner.setup_step in (0, Step.DONE):
            return Step.VENDOR
        try:
            step = Step(partner.setup_step)
        except ValueError:
            return Step.VENDOR
        if step >= Step.AUTHENTICATE:
            try:
                self.ctx.partner_key(partner)
                self.ctx.vendor_key(self.ctx.profile_of(partner))
            except (MissingKeyError, LookupError):
                step = Step.PARTNER_KEY
        if step == Step.PRODUCT and self.record_credentials() is None:
            step = Step.VENDOR  # the kick-off key was memory-only: ask for it again
        return step

    def next_step(self, step: Step | None = None) -> Step:
        """The step after ``step`` (default: the current one), from the step map."""
        return NEXT_STEP[step or self.step]


#: Which handler does each step's work (the step map's other half).
HANDLERS: dict[Step, type[FlowBase]] = {
    Step.VENDOR: VendorSteps,
    Step.PRODUCT: VendorSteps,
    Step.PARTNER_KEY: PartnerSteps,
    Step.AUTHENTICATE: PartnerSteps,
    Step.MAP_CLIENTS: MappingSteps,
    Step.ACTIVATE: ActivateSteps,
}
