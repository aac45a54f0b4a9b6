"""One door for keys: the only code that reads, writes, deletes or registers (with the log
redactor) a vendor or partner key.

Each partner has one key source, chosen once from its address: the OS keyring for a real
Gradient, or the demo sandbox's public keys for the demo (kept with the demo snapshot, never in
the user's keyring). Callers never ask which; they ask the door. So services carry no
``if demo`` branches for keys.

Keyring entries of partners are keyed by the partner's stable id (``partner:#<id>``), not its
display name, so renaming a partner touches no secret. Entries written by earlier versions under
``partner:<name>`` are moved to the id on first read (``_migrate``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from gradient_desktop.api import Credentials
from gradient_desktop.logsetup import register_credentials, register_secret

if TYPE_CHECKING:
    from gradient_desktop.services.context import AppContext, DemoEnvironment
    from gradient_desktop.store.models import Partner, VendorProfile

log = logging.getLogger(__name__)


class MissingKeyError(RuntimeError):
    """No key is stored for a profile or partner; the message says how to add one."""


def partner_slot(partner_id: int) -> str:
    """The keyring username part of a partner (stable across renames)."""
    return f"#{partner_id}"


class KeySource(Protocol):
    def get_partner(self, partner: Partner) -> str | None: ...
    def set_partner(self, partner: Partner, key: str) -> None: ...
    def delete_partner(self, partner: Partner) -> None: ...
    def get_vendor(self, profile_name: str) -> str | None: ...
    def set_vendor(self, profile_name: str, key: str) -> None: ...


class KeyringSource:
    """Keys in the OS keyring (``secrets.SecretStore``), partners by id."""

    def __init__(self, ctx: AppContext) -> None:
        self.secrets = ctx.secrets

    def get_partner(self, partner: Partner) -> str | None:
        key = self.secrets.get_partner_key(partner_slot(partner.id or 0))
        return key if key is not None else self._migrate(partner)

    def _migrate(self, partner: Partner) -> str | None:
        """An entry of an earlier version (keyed by the display name) moves to the id."""
        legacy = self.secrets.get_partner_key(partner.name)
        if legacy:
            self.secrets.set_partner_key(partner_slot(partner.id or 0), legacy)
            self.secrets.delete_partner_key(partner.name)
            log.info("partner key of #%s moved to its stable keyring entry", partner.id)
        return legacy

    def set_partner(self, partner: Partner, key: str) -> None:
        self.secrets.set_partner_key(partner_slot(partner.id or 0), key)

    def delete_partner(self, partner: Partner) -> None:
        self.secrets.delete_partner_key(partner_slot(partner.id or 0))
        self.secrets.delete_partner_key(partner.name)  # a legacy entry, if any

    def get_vendor(self, profile_name: str) -> str | None:
        return self.secrets.get_vendor_key(profile_name)

    def set_vendor(self, profile_name: str, key: str) -> None:
        self.secrets.set_vendor_key(profile_name, key)


class DemoSource:
    """The demo sandbox's public keys: the seed's, or one the sandbox issued on a reconnect
    (kept with the demo snapshot by partner name, which the snapshot has always used)."""

    def __init__(self, demo: DemoEnvironment) -> None:
        self.demo = demo

    def get_partner(self, partner: Partner) -> str | None:
        return self.demo.partner_key(partner.name)

    def set_partner(self, partner: Partner, key: str) -> None:
        self.demo.partner_keys[partner.name] = key

    def delete_partner(self, partner: Partner) -> None:
        self.demo.partner_keys.pop(partner.name, None)

    def get_vendor(self, profile_name: str) -> str | None:
        return self.demo.vendor_key

    def set_vendor(self, profile_name: str, key: str) -> None:
        """Demo vendor keys are public and fixed: nothing to store."""


class KeyDoor:
    """See module docstring. One per ``AppContext`` (``ctx.keys``)."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._keyring = KeyringSource(ctx)
        self._demo = DemoSource(ctx.demo)

    def source(self, base_url: str) -> KeySource:
        return self._demo if self.ctx.is_demo_url(base_url) else self._keyring

    # -- partners ---------------------------------------------------------------------------

    def partner_key(self, partner: Partner) -> str:
        key = self.source(partner.base_url).get_partner(partner)
        if not key:
            raise MissingKeyError(
                f"No partner API key is stored for {partner.name!r}. Ask the MSP for a new key "
                "(Synthesize → Integrations → Generate API Tokens) and reconnect the partner."
            )
        register_secret(key)
        return key

    def has_partner_key(self, partner: Partner) -> bool:
        try:
            return bool(self.source(partner.base_url).get_partner(partner))
        except Exception:  # KeyringUnavailable: said when saving, not while asking
            return False

    def set_partner_key(self, partner: Partner, key: str) -> None:
        register_secret(key)
        self.source(partner.base_url).set_partner(partner, key)

    def delete_partner_key(self, partner: Partner) -> None:
        self.source(partner.base_url).delete_partner(partner)

    def rename_partner(self, partner: Partner, new_name: str) -> None:
        """Keyring entries follow the id (nothing to do); the demo's follow the name."""
        if self.ctx.is_demo_url(partner.base_url):
            key = self.ctx.demo.partner_keys.pop(partner.name, None)
            if key is not None:
                self.ctx.demo.partner_keys[new_name] = key

    # -- vendor profiles --------------------------------------------------------------------

    def vendor_key(self, profile: VendorProfile) -> str:
        key = self.source(profile.base_url).get_vendor(profile.name)
        if not key:
            raise MissingKeyError(
                f"No vendor API key is stored for the vendor profile {profile.name!r}. "
                "Open the setup wizard (Connect a partner) and enter it again."
            )
        register_secret(key)
        return key

    def has_vendor_key(self, profile_name: str, base_url: str) -> bool:
        try:
            return bool(self.source(base_url).get_vendor(profile_name))
        except Exception:
            return False

    def set_vendor_key(self, profile_name: str, base_url: str, key: str) -> None:
        register_secret(key)
        self.source(base_url).set_vendor(profile_name, key)

    # -- usage sources (issue #13) -----------------------------------------------------------
    # A source's database password or HTTP token: always the OS keyring (a source is the
    # vendor's own system, demo or not), under ``source:<source name>``.

    def source_secret(self, source: str) -> str | None:
        secret = self.ctx.secrets.get_source_secret(source)
        register_secret(secret)
        return secret

    def set_source_secret(self, source: str, secret: str) -> None:
        register_secret(secret)
        self.ctx.secrets.set_source_secret(source, secret)

    def delete_source_secret(self, source: str) -> bool:
        return self.ctx.secrets.delete_source_secret(source)

    # -- both -------------------------------------------------------------------------------

    def credentials(self, profile: VendorProfile, partner: Partner) -> Credentials:
        creds = Credentials(self.vendor_key(profile), self.partner_key(partner))
        register_credentials(creds.vendor_key, creds.partner_key)
        return creds

    @staticmethod
    def register(creds: Credentials) -> Credentials:
        """Keys typed in but not stored yet (the wizard's checks) are redacted too."""
        register_credentials(creds.vendor_key, creds.partner_key)
        return creds
