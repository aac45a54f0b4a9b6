"""An in-memory keyring backend for tests: real get/set/delete semantics, nothing on disk.

Register it with ``keyring.set_keyring(MemoryKeyring())``. Defining the class registers it
with keyring's backend registry, so its priority is high enough to win over anything else a
test machine might have, but tests should still set it explicitly.
"""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """Dict-backed keyring keyed by (service, username)."""

    priority = 50  # type: ignore[assignment]  # class attribute instead of keyring's classproperty

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise PasswordDeleteError(f"No entry for {username!r} in {service!r}") from None
