"""Vendor profiles and partners: records in the store, keys in the keyring, nothing else."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from gradient_desktop.api.options import normalize_base_url
from gradient_desktop.services.context import DEMO_PROFILE, SANDBOX_URL, AppContext
from gradient_desktop.store.models import (
    Mapping,
    MappingKind,
    Partner,
    PartnerStatus,
    VendorAccount,
    VendorProfile,
    utcnow,
)


class PartnerExists(ValueError):
    pass


class PartnerNotFound(LookupError):
    pass


@dataclass(frozen=True)
class PartnerSummary:
    """What the Partners view and ``partner list`` show for one partner."""

    id: int
    name: str
    profile: str
    base_url: str
    status: str
    organization_name: str | None
    last_synced_at: datetime | None
    accounts: int
    mapped_accounts: int
    setup_step: int
    demo: bool


def check_base_url(url: str, *, allow_insecure_http: bool = False) -> str:
    """The normalised base URL, or ValueError/InsecureUrlError with what is wrong."""
    if url.startswith("sandbox://"):
        return SANDBOX_URL
    normalised, _loopback = normalize_base_url(url, allow_insecure_http=allow_insecure_http)
    return normalised


class PartnerDirectory:
    """Create, find, update and remove vendor profiles and partners."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    # -- vendor profiles --------------------------------------------------------------------------

    def profiles(self) -> list[VendorProfile]:
        with self.ctx.db.session() as s:
            return list(s.exec(select(VendorProfile).order_by(VendorProfile.name)))

    def profile(self, name: str) -> VendorProfile | None:
        with self.ctx.db.session() as s:
            return s.exec(select(VendorProfile).where(VendorProfile.name == name)).first()

    def save_profile(
        self, name: str, base_url: str, vendor_key: str | None = None, **fields: Any
    ) -> VendorProfile:
        """Create or update a profile; the key goes to the keyring (not for demo profiles)."""
        base_url = check_base_url(base_url)
        if vendor_key:
            self.ctx.keys.set_vendor_key(name, base_url, vendor_key)
        with self.ctx.db.write_session() as s:
            profile = s.exec(select(VendorProfile).where(VendorProfile.name == name)).first()
            if profile is None:
                profile = VendorProfile(name=name, base_url=base_url)
            profile.base_url = base_url
            for key, value in fields.items():
                setattr(profile, key, value)
            s.add(profile)
            s.commit()
            s.refresh(profile)
            return profile

    def demo_profile(self) -> VendorProfile:
        from gradient_desktop.sandbox.seed import VENDOR_NAME

        return self.profile(DEMO_PROFILE) or self.save_profile(
            DEMO_PROFILE, SANDBOX_URL, vendor_name=VENDOR_NAME
        )

    # -- partners ---------------------------------------------------------------------------------

    def get(self, name: str) -> Partner:
        with self.ctx.db.session() as s:
            partner = s.exec(select(Partner).where(Partner.name == name)).first()
        if partner is None:
            raise PartnerNotFound(
                f"No partner is named {name!r}. `gradient-desktop partner list` shows them."
            )
        return partner

    def by_id(self, partner_id: int) -> Partner:
        with self.ctx.db.session() as s:
            partner = s.get(Partner, partner_id)
        if partner is None:
            raise PartnerNotFound(f"Partner #{partner_id} no longer exists.")
        return partner

    def list(self) -> list[Partner]:
        with self.ctx.db.session() as s:
            return list(s.exec(select(Partner).order_by(Partner.name)))

    def summaries(self) -> builtins.list[PartnerSummary]:
        with self.ctx.db.session() as s:
            rows = s.exec(
                select(Partner, VendorProfile).join(
                    VendorProfile, col(Partner.vendor_profile_id) == col(VendorProfile.id)
                )
            ).all()
            accounts = dict(
                s.exec(
                    select(VendorAccount.partner_id, func.count()).group_by(
                        col(VendorAccount.partner_id)
                    )
                ).all()
            )
            mapped = dict(
                s.exec(
                    select(Mapping.partner_id, func.count())
                    .where(Mapping.kind == MappingKind.ACCOUNT.value)
                    .group_by(col(Mapping.partner_id))
                ).all()
            )
        return [
            PartnerSummary(
                id=p.id or 0,
                name=p.name,
                profile=v.name,
                base_url=p.base_url,
                status=p.status,
                organization_name=p.organization_name,
                last_synced_at=p.last_synced_at,
                accounts=accounts.get(p.id or 0, 0),
                mapped_accounts=mapped.get(p.id or 0, 0),
                setup_step=p.setup_step,
                demo=self.ctx.is_demo_url(p.base_url),
            )
            for p, v in sorted(rows, key=lambda pv: pv[0].name.lower())
        ]

    def add(
        self,
        name: str,
        profile: VendorProfile,
        partner_key: str | None = None,
        *,
        base_url: str | None = None,
        replace_key: bool = True,
    ) -> Partner:
        """A new partner of ``profile``; its key goes to the keyring (demo keys stay in memory)."""
        name = name.strip()
        if not name:
            raise ValueError("The partner needs a name (for example the MSP's company name).")
        url = check_base_url(base_url or profile.base_url)
        with self.ctx.db.session() as s:
            if s.exec(select(Partner).where(Partner.name == name)).first() is not None:
                raise PartnerExists(f"A partner named {name!r} exists already; pick another name.")
        if partner_key and replace_key and not self.ctx.is_demo_url(url):
            self.ctx.secrets.check_backend()  # refuse before a row exists without its key
        with self.ctx.db.write_session() as s:
            partner = Partner(name=name, vendor_profile_id=profile.id or 0, base_url=url)
            s.add(partner)
            s.commit()
            s.refresh(partner)
        if partner_key and replace_key:
            try:
                self.ctx.keys.set_partner_key(partner, partner_key)
            except Exception:
                self._delete_row(partner.id or 0)
                raise
        self.ctx.state.touch(partner.id)
        return partner

    def set_partner_key(self, partner: Partner, key: str) -> None:
        self.ctx.keys.set_partner_key(partner, key)

    def rename(self, partner: Partner, new_name: str) -> Partner:
        """Give a partner another name (keyring entries are keyed by id: nothing moves)."""
        new_name = new_name.strip()
        if not new_name:
            raise ValueError("The partner needs a name (for example the MSP's company name).")
        if new_name == partner.name:
            return partner
        with self.ctx.db.session() as s:
            if s.exec(select(Partner).where(Partner.name == new_name)).first() is not None:
                raise PartnerExists(
                    f"A partner named {new_name!r} exists already; pick another name."
                )
        self.ctx.keys.rename_partner(partner, new_name)
        return self.update(partner.id or 0, name=new_name)

    def unused_name(self, base: str) -> str:
        """``base``, or ``base 2``, ``base 3``… whichever no partner has yet."""
        names = {p.name for p in self.list()}
        if base not in names:
            return base
        n = 2
        while f"{base} {n}" in names:
            n += 1
        return f"{base} {n}"

    def update(self, partner_id: int, **fields: Any) -> Partner:
        with self.ctx.db.write_session() as s:
            partner = s.get(Partner, partner_id)
            if partner is None:
                raise PartnerNotFound(f"Partner #{partner_id} no longer exists.")
            for key, value in fields.items():
                if key == "setup_data":
                    partner.set_setup_data(value)
                else:
                    setattr(partner, key, value)
            partner.updated_at = utcnow()
            s.add(partner)
            s.commit()
            s.refresh(partner)
        self.ctx.state.touch(partner_id)
        return partner

    def set_status(self, partner: Partner, status: str, **fields: Any) -> Partner:
        allowed = {s.value for s in PartnerStatus}
        if status not in allowed:
            status = PartnerStatus.UNKNOWN.value
        return self.update(partner.id or 0, status=status, **fields)

    def remove(self, name: str, *, delete_keys: bool = True) -> None:
        """Forget a partner: its records go (cascade), and its key unless told to keep it."""
        partner = self.get(name)
        self._delete_row(partner.id or 0)
        if delete_keys or self.ctx.is_demo_url(partner.base_url):
            self.ctx.keys.delete_partner_key(partner)

    def _delete_row(self, partner_id: int) -> None:
        with self.ctx.db.write_session() as s:
            row = s.get(Partner, partner_id)
            if row is not None:
                s.delete(row)
                s.commit()
        self.ctx.state.forget(partner_id)
