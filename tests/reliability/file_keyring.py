"""A keyring backend shared by the test process and CLI subprocesses: a JSON file in a temp dir.

For tests only (the app never stores keys in a file). Selected in a child process with
``PYTHON_KEYRING_BACKEND=tests.reliability.file_keyring.FileKeyring`` and the file named by
``GD_TEST_KEYRING_FILE``. Writes are atomic (temp file + rename) so a SIGKILL mid-write cannot
leave half a file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

ENV_FILE = "GD_TEST_KEYRING_FILE"
BACKEND = "tests.reliability.file_keyring.FileKeyring"


class FileKeyring(KeyringBackend):
    """``{"service\\0username": password}`` in the file named by ``GD_TEST_KEYRING_FILE``."""

    priority = 1  # type: ignore[assignment]  # only ever selected explicitly

    @property
    def path(self) -> Path:
        return Path(os.environ[ENV_FILE])

    def _load(self) -> dict[str, str]:
        try:
            return dict(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return {}

    def _save(self, data: dict[str, str]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".keyring-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, self.path)

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\0{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}\0{username}"] = password
        self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}\0{username}", None) is None:
            raise PasswordDeleteError(f"No entry for {username!r}")
        self._save(data)
