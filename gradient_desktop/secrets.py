"""Vendor and partner keys in the operating system's keyring, and nowhere else.

Entries live under the service name ``gradient-desktop`` with usernames ``vendor:<profile>``
and ``partner:<partner name>``. There is deliberately no plaintext fallback: when no usable
keyring exists, every call raises ``KeyringUnavailable`` with what to do on this OS (the CLI
can run unattended with ``GRADIENT_VENDOR_KEY`` / ``GRADIENT_PARTNER_KEY`` instead). Every key
read or written is registered with the log redactor so it can never reach a log file.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import keyring
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
from keyring.backend import KeyringBackend

from gradient_desktop.logsetup import register_secret

SERVICE_NAME = "gradient-desktop"
VENDOR_PREFIX = "vendor:"
PARTNER_PREFIX = "partner:"
SOURCE_PREFIX = "source:"
# Looked up by check_backend: reading a name nobody stores proves the backend answers without
# creating anything in the user's keyring.
_PROBE_USERNAME = "probe:check-backend"

T = TypeVar("T")


class SecretStoreError(RuntimeError):
    """The keyring answered, but refused the operation (e.g. the user denied access)."""


class KeyringUnavailable(SecretStoreError):
    """No usable keyring backend; the message says how to get one on this OS."""


def keyring_instructions(platform: str | None = None) -> str:
    """What the user can do to get a working keyring, for ``platform`` (``sys.platform``)."""
    platform = platform or sys.platform
    if platform.startswith("win"):
        fix = (
            "On Windows the Credential Manager is used: make sure you are logged in to a normal "
            "user session (not a service account without a profile) and that the 'Credential "
            "Manager' service is running."
        )
    elif platform == "darwin":
        fix = (
            "On macOS the login Keychain is used: open 'Keychain Access', make sure the login "
            "keychain exists and is unlocked, and allow Gradient Desktop when asked."
        )
    else:
        fix = (
            "On Linux a Secret Service provider is needed: install and unlock one such as "
            "gnome-keyring (package 'gnome-keyring') or KeePassXC with Secret Service "
            "integration enabled. Without a desktop session, start the app under "
            "'dbus-run-session' with 'gnome-keyring-daemon --unlock'."
        )
    return (
        f"{fix} For scheduled or headless runs, use the command line instead and pass the keys "
        "in the GRADIENT_VENDOR_KEY and GRADIENT_PARTNER_KEY environment variables. Gradient "
        "Desktop never stores keys in a plain file."
    )


def _unavailable(reason: str) -> KeyringUnavailable:
    return KeyringUnavailable(
        f"No secure key storage (system keyring) is available: {reason}. " + keyring_instructions()
    )


def _describe(backend: KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def unusable_reason(backend: KeyringBackend) -> str | None:
    """Why ``backend`` cannot store anything, or None when it looks usable."""
    if isinstance(backend, keyring.backends.fail.Keyring):
        return "the keyring library found no backend on this system"
    # The chainer is keyring's pick when several backends exist; with none behind it, it
    # silently returns None for every read and drops every write.
    if isinstance(backend, keyring.backends.chainer.ChainerBackend) and not backend.backends:
        return "the keyring library found no backend on this system"
    if isinstance(backend, keyring.backends.null.Keyring):
        return "the keyring is disabled (null backend configured)"
    return None


class SecretStore:
    """Get, set and delete the app's keys in one keyring backend (the configured one by default)."""

    def __init__(self, service: str = SERVICE_NAME, backend: KeyringBackend | None = None) -> None:
        self.service = service
        self._backend = backend

    @property
    def backend(self) -> KeyringBackend:
        # Resolved per call so a keyring.set_keyring() after construction (tests, the
        # installer's smoke test) is honoured.
        return self._backend if self._backend is not None else keyring.get_keyring()

    def backend_name(self) -> str:
        return _describe(self.backend)

    def check_backend(self) -> None:
        """Raise ``KeyringUnavailable`` unless the keyring can actually be used right now."""
        backend = self.backend
        reason = unusable_reason(backend)
        if reason:
            raise _unavailable(reason)
        self._call(lambda: backend.get_password(self.service, _PROBE_USERNAME))

    # -- vendor keys -------------------------------------------------------------------------

    def set_vendor_key(self, profile: str, key: str) -> None:
        self._set(VENDOR_PREFIX + _name(profile, "profile"), key)

    def get_vendor_key(self, profile: str) -> str | None:
        return self._get(VENDOR_PREFIX + _name(profile, "profile"))

    def delete_vendor_key(self, profile: str) -> bool:
        """Remove the key; False when there was none."""
        return self._delete(VENDOR_PREFIX + _name(profile, "profile"))

    # -- partner keys ------------------------------------------------------------------------

    def set_partner_key(self, partner: str, key: str) -> None:
        self._set(PARTNER_PREFIX + _name(partner, "partner"), key)

    def get_partner_key(self, partner: str) -> str | None:
        return self._get(PARTNER_PREFIX + _name(partner, "partner"))

    def delete_partner_key(self, partner: str) -> bool:
        """Remove the key; False when there was none."""
        return self._delete(PARTNER_PREFIX + _name(partner, "partner"))

    def rename_partner(self, old: str, new: str) -> None:
        """Move a partner's key when the partner is renamed (the name is the keyring username)."""
        key = self.get_partner_key(old)
        if key is None:
            return
        self.set_partner_key(new, key)
        self.delete_partner_key(old)

    # -- usage-source secrets (database passwords, HTTP tokens) ----------------------------

    def set_source_secret(self, source: str, secret: str) -> None:
        self._set(SOURCE_PREFIX + _name(source, "source"), secret)

    def get_source_secret(self, source: str) -> str | None:
        return self._get(SOURCE_PREFIX + _name(source, "source"))

    def delete_source_secret(self, source: str) -> bool:
        """Remove the secret; False when there was none."""
        return self._delete(SOURCE_PREFIX + _name(source, "source"))

    # -- plumbing ----------------------------------------------------------------------------

    def _set(self, username: str, secret: str) -> None:
        if not secret or not secret.strip():
            raise ValueError("Refusing to store an empty key.")
        register_secret(secret)
        backend = self._usable_backend()
        self._call(lambda: backend.set_password(self.service, username, secret))

    def _get(self, username: str) -> str | None:
        backend = self._usable_backend()
        secret = self._call(lambda: backend.get_password(self.service, username))
        register_secret(secret)
        return secret

    def _delete(self, username: str) -> bool:
        backend = self._usable_backend()
        try:
            self._call(lambda: backend.delete_password(self.service, username))
        except SecretStoreError as exc:
            if isinstance(exc.__cause__, keyring.errors.PasswordDeleteError):
                return False  # nothing stored under that name: the goal is already met
            raise
        return True

    def _usable_backend(self) -> KeyringBackend:
        backend = self.backend
        reason = unusable_reason(backend)
        if reason:
            raise _unavailable(reason)
        return backend

    def _call(self, op: Callable[[], T]) -> T:
        try:
            return op()
        except (keyring.errors.NoKeyringError, keyring.errors.InitError) as exc:
            raise _unavailable(str(exc) or type(exc).__name__) from exc
        except keyring.errors.KeyringLocked as exc:
            raise _unavailable("the keyring is locked") from exc
        except keyring.errors.KeyringError as exc:
            raise SecretStoreError(
                f"The system keyring ({self.backend_name()}) refused the operation: "
                f"{exc or type(exc).__name__}."
            ) from exc
        except Exception as exc:
            # Backends surface D-Bus / OS errors as their own types (e.g. the Secret Service
            # daemon went away). Only the type is quoted: the text is the backend's and we
            # will not risk it echoing anything sensitive.
            raise _unavailable(
                f"the keyring backend {self.backend_name()} failed ({type(exc).__name__})"
            ) from exc


def _name(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValueError(f"A {what} name is needed to look up its key.")
    return value
