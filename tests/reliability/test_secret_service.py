"""A real Secret Service backend, not only the in-memory keyring: gnome-keyring under
``dbus-run-session`` (Debian packages ``dbus``, ``gnome-keyring``, ``libsecret-tools``;
``scripts/test.sh`` installs them when it runs as root).

Skipped, with the reason, when those programs are missing. ``secretstorage`` and ``jeepney``
(keyring's Secret Service backend on Linux) must import in any case: without them keyring
silently has no Linux backend at all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("secret_service_child.py")


def test_the_secret_service_backend_libraries_are_installed() -> None:
    import jeepney  # noqa: F401
    import secretstorage  # noqa: F401
    from keyring.backends import SecretService

    assert SecretService.Keyring is not None


def _missing() -> str | None:
    if not sys.platform.startswith("linux"):
        return "the Secret Service is the Linux keyring"
    need = ("dbus-run-session", "gnome-keyring-daemon", "secret-tool")
    missing = [tool for tool in need if shutil.which(tool) is None]
    if missing:
        return (
            f"{', '.join(missing)} not installed (apt-get install dbus dbus-x11 gnome-keyring "
            "libsecret-tools; scripts/test.sh does it as root)"
        )
    return None


@pytest.mark.slow
@pytest.mark.skipif(_missing() is not None, reason=_missing() or "")
def test_keys_round_trip_through_a_real_gnome_keyring(tmp_path: Path) -> None:
    home = tmp_path / "user"
    runtime = tmp_path / "run"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),  # gnome-keyring keeps its files here, not in the real home
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "GRADIENT_DESKTOP_HOME": str(tmp_path / "gd"),
        "PYTHONPATH": str(REPO),
        "LANG": "C.UTF-8",
    }
    script = (
        "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 97; "
        f"exec '{sys.executable}' '{CHILD}'"
    )
    done = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert done.returncode == 0, f"rc {done.returncode}\n{done.stdout}\n{done.stderr}"
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert "SecretService" in result["default_backend"], result  # picked without any config
    assert result["read_back"] == ["vk-SECRETSERVICE-4hQ9zLm2Xw", "pk-SECRETSERVICE-8tR3vBn6Yc"]
    assert result["seen_by_secret_tool"] == "pk-SECRETSERVICE-8tR3vBn6Yc"
    assert result["overwritten"] == "pk-SECRETSERVICE-8tR3vBn6Yc-v2"
    assert result["renamed"] == [None, "pk-SECRETSERVICE-8tR3vBn6Yc-v2"]
    assert result["deleted"] == [True, False] and result["after_delete"] is None
    assert result["cli_add"][0] == 0, result["cli_add"]
    assert result["cli_key_in_keyring"] == "pk-SECRETSERVICE-8tR3vBn6Yc"
    assert result["cli_remove"] == 0 and result["cli_key_after_remove"] == ""
    # gnome-keyring's own files hold the keys encrypted; nothing else got a copy.
    for path in [*home.rglob("*"), *(tmp_path / "gd").rglob("*")]:
        if path.is_file():
            data = path.read_bytes()
            assert b"SECRETSERVICE" not in data, f"a key in plain text in {path}"
