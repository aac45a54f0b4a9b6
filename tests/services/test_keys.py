"""The one door for keys (services/keys.py): keyring entries by stable partner id, old
name-keyed entries migrated on first read, renames move nothing, demo keys never in the
user's keyring, and every key read is registered with the log redactor."""

from __future__ import annotations

from typing import Any

import pytest

from gradient_desktop.logsetup import redact
from gradient_desktop.sandbox.seed import PARTNER_DEMO
from gradient_desktop.services.context import AppContext, MissingKeyError
from gradient_desktop.services.demo import ensure_demo_partner
from gradient_desktop.services.partners import PartnerDirectory

SERVICE = "gradient-desktop"


def test_partner_keys_live_under_the_partner_id_and_survive_a_rename(
    ctx: AppContext, memory_keyring: Any
) -> None:
    directory = PartnerDirectory(ctx)
    profile = directory.save_profile("Northwind", "https://app.example.com", "vendor-key-123456")
    partner = directory.add("Contoso", profile, "partner-key-abcdef")
    assert memory_keyring.get_password(SERVICE, f"partner:#{partner.id}") == "partner-key-abcdef"
    assert memory_keyring.get_password(SERVICE, "partner:Contoso") is None
    renamed = directory.rename(partner, "Contoso MSP")
    assert ctx.partner_key(renamed) == "partner-key-abcdef"
    assert ctx.vendor_key(profile) == "vendor-key-123456"
    assert "partner-key-abcdef" not in redact("sent partner-key-abcdef")  # registered
    directory.remove("Contoso MSP")
    assert memory_keyring.get_password(SERVICE, f"partner:#{partner.id}") is None
    with pytest.raises(MissingKeyError):
        ctx.partner_key(renamed)


def test_an_entry_of_an_earlier_version_moves_to_the_id(
    ctx: AppContext, memory_keyring: Any
) -> None:
    directory = PartnerDirectory(ctx)
    profile = directory.save_profile("Northwind", "https://app.example.com", "vendor-key-123456")
    partner = directory.add("Fabrikam", profile)
    memory_keyring.set_password(SERVICE, "partner:Fabrikam", "old-style-key-999")
    assert ctx.partner_key(partner) == "old-style-key-999"
    assert memory_keyring.get_password(SERVICE, f"partner:#{partner.id}") == "old-style-key-999"
    assert memory_keyring.get_password(SERVICE, "partner:Fabrikam") is None


def test_demo_keys_come_from_the_sandbox_and_never_touch_the_keyring(
    ctx: AppContext, memory_keyring: Any
) -> None:
    partner = ensure_demo_partner(ctx)
    assert ctx.partner_key(partner) == PARTNER_DEMO
    assert not any(k[1].startswith("partner:") for k in memory_keyring.entries)
    ctx.keys.set_partner_key(partner, "sandbox-partner-new")
    assert ctx.partner_key(partner) == "sandbox-partner-new"
    assert not any(k[1].startswith("partner:") for k in memory_keyring.entries)
