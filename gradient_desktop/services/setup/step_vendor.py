"""Steps 1 and 2: the vendor profile and record, and the services (SKUs) the integration covers."""

from __future__ import annotations

import logging
from typing import Any

from gradient_desktop.api import (
    SERVICE_CATEGORIES,
    SERVICE_SUBCATEGORIES,
    Credentials,
    Sku,
    Vendor,
)
from gradient_desktop.services.context import (
    DEMO_PROFILE,
    SANDBOX_URL,
)
from gradient_desktop.services.demo import setup_extras
from gradient_desktop.services.setup.base import FlowBase
from gradient_desktop.services.setup.steps import (
    DRAFT_NAME,
    RECORD_KEY_REASON,
    SetupError,
    Step,
)
from gradient_desktop.store.models import (
    Partner,
    VendorProfile,
)

log = logging.getLogger(__name__)


class VendorSteps(FlowBase):
    """Steps 1 and 2: the vendor profile and record, and the services (SKUs) the integration covers."""

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
        built_in = setup_extras(self.ctx, base_url).keys_built_in
        vendor_key = (vendor_key or "").strip() or None
        if (
            not built_in
            and not vendor_key
            and not self.ctx.keys.has_vendor_key(profile_name, base_url)
        ):
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
        extras = self.extras
        if extras.keys_built_in:
            vendor_key = self.ctx.vendor_key(profile)
            key = extras.record_partner_key(self.partner)
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
            raise SetupError(
                "Choose at least one service (SKU) this integration reports usage for."
            )
        partner = self._need_partner()
        self.integration.select_services(partner, skus)
        self.data["service_ids"] = [s.id for s in skus]
        self._persist(Step.PARTNER_KEY)
