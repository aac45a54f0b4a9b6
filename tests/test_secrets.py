"""Keys live in the keyring under ``gradient-desktop``; without a usable keyring nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import keyring.errors
import pytest

from gradient_desktop.logsetup import clear_secrets, redact
from gradient_desktop.secrets import (
    SERVICE_NAME,
    KeyringUnavailable,
    SecretStore,
    SecretStoreError,
    keyring_instructions,
)
from tests.keyring_backend import MemoryKeyring

VENDOR_KEY = "vk-3f9a1c0d7e2b4a65"
PARTNER_KEY = "pk-8d7c6b5a4f3e2d1c"


class LockedKeyring(keyring.backend.KeyringBackend):
    """A Secret Service whose collection stays locked (the user dismissed the prompt)."""

    priority = -1  # type: ignore[assignment]  # never auto-selected; set explicitly

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")


class BrokenKeyring(keyring.backend.KeyringBackend):
    """A backend whose transport fails with its own exception type (e.g. D-Bus went away)."""

    priority = -1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise ConnectionError(f"dbus gone while handling {VENDOR_KEY}")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise ConnectionError(f"dbus gone while storing {password}")

    def delete_password(self, service: str, username: str) -> None:
        raise ConnectionError("dbus gone")


@pytest.fixture(autouse=True)
def _forget_registered_secrets() -> Iterator[None]:
    clear_secrets()
    yield
    clear_secrets()


@pytest.fixture
def store(memory_keyring: MemoryKeyring) -> SecretStore:
    return SecretStore()


def test_vendor_and_partner_keys_round_trip(
    store: SecretStore, memory_keyring: MemoryKeyring
) -> None:
    store.set_vendor_key("default", VENDOR_KEY)
    store.set_partner_key("Contoso Managed Services", PARTNER_KEY)
    assert store.get_vendor_key("default") == VENDOR_KEY
    assert store.get_partner_key("Contoso Managed Services") == PARTNER_KEY
    assert memory_keyring.entries == {
        (SERVICE_NAME, "vendor:default"): VENDOR_KEY,
        (SERVICE_NAME, "partner:Contoso Managed Services"): PARTNER_KEY,
    }
    assert SERVICE_NAME == "gradient-desktop"


def test_missing_keys_read_as_none_and_delete_reports_absence(store: SecretStore) -> None:
    assert store.get_vendor_key("nobody") is None
    assert store.delete_partner_key("nobody") is False
    store.set_partner_key("Fabrikam", PARTNER_KEY)
    assert store.delete_partner_key("Fabrikam") is True
    assert store.get_partner_key("Fabrikam") is None
    store.set_vendor_key("default", VENDOR_KEY)
    assert store.delete_vendor_key("default") is True
    assert store.get_vendor_key("default") is None


def test_overwriting_a_key_replaces_it(store: SecretStore) -> None:
    store.set_vendor_key("default", VENDOR_KEY)
    store.set_vendor_key("default", VENDOR_KEY + "-rotated")
    assert store.get_vendor_key("default") == VENDOR_KEY + "-rotated"


def test_renaming_a_partner_moves_its_key(store: SecretStore) -> None:
    store.set_partner_key("Contoso", PARTNER_KEY)
    store.rename_partner("Contoso", "Contoso MSP")
    assert store.get_partner_key("Contoso") is None
    assert store.get_partner_key("Contoso MSP") == PARTNER_KEY


def test_empty_keys_and_names_are_refused(store: SecretStore) -> None:
    with pytest.raises(ValueError):
        store.set_vendor_key("default", "  ")
    with pytest.raises(ValueError):
        store.get_partner_key("")


def test_keys_read_or_written_are_masked_in_logs(store: SecretStore) -> None:
    store.set_vendor_key("default", VENDOR_KEY)
    assert redact(f"key={VENDOR_KEY}") == "key=[redacted]"
    clear_secrets()
    store.get_vendor_key("default")
    assert VENDOR_KEY not in redact(f"loaded {VENDOR_KEY}")


def test_check_backend_passes_with_a_working_keyring(store: SecretStore) -> None:
    store.check_backend()
    assert store.backend_name().endswith("MemoryKeyring")


def test_fail_keyring_raises_keyring_unavailable_with_instructions(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.platform", "linux")
    keyring.set_keyring(keyring.backends.fail.Keyring())
    store = SecretStore()
    with pytest.raises(KeyringUnavailable) as info:
        store.check_backend()
    message = str(info.value)
    for needle in (
        "gnome-keyring",
        "KeePassXC",
        "dbus-run-session",
        "GRADIENT_VENDOR_KEY",
        "GRADIENT_PARTNER_KEY",
    ):
        assert needle in message
    # No plaintext fallback: every operation refuses, and nothing lands on disk.
    with pytest.raises(KeyringUnavailable):
        store.set_vendor_key("default", VENDOR_KEY)
    with pytest.raises(KeyringUnavailable):
        store.get_partner_key("Contoso")
    with pytest.raises(KeyringUnavailable):
        store.delete_partner_key("Contoso")
    for path in isolated_home.rglob("*"):
        assert not path.is_file() or VENDOR_KEY not in path.read_text(errors="ignore")


def test_chainer_without_backends_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    # keyring's chainer silently returns None / drops writes when it chains nothing.
    monkeypatch.setattr(keyring.backend, "_limit", lambda kr: False)
    keyring.set_keyring(keyring.backends.chainer.ChainerBackend())
    with pytest.raises(KeyringUnavailable, match="no backend"):
        SecretStore().check_backend()


def test_chainer_with_a_backend_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring.backend, "_limit", lambda kr: isinstance(kr, MemoryKeyring))
    keyring.set_keyring(keyring.backends.chainer.ChainerBackend())
    SecretStore().check_backend()


def test_no_keyring_error_from_a_backend_becomes_keyring_unavailable() -> None:
    class NoBackend(MemoryKeyring):
        priority = -1  # type: ignore[assignment]

        def get_password(self, service: str, username: str) -> str | None:
            raise keyring.errors.NoKeyringError("No recommended backend was available.")

    with pytest.raises(KeyringUnavailable, match="GRADIENT_VENDOR_KEY"):
        SecretStore(backend=NoBackend()).check_backend()


def test_locked_keyring_is_unavailable_with_instructions() -> None:
    store = SecretStore(backend=LockedKeyring())
    with pytest.raises(KeyringUnavailable, match="locked") as info:
        store.get_vendor_key("default")
    assert "GRADIENT_PARTNER_KEY" in str(info.value)


def test_backend_transport_errors_never_quote_the_key() -> None:
    store = SecretStore(backend=BrokenKeyring())
    with pytest.raises(KeyringUnavailable) as info:
        store.set_vendor_key("default", VENDOR_KEY)
    assert VENDOR_KEY not in str(info.value)
    assert "ConnectionError" in str(info.value)


def test_other_keyring_refusals_are_secret_store_errors() -> None:
    class Refusing(MemoryKeyring):
        priority = -1  # type: ignore[assignment]

        def set_password(self, service: str, username: str, password: str) -> None:
            raise keyring.errors.PasswordSetError("user declined")

    with pytest.raises(SecretStoreError, match="refused") as info:
        SecretStore(backend=Refusing()).set_partner_key("Contoso", PARTNER_KEY)
    assert not isinstance(info.value, KeyringUnavailable)


@pytest.mark.parametrize(
    ("platform", "needle"),
    [("win32", "Credential Manager"), ("darwin", "Keychain"), ("linux", "Secret Service")],
)
def test_instructions_name_the_platform_keyring(platform: str, needle: str) -> None:
    text = keyring_instructions(platform)
    assert needle in text
    assert "GRADIENT_VENDOR_KEY" in text and "GRADIENT_PARTNER_KEY" in text
