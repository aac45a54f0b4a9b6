"""Where Gradient Desktop keeps its files, and the user's non-secret settings.

Paths come from platformdirs; ``GRADIENT_DESKTOP_HOME`` moves all of them under one folder
(``data/``, ``logs/``, ``config/``), which is how tests and the demo mode stay out of the user's
real profile. ``Settings`` is a small JSON file: keys and tokens live in the OS keyring
(``secrets.py``), never here, and ``Settings.save`` refuses any field that looks like one.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

import platformdirs

log = logging.getLogger(__name__)

APP_NAME = "gradient-desktop"
HOME_ENV = "GRADIENT_DESKTOP_HOME"
DB_FILENAME = "gradient-desktop.sqlite3"
LOCK_FILENAME = "gradient-desktop.lock"
SETTINGS_FILENAME = "settings.json"

THEMES = ("system", "light", "dark")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: How the API client finds its proxy: the OS/environment settings, none, or ``proxy_url``.
PROXY_MODES = ("system", "none", "manual")

# A settings field whose *name* contains one of these is assumed to hold a credential.
_SECRET_NAME = re.compile(r"key|token|secret|password", re.IGNORECASE)


def _home() -> Path | None:
    value = os.environ.get(HOME_ENV, "").strip()
    return Path(value).expanduser() if value else None


def _ensure(path: Path, ensure: bool) -> Path:
    if ensure:
        path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir(ensure: bool = True) -> Path:
    """Folder for the database and the single-instance lock."""
    home = _home()
    path = home / "data" if home else platformdirs.user_data_path(APP_NAME, appauthor=False)
    return _ensure(path, ensure)


def log_dir(ensure: bool = True) -> Path:
    """Folder for the rotating log files."""
    home = _home()
    path = home / "logs" if home else platformdirs.user_log_path(APP_NAME, appauthor=False)
    return _ensure(path, ensure)


def config_dir(ensure: bool = True) -> Path:
    """Folder for ``settings.json``."""
    home = _home()
    path = home / "config" if home else platformdirs.user_config_path(APP_NAME, appauthor=False)
    return _ensure(path, ensure)


def database_path() -> Path:
    return data_dir() / DB_FILENAME


def lock_path() -> Path:
    return data_dir() / LOCK_FILENAME


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILENAME


class SecretInSettingsError(ValueError):
    """A settings field looks like a credential; credentials belong in the keyring."""


@dataclass
class Settings:
    """User preferences persisted as JSON in ``config_dir()``. Never holds a secret."""

    #: Requests in flight per push; 0 = automatic (from the latency, api/ratelimit.py).
    default_concurrency: int = 0
    timeout_s: float = 30.0
    log_level: str = "INFO"
    theme: str = "system"
    last_partner: str | None = None
    first_run_done: bool = False
    proxy_mode: str = "system"
    #: Only used when ``proxy_mode`` is "manual"; never holds a user name or password.
    proxy_url: str = ""
    #: Days to keep the automatic database copies made after each push (store/backups.py).
    backup_keep_days: int = 14

    MAX_CONCURRENCY: ClassVar[int] = 100

    def __post_init__(self) -> None:
        self._check_no_secret_fields()

    @classmethod
    def _check_no_secret_fields(cls) -> None:
        bad = [f.name for f in fields(cls) if _SECRET_NAME.search(f.name)]
        if bad:
            raise SecretInSettingsError(
                f"Settings field(s) {', '.join(bad)} look like credentials. Keys and tokens "
                "belong in the OS keyring (gradient_desktop.secrets), not in settings.json."
            )

    def validated(self) -> Settings:
        """A copy with out-of-range values replaced by defaults (hand-edited files happen)."""
        default = type(self)()
        out = dataclasses.replace(self)
        try:
            out.default_concurrency = int(out.default_concurrency)
        except (TypeError, ValueError):
            out.default_concurrency = default.default_concurrency
        if not 0 <= out.default_concurrency <= self.MAX_CONCURRENCY:
            out.default_concurrency = default.default_concurrency
        try:
            out.timeout_s = float(out.timeout_s)
        except (TypeError, ValueError):
            out.timeout_s = default.timeout_s
        if not 1.0 <= out.timeout_s <= 600.0:
            out.timeout_s = default.timeout_s
        level = str(out.log_level).upper()
        out.log_level = level if level in LOG_LEVELS else default.log_level
        out.theme = out.theme if out.theme in THEMES else default.theme
        if out.last_partner is not None and not isinstance(out.last_partner, str):
            out.last_partner = None
        out.first_run_done = bool(out.first_run_done)
        out.proxy_mode = out.proxy_mode if out.proxy_mode in PROXY_MODES else default.proxy_mode
        out.proxy_url = out.proxy_url.strip() if isinstance(out.proxy_url, str) else ""
        if not isinstance(out.backup_keep_days, int) or not 0 <= out.backup_keep_days <= 3650:
            out.backup_keep_days = default.backup_keep_days
        return out

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        """Read settings; a missing or unreadable file gives defaults (logged, not raised)."""
        path = path or settings_path()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("Ignoring unreadable settings file %s (%s); using defaults", path, exc)
            return cls()
        if not isinstance(raw, dict):
            log.warning("Ignoring settings file %s: not a JSON object", path)
            return cls()
        known = {f.name for f in fields(cls)}
        # Unknown keys (from a newer version, or hand-edited) are dropped rather than failing,
        # and a secret-looking key is never read back even if someone put one there.
        values = {k: v for k, v in raw.items() if k in known and not _SECRET_NAME.search(k)}
        return cls(**values).validated()

    def save(self, path: Path | None = None) -> Path:
        """Write atomically (temp file + rename) so a crash never leaves half a file."""
        self._check_no_secret_fields()
        path = path or settings_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(self.validated().to_dict(), indent=2, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path
