"""The setup flow of one partner as a Qt-free state machine (Electrum's wizard shape): the steps,
which step follows which, the work each step does, and the non-secret choices made so far.

Progress is saved in ``Partner.setup_step`` / ``Partner.setup_data`` after every step, so a
setup stopped half-way (window closed, app quit, machine restarted) resumes where it stopped.
A partner row exists from the end of step 1 on (a *draft* named "New partner" until step 3
names it); keys go to the keyring (demo keys stay with the demo sandbox), never into
``setup_data``. The Qt wizard (``ui/wizard``) only renders these steps.

The Vendor API answers only when a vendor key is paired with a partner key, so the vendor
record (step 1) and the SKU catalogue (step 2) are read with a *record key*: the partner key
Gradient's vendor support issues at kick-off (entered on step 1, kept in memory only), else the
key of another partner of the same vendor profile, else this partner's key once step 3 has it.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from gradient_desktop.api import (
    SERVICE_CATEGORIES,
    SERVICE_SUBCATEGORIES,
    ApiError,
    Credentials,
    Integration,
    ProgressEvent,
    Sku,
    Vendor,
)
from gradient_desktop.services.context import (
    DEMO_PROFILE,
    SANDBOX_URL,
    AppContext,
    MissingKeyError,
)
from gradient_desktop.services.integration import (
    ClientSync,
    Customer,
    IntegrationService,
    PublishResult,
    parse_customers_csv,
)
from gradient_desktop.services.mapping import MappingChange, MappingService
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.services.push import PushService, PushSummary
from gradient_desktop.store import PushRow
from gradient_desktop.store.models import (
    MappingOrigin,
    Partner,
    PartnerStatus,
    VendorProfile,
)

log = logging.getLogger(__name__)

DRAFT_NAME = "New partner"
WHERE_THE_KEY_IS = (
    "The MSP creates this key in Synthesize: Integrations → your integration's card → Connect "
    "→ Generate API Tokens, and sends it to you."
)
RECORD_KEY_REASON = (
    "Gradient's Vendor API only answers when your vendor key is paired with a partner key, so "
    "paste one here (the seed-account key Gradient's vendor support issued at kick-off, or this "
    "MSP's key) to read and edit your vendor record and services; it is kept in memory only."
)


class Step(IntEnum):
    VENDOR = 1
    PRODUCT = 2
    PARTNER_KEY = 3
    AUTHENTICATE = 4
    MAP_CLIENTS = 5
    ACTIVATE = 6
    DONE = 99


STEP_TITLES = {
    Step.VENDOR: "Vendor",
    Step.PRODUCT: "Product",
    Step.PARTNER_KEY: "Partner key",
    Step.AUTHENTICATE: "Authenticate",
    Step.MAP_CLIENTS: "Map clients",
    Step.ACTIVATE: "Activate",
    Step.DONE: "Done",
}
#: The navigation map: which step follows which (Back is the inverse).
NEXT_STEP: dict[Step, Step] = {
    Step.VENDOR: Step.PRODUCT,
    Step.PRODUCT: Step.PARTNER_KEY,
    Step.PARTNER_KEY: Step.AUTHENTICATE,
    Step.AUTHENTICATE: Step.MAP_CLIENTS,
    Step.MAP_CLIENTS: Step.ACTIVATE,
    Step.ACTIVATE: Step.DONE,
}
PREVIOUS_STEP: dict[Step, Step] = {after: before for before, after in NEXT_STEP.items()}


class SetupError(RuntimeError):
    """A step cannot go on; the message says why and what to do."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class MappingSummary:
    accounts: int
    mapped: int
    clients: int
    services: int

    @property
    def unmapped(self) -> int:
        return self.accounts - self.mapped


def normalize_exact(name: str) -> str:
    """Case and spacing folded, nothing else: "exact" name matching."""
    return " ".join(name.casefold().split())


class SetupFlow:
    """One run of the setup wizard for one partner (new, resumed or reconnecting)."""

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

    # -- persistence and navigation -----------------------------------------------------------

    @property
    def is_demo(self) -> bool:
        return self.ctx.is_demo_url(self.data.get("base_url", ""))

    def _persist(self, step: Step) -> None:
        self.step = step
        if self.partner is None:
            return
        self.partner = self.directory.update(
            self.partner.id or 0, setup_step=int(step), setup_data=self.data
        )
        if self.is_demo:
            self.ctx.demo.save()

    def enter(self, step: Step) -> None:
        """The wizard shows ``step`` (Next or Back): remember it for a resume."""
        if self.partner is not None and step != self.step:
            self._persist(step)
        self.step = step

    def next_step(self, step: Step | None = None) -> Step:
        return NEXT_STEP[step or self.step]

    def previous_step(self, step: Step | None = None) -> Step | None:
        return PREVIOUS_STEP.get(step or self.step)

    def profile(self) -> VendorProfile | None:
        name = self.data.get("profile")
        return self.directory.profile(name) if name else None

    def _need_partner(self) -> Partner:
        if self.partner is None:
            raise SetupError("Finish the Vendor step first.")
        return self.partner

    # -- step 1: vendor -------------------------------------------------------------------------

    def profile_defaults(self, name: str) -> dict[str, Any]:
        """What step 1 can prefill for a profile name (nothing secret)."""
        if name == DEMO_PROFILE:
            return {"base_url": SANDBOX_URL, "has_key": True, "demo": True}
        profile = self.directory.profile(name)
        if profile is None:
            return {"base_url": "https://app.usegradient.com", "has_key": False, "demo": False}
        has_key = self.ctx.keys.has_vendor_key(name, profile.base_url)
        return {"base_url": profile.base_url, "has_key": has_key, "demo": False}

    def save_vendor(
        self,
        profile_name: str,
        base_url: str,
        vendor_key: str | None = None,
        record_key: str | None = None,
        *,
        advance: bool = True,
    ) -> VendorProfile:
        """Save the profile (vendor key → keyring) and create the draft partner; with
        ``advance`` the setup moves on to the Product step.

        Raises ``KeyringUnavailable`` (its message says what to install) rather than keeping a
        key anywhere else.
        """
        profile_name = profile_name.strip()
        if not profile_name:
            raise SetupError("Give the vendor profile a name (for example your product's name).")
        demo = self.ctx.is_demo_url(base_url)
        vendor_key = (vendor_key or "").strip() or None
        if not demo and not vendor_key and not self.ctx.keys.has_vendor_key(profile_name, base_url):
            raise SetupError(
                "Enter the vendor API key Gradient gave you (it is stored in the system keyring)."
            )
        profile = self.directory.save_profile(profile_name, base_url, vendor_key)
        self.record_key = (record_key or "").strip() or None
        self.data.update(profile=profile.name, base_url=profile.base_url)
        if self.partner is None:
            self.partner = self.directory.add(
                self.directory.unused_name(DRAFT_NAME), profile, base_url=profile.base_url
            )
        elif self.partner.vendor_profile_id != profile.id:
            self.partner = self.directory.update(
                self.partner.id or 0, vendor_profile_id=profile.id, base_url=profile.base_url
            )
        if advance:
            if self.record_credentials() is None:
                raise SetupError(RECORD_KEY_REASON)
            self._persist(Step.PRODUCT)
        else:
            self._persist(self.step)
        return profile

    def record_credentials(self) -> Credentials | None:
        """Keys that can read the vendor record now (see module docstring), or None."""
        profile = self.profile()
        if profile is None:
            return None
        vendor_key = self.ctx.vendor_key(profile) if self.is_demo else None
        if self.is_demo:
            key = self._live_demo_key()
            return Credentials(vendor_key, key) if key and vendor_key else None
        try:
            vendor_key = self.ctx.keys.vendor_key(profile)
        except Exception:  # no key, or no keyring: no record credentials yet
            return None
        candidates: list[str] = [self.record_key] if self.record_key else []
        if self.partner is not None and self.partner.setup_step >= Step.AUTHENTICATE:
            candidates.append(self._stored_key(self.partner))
        for other in self.directory.list():
            if other.vendor_profile_id == profile.id and (
                self.partner is None or other.id != self.partner.id
            ):
                candidates.append(self._stored_key(other))
        key = next((k for k in candidates if k), None)
        return Credentials(vendor_key, key) if key else None

    def _stored_key(self, partner: Partner) -> str:
        try:
            return self.ctx.keys.partner_key(partner)
        except Exception:  # none stored, or the keyring is unavailable
            return ""

    def _live_demo_key(self) -> str | None:
        state = self.ctx.demo.state
        if self.partner is not None:
            own = self.ctx.demo.partner_keys.get(self.partner.name)
            if own and own in state.partner_keys():
                return own
        vendor = self.ctx.demo.vendor_key
        for key in state.partner_keys():
            if state.vendor_key_of(key) == vendor:
                return key
        return None

    def _record_client(self):
        creds = self.record_credentials()
        if creds is None:
            raise SetupError(RECORD_KEY_REASON)
        return self.ctx.client_with(self.data["base_url"], creds)

    async def load_vendor(self) -> Vendor:
        async with self._record_client() as client:
            vendor = await client.get_vendor()
        self._remember(vendor)
        return vendor

    async def update_vendor(self, **fields: str | None) -> Vendor:
        changes = {k: v for k, v in fields.items() if v is not None}
        if not changes:
            raise SetupError("Nothing to change in the vendor record.")
        async with self._record_client() as client:
            vendor = await client.update_vendor(**changes)
        self._remember(vendor)
        return vendor

    def _remember(self, vendor: Vendor) -> None:
        self.vendor = vendor
        profile = self.profile()
        if profile is not None:
            self.integration._remember_vendor(profile.id or 0, vendor)
        self.data["vendor"] = {
            "name": vendor.name,
            "support": vendor.vendor_support_page_url or "",
            "portal": vendor.integration_portal_url or "",
        }

    # -- step 2: product ------------------------------------------------------------------------

    async def create_service(
        self, name: str, description: str, category: str, subcategory: str
    ) -> Sku:
        """A new SKU (or the existing one of that name: peers match SKUs by name)."""
        name, description = name.strip(), description.strip()
        if not name:
            raise SetupError("The new service needs a name.")
        if not description:
            raise SetupError("Gradient requires a description for a service.")
        if category not in SERVICE_CATEGORIES:
            raise SetupError(f"Choose a category from Gradient's list, not {category!r}.")
        if subcategory not in SERVICE_SUBCATEGORIES:
            raise SetupError(f"Choose a subcategory from Gradient's list, not {subcategory!r}.")
        async with self._record_client() as client:
            vendor = await client.get_vendor()
            existing = next(
                (s for s in vendor.skus if s.name.strip().lower() == name.lower()), None
            )
            if existing is None:
                vendor = await client.create_service(name, description, category, subcategory)
        self._remember(vendor)
        sku = existing or next((s for s in reversed(vendor.skus) if s.name == name), None)
        if sku is None:
            raise SetupError("Gradient accepted the service but did not list it; retry.")
        return sku

    def choose_services(self, skus: list[Sku]) -> None:
        if not skus:
            raise SetupError("Choose at least one service (SKU) this integration reports usage for.")
        partner = self._need_partner()
        self.integration.select_services(partner, skus)
        self.data["service_ids"] = [s.id for s in skus]
        self._persist(Step.PARTNER_KEY)

    # -- step 3: partner key ------------------------------------------------------------------

    def partner_defaults(self) -> dict[str, Any]:
        """Prefill for step 3: the partner's name, and for the demo its key."""
        from gradient_desktop.services.demo import DEMO_PARTNERS

        name = self.data.get("partner_name") or ""
        if self.partner is not None and not self.partner.name.startswith(DRAFT_NAME):
            name = self.partner.name
        out: dict[str, Any] = {"name": name, "key": "", "has_key": False}
        if self.is_demo:
            if not name:
                taken = {p.name for p in self.directory.list()}
                name = next((n for n in DEMO_PARTNERS if n not in taken), "")
                out["name"] = name
            out["key"] = self.ctx.demo.partner_keys.get(name) or DEMO_PARTNERS.get(
                name, DEMO_PARTNERS[next(iter(DEMO_PARTNERS))]
            )
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
        if not self.is_demo:
            raise SetupError("Only the demo sandbox can issue keys; ask the MSP for a new one.")
        state = self.ctx.demo.state
        name = self.data.get("partner_name") or (self.partner.name if self.partner else "")
        current = self.ctx.demo.partner_keys.get(name)
        from gradient_desktop.services.demo import DEMO_PARTNERS

        current = current or DEMO_PARTNERS.get(name)
        if current:
            issued = state.connect(partner_key=current)
        else:
            issued = state.connect(organization_name=name or None)
        self.ctx.demo.save()
        return str(issued["partnerKey"])

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

    # -- step 5: accounts, clients, mapping ---------------------------------------------------

    def customers_source(self) -> str:
        """'demo' (the sandbox's customer list) or 'file' (the vendor imports a CSV)."""
        return "demo" if self.is_demo else "file"

    def import_customers(self, text: str) -> int:
        """Customers from CSV text ``id,name,description`` saved for this partner."""
        partner = self._need_partner()
        customers = parse_customers_csv(text)
        return self.integration.save_customers(partner, customers)

    def _demo_customers(self) -> list[Customer]:
        from gradient_desktop.services.demo import demo_customers

        return demo_customers(self.ctx, self._need_partner().name)

    async def publish(
        self,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> tuple[PublishResult, ClientSync]:
        """Push the vendor's customers as accounts, then load the partner's Gradient clients."""
        partner = self._need_partner()
        if self.is_demo:
            self.integration.save_customers(partner, self._demo_customers())
        if not self.integration.accounts(partner):
            raise SetupError(
                "There are no customers to publish yet: import your customer list "
                "(a CSV file with the columns id,name,description)."
            )

        def accounts_progress(done: int, total: int) -> None:
            if progress:
                progress("accounts", done, total)

        def clients_progress(done: int) -> None:
            if progress:
                progress("clients", done, 0)

        published = await self.integration.publish_accounts(partner, accounts_progress)
        clients = await self.integration.sync_clients(partner, clients_progress)
        self.data["accounts_published_at"] = now_iso()
        self.data["clients_loaded"] = clients.total
        self._persist(Step.MAP_CLIENTS)
        return published, clients

    def auto_match_exact(self) -> list[MappingChange]:
        """Map every unmapped account to the client with the same name (case and spacing
        ignored); returns the changes made (apply their inverse to undo)."""
        changes = self.exact_matches()
        if changes:
            self.mapping.apply(self._need_partner(), changes)
        return changes

    def exact_matches(self) -> list[MappingChange]:
        """The changes ``auto_match_exact`` would make (the wizard applies them as one undo
        step through the mapping grid)."""
        partner = self._need_partner()
        current = self.mapping.mappings(partner)
        taken = set(current.values())
        by_name: dict[str, str] = {}
        for c in self.integration.clients(partner):
            if not c.stale:
                by_name.setdefault(normalize_exact(c.name), c.client_id)
        changes = []
        for account in self.integration.accounts(partner):
            if account.account_id in current:
                continue
            hit = by_name.get(normalize_exact(account.name))
            if hit and hit not in taken:
                taken.add(hit)
                changes.append(
                    MappingChange(account.account_id, hit, MappingOrigin.SUGGESTED.value)
                )
        return changes

    def map_account(self, account_id: str, client_id: str | None) -> list[MappingChange]:
        return self.mapping.apply(self._need_partner(), [MappingChange(account_id, client_id)])

    async def sync_mappings(self, account_ids: list[str] | None = None) -> dict[str, str]:
        """Send mappings to Gradient; then read ``isMapped`` back. Returns failures."""
        partner = self._need_partner()
        errors = await self.mapping.sync(partner, account_ids)
        await self.integration.refresh_account_states(partner)
        if self.is_demo:
            self.ctx.demo.save()
        return errors

    async def resync_mappings(self) -> dict[str, str]:
        """After a (re)publish: send the saved mappings Gradient does not have yet."""
        partner = self._need_partner()
        mapped = list(self.mapping.mappings(partner))
        states = self.mapping.sync_states(partner, mapped)
        todo = [i for i in mapped if states.get(i, ("local", None))[0] != "synced"]
        return await self.sync_mappings(todo) if todo else {}

    def mapping_summary(self) -> MappingSummary:
        partner = self._need_partner()
        return MappingSummary(
            accounts=len(self.integration.accounts(partner)),
            mapped=len(self.mapping.mappings(partner)),
            clients=len(self.integration.clients(partner)),
            services=len(self.integration.services(partner)),
        )

    def finish_mapping(self) -> None:
        self.data["mapped_accounts"] = self.mapping_summary().mapped
        self._persist(Step.ACTIVATE)

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
            batch = push.enqueue(partner, rows, actor="setup wizard (demo usage)")
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
