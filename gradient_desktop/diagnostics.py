"""What this installation is made of, and whether its parts load: versions for the About dialog
and bug reports, and the checks behind ``gradient-desktop selfcheck``.

Imports no Qt (the GUI adds Qt's versions itself). The checks exist for frozen builds: PyInstaller
bundles can lose keyring's backend entry points (jaraco/keyring#324) or the app's resources, and
neither shows until a user tries to save a key, so the installer's smoke test runs them.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path

from gradient_desktop import __version__

#: The keyring backend each OS needs, as "module:Class"; it must be importable and registered.
PLATFORM_BACKENDS = {
    "linux": "keyring.backends.SecretService:Keyring",
    "win32": "keyring.backends.Windows:WinVaultKeyring",
    "darwin": "keyring.backends.macOS:Keyring",
}
#: Name of the probe entry written and deleted by ``keyring_roundtrip``.
PROBE_USERNAME = "probe:selfcheck"


def frozen() -> bool:
    """True inside a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False))


def resources_dir() -> Path | None:
    """The ``resources/`` folder: inside the bundle when frozen, the source checkout's, or the
    copy a wheel installs under ``<prefix>/share/gradient-desktop`` (pyproject's data-files)."""
    bases = [Path(getattr(sys, "_MEIPASS", "")) / "resources"] if frozen() else []
    bases.append(Path(__file__).resolve().parents[1] / "resources")
    bases.append(Path(sys.prefix) / "share" / "gradient-desktop")
    return next((b for b in bases if (b / "icons").is_dir()), None)


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        module = sys.modules.get(name) or _try_import(name)
        return str(getattr(module, "__version__", "unknown"))


def _try_import(name: str) -> object | None:
    try:
        return importlib.import_module(name)
    except Exception:
        return None


def keyring_backend_name() -> str:
    """The configured keyring backend as ``module.Class`` (resolving it loads the plugins)."""
    import keyring

    backend = keyring.get_keyring()
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def versions() -> dict[str, str]:
    """Ordered name -> version of the parts a bug report needs (Qt's are added by the GUI)."""
    return {
        "Gradient Desktop": __version__ + (" (installed bundle)" if frozen() else ""),
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "httpx": _dist_version("httpx"),
        "keyring": _dist_version("keyring"),
        "Keyring backend": keyring_backend_name(),
        "Operating system": f"{platform.system()} {platform.release()} ({platform.machine()})",
    }


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class SelfCheck:
    checks: list[Check] = field(default_factory=list)
    #: Whether keys can be stored here (the bundle may be whole on a machine without one).
    keyring_usable: bool = False

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))

    def lines(self) -> list[str]:
        return [f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}" for c in self.checks]


def _check_keyring_backends(report: SelfCheck) -> None:
    import keyring.backend

    entry_points = sorted(
        ep.name for ep in importlib.metadata.entry_points(group="keyring.backends")
    )
    report.add(
        "keyring entry points",
        bool(entry_points),
        ", ".join(entry_points) or "none found: keyring's metadata is missing from the bundle",
    )
    keyring.backend.get_all_keyring()  # loads the plugins named by those entry points
    registered = {f"{c.__module__}:{c.__name__}" for c in keyring.backend.KeyringBackend._classes}
    wanted = next((v for k, v in PLATFORM_BACKENDS.items() if sys.platform.startswith(k)), None)
    if wanted is not None:
        report.add(
            "platform keyring backend",
            wanted in registered,
            f"{wanted} {'loaded' if wanted in registered else 'NOT loaded (missing from the bundle)'}",
        )
    from gradient_desktop.secrets import SecretStore, SecretStoreError

    store = SecretStore()
    try:
        store.check_backend()
        usable = "usable"
        report.keyring_usable = True
    except SecretStoreError as exc:
        # No Secret Service on a headless machine is the machine's state, not a broken bundle.
        usable = f"not usable here ({str(exc).split(':', 1)[-1].split('.')[0].strip()})"
    report.add("keyring backend in use", True, f"{store.backend_name()}, {usable}")


def _check_trust_store(report: SelfCheck) -> None:
    """HTTPS trusts the OS certificate store (a company CA included): truststore must load."""
    try:
        from gradient_desktop.api.transport import system_ssl_context

        ctx = system_ssl_context()
        report.add("TLS trust store", True, f"operating system ({type(ctx).__module__})")
    except Exception as exc:
        report.add("TLS trust store", False, f"{type(exc).__name__}: {exc}")


def keyring_roundtrip(report: SelfCheck) -> None:
    """Write, read back and delete a probe entry in the real keyring."""
    import keyring

    from gradient_desktop.secrets import SERVICE_NAME, SecretStoreError

    value = "selfcheck-probe-value"
    try:
        keyring.set_password(SERVICE_NAME, PROBE_USERNAME, value)
        read = keyring.get_password(SERVICE_NAME, PROBE_USERNAME)
        keyring.delete_password(SERVICE_NAME, PROBE_USERNAME)
        ok = read == value
        detail = "set, read back and deleted a probe entry" if ok else "read back a different value"
    except (SecretStoreError, keyring.errors.KeyringError) as exc:
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    report.add("keyring round trip", ok, detail)


def run_selfcheck(*, keyring_write: bool = False) -> SelfCheck:
    """Check that the parts a frozen build can lose are present and load."""
    report = SelfCheck()
    report.add(
        "version", True, f"gradient-desktop {__version__}, Python {platform.python_version()}"
    )
    res = resources_dir()
    icon = res / "icons" / "gradient-desktop.png" if res else None
    report.add(
        "resources",
        bool(icon and icon.is_file()),
        str(icon) if icon and icon.is_file() else "resources/icons/gradient-desktop.png not found",
    )
    for module in (
        "gradient_desktop.sandbox.app",  # Starlette app of the embedded sandbox
        "uvicorn.protocols.http.h11_impl",  # loaded by name at run time: easy to lose
        "sqlite3",
        "gradient_desktop.store.db",
    ):
        try:
            importlib.import_module(module)
            report.add(f"import {module}", True, "loads")
        except Exception as exc:
            report.add(f"import {module}", False, f"{type(exc).__name__}: {exc}")
    _check_keyring_backends(report)
    _check_trust_store(report)
    if keyring_write:
        keyring_roundtrip(report)
    return report
