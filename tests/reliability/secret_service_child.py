"""Run inside ``dbus-run-session`` with an unlocked gnome-keyring (see test_secret_service.py).

Exercises ``gradient_desktop.secrets.SecretStore`` against the real Secret Service: the default
backend keyring picks, a set/get/overwrite/rename/delete round trip, and the CLI storing a key
(checked from outside with ``secret-tool``). Prints one JSON object; exit code 0 on success.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keyring
from keyring.backends import SecretService

from gradient_desktop.secrets import PARTNER_PREFIX as SERVICE_PREFIX
from gradient_desktop.secrets import SERVICE_NAME, SecretStore
from gradient_desktop.services.keys import partner_slot

VENDOR_KEY = "vk-SECRETSERVICE-4hQ9zLm2Xw"
PARTNER_KEY = "pk-SECRETSERVICE-8tR3vBn6Yc"


def secret_tool(*args: str) -> str:
    done = subprocess.run(["secret-tool", *args], capture_output=True, text=True, timeout=30)
    return done.stdout.strip()


def main() -> int:
    out: dict[str, object] = {}
    default = keyring.get_keyring()
    out["default_backend"] = f"{type(default).__module__}.{type(default).__qualname__}"
    store = SecretStore()  # the app's default path: whatever keyring resolves
    store.check_backend()
    explicit = SecretStore(backend=SecretService.Keyring())

    store.set_vendor_key("Northwind", VENDOR_KEY)
    store.set_partner_key("Contoso", PARTNER_KEY)
    out["read_back"] = [explicit.get_vendor_key("Northwind"), explicit.get_partner_key("Contoso")]
    out["seen_by_secret_tool"] = secret_tool(
        "lookup", "service", SERVICE_NAME, "username", "partner:Contoso"
    )
    store.set_partner_key("Contoso", PARTNER_KEY + "-v2")
    out["overwritten"] = store.get_partner_key("Contoso")
    store.rename_partner("Contoso", "Contoso Ltd")
    out["renamed"] = [store.get_partner_key("Contoso"), store.get_partner_key("Contoso Ltd")]
    out["deleted"] = [
        store.delete_partner_key("Contoso Ltd"),
        store.delete_partner_key("Contoso Ltd"),
    ]
    out["after_delete"] = store.get_partner_key("Contoso Ltd")
    store.delete_vendor_key("Northwind")

    # The CLI end to end: `partner add` puts the keys in the Secret Service, `remove` takes
    # them out again.
    env = {**os.environ, "GRADIENT_VENDOR_KEY": VENDOR_KEY, "GRADIENT_PARTNER_KEY": PARTNER_KEY}
    add = subprocess.run(
        [
            sys.executable,
            "-m",
            "gradient_desktop",
            "partner",
            "add",
            "Fabrikam",
            "--base-url",
            "http://127.0.0.1:9",
            "--profile",
            "Northwind",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out["cli_add"] = [add.returncode, add.stderr.strip()[-300:]]
    # Keyring entries are keyed by the partner's stable id, not its name (services/keys.py):
    # the first partner of this fresh data folder.
    slot = SERVICE_PREFIX + partner_slot(1)
    out["cli_key_in_keyring"] = secret_tool("lookup", "service", SERVICE_NAME, "username", slot)
    remove = subprocess.run(
        [sys.executable, "-m", "gradient_desktop", "partner", "remove", "Fabrikam"],
        env={
            k: v
            for k, v in env.items()
            if not k.startswith("GRADIENT_") or k == "GRADIENT_DESKTOP_HOME"
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    out["cli_remove"] = remove.returncode
    out["cli_key_after_remove"] = secret_tool("lookup", "service", SERVICE_NAME, "username", slot)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
