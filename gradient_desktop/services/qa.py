"""The integration check: Gradient's QA steps for a vendor integration (the seed's
"Steps to QA the Integration"), each ticked from what the Vendor API says right now about one
partner, so a vendor can QA its integration before launch. Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from gradient_desktop.api import ApiError, Integration
from gradient_desktop.services.context import AppContext, MissingKeyError
from gradient_desktop.services.integration import IntegrationService, _parse_time
from gradient_desktop.services.mapping import MappingService
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.services.state import when
from gradient_desktop.store.models import Partner

#: (key, title, what the QA document asks) in the document's order.
QA_STEPS: tuple[tuple[str, str, str], ...] = (
    (
        "pending",
        "Status pending seen",
        "Authenticate the integration; confirm Next lights up (status set to pending).",
    ),
    ("accounts", "Accounts synced", "Confirm accounts have synced in for mapping."),
    ("services", "Services synced", "Confirm services have synced in for mapping."),
    ("mappings", "Mappings saved", "Map the accounts created; Gradient shows them as mapped."),
    ("active", "Active", "Finish the integration setup: the integration is ACTIVE."),
    ("usage", "Usage received", "Initiate a sync; usage has arrived in Gradient."),
)


@dataclass
class QaStep:
    key: str
    title: str
    hint: str
    ok: bool | None = None  # None: could not be checked (an earlier call failed)
    detail: str = ""


@dataclass
class QaReport:
    partner: str
    checked_at: datetime
    steps: list[QaStep] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> int:
        return sum(1 for s in self.steps if s.ok)

    @property
    def all_passed(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    def step(self, key: str) -> QaStep:
        return next(s for s in self.steps if s.key == key)


def empty_report(partner: str) -> QaReport:
    return QaReport(partner, datetime.now(UTC), [QaStep(k, t, h) for k, t, h in QA_STEPS])


class IntegrationCheck:
    """Runs the QA steps against one partner; every tick comes from a live API answer."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.integration = IntegrationService(ctx)
        self.mapping = MappingService(ctx)
        self.partners = PartnerDirectory(ctx)

    async def run(self, partner: Partner) -> QaReport:
        """Run every step; the result becomes the partner's *last check* (services/state.py),
        which the check page and every other screen render from."""
        report = await self._run(partner)
        self.ctx.state.note_check(
            partner.id or 0, {s.key: s.ok for s in report.steps}, report.checked_at, report.error
        )
        return report

    async def _run(self, partner: Partner) -> QaReport:
        report = empty_report(partner.name)
        steps = {s.key: s for s in report.steps}
        try:
            client = self.ctx.client_for(partner)
            integration: Integration = await client.get_integration()
        except (ApiError, MissingKeyError) as exc:
            report.error = str(exc)
            for s in report.steps:
                s.detail = "Not checked: Gradient could not be asked (see above)."
            return report

        # 1. pending: seen now, or recorded when the setup wizard authenticated.
        data = partner.get_setup_data()
        seen_at = data.get("pending_seen_at")
        pending = steps["pending"]
        if integration.status == "pending":
            data["pending_seen_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            self.partners.update(partner.id or 0, setup_data=data)
            pending.ok, pending.detail = True, "Gradient reports the integration as pending now."
        elif seen_at:
            pending.ok, pending.detail = True, f"Pending was set and confirmed on {when(seen_at)}."
        else:
            pending.ok = False
            pending.detail = (
                f"Gradient reports '{integration.status}' and pending was never seen: "
                "authenticate through the setup wizard, which sets pending."
            )

        try:
            remote_accounts = await client.list_accounts()
            vendor = await client.get_vendor()
        except ApiError as exc:
            report.error = str(exc)
            for key in ("accounts", "services", "mappings"):
                steps[key].detail = "Not checked: " + str(exc)
            remote_accounts, vendor = None, None

        if remote_accounts is not None:
            local = {a.account_id for a in self.integration.accounts(partner)}
            remote = {a.id: a for a in remote_accounts}
            present = local & set(remote)
            acc = steps["accounts"]
            acc.ok = bool(local) and present == local
            acc.detail = (
                f"{len(present)} of {len(local)} accounts are in Gradient."
                if local
                else "No accounts have been published yet (setup step 5)."
            )

            mapped_local = self.mapping.mappings(partner)
            mapped_remote = {i for i in mapped_local if i in remote and remote[i].is_mapped}
            mp = steps["mappings"]
            mp.ok = bool(mapped_local) and mapped_remote == set(mapped_local)
            mp.detail = (
                f"{len(mapped_remote)} of {len(mapped_local)} saved mappings are mapped in "
                "Gradient."
                if mapped_local
                else "No accounts are mapped yet."
            )
        if vendor is not None:
            chosen = {s.service_id for s in self.integration.services(partner)}
            listed = {s.id for s in vendor.skus}
            sv = steps["services"]
            sv.ok = bool(chosen) and chosen <= listed
            sv.detail = (
                f"{len(chosen & listed)} of {len(chosen)} chosen services are in Gradient's "
                "catalogue."
                if chosen
                else "No services were chosen for this integration (setup step 2)."
            )

        act = steps["active"]
        act.ok = integration.status == "active"
        act.detail = f"Gradient reports the integration as '{integration.status}'."

        usage = steps["usage"]
        usage.ok = not integration.never_synced
        usage.detail = (
            f"Gradient received usage; last on {when(_parse_time(integration.last_synced_at))}."
            if usage.ok
            else "Gradient has not received any usage for this integration yet."
        )
        await self._usage_from_cards(partner, usage)
        # What Gradient said is also the partner's current state.
        self.integration._record(partner, integration)
        report.checked_at = datetime.now(UTC)
        data = self.partners.by_id(partner.id or 0).get_setup_data()
        data["last_check_at"] = report.checked_at.isoformat(timespec="seconds")
        data["last_check_passed"] = f"{report.passed}/{len(report.steps)}"
        self.partners.update(partner.id or 0, setup_data=data)
        return report

    async def _usage_from_cards(self, partner: Partner, step: QaStep) -> None:
        """Sandbox partners: tick "usage received" as the QA guide does, from the service cards
        on the partner's billing page (the sandbox plays it; real partners have no such API)."""
        from gradient_desktop.services.billing import BillingService, usage_summary

        billing = BillingService(self.ctx)
        if not billing.available(partner):
            return
        try:
            step.ok, step.detail = usage_summary(await billing.cards(partner))
        except (ApiError, MissingKeyError, ValueError) as exc:
            step.detail += f" The partner's billing page could not be read: {exc}"
