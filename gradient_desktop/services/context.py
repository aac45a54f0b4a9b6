"""The application context: one explicit object owning the database, outbox, settings, secrets,
the embedded demo sandbox and one API client per partner. Services, the CLI and the UI receive
it instead of reaching for module globals (git-cola's ``ApplicationContext``).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from gradient_desktop.api import ClientOptions, Credentials, ProxyChoice, VendorApiClient
from gradient_desktop.config import Settings, database_path
from gradient_desktop.secrets import SecretStore
from gradient_desktop.services.keys import KeyDoor, MissingKeyError  # noqa: F401 (re-exported)
from gradient_desktop.store import Database, Outbox, open_database
from gradient_desktop.store.models import Partner, VendorProfile

log = logging.getLogger(__name__)

#: Base URL stored for demo profiles and partners: resolved to the embedded sandbox at run time,
#: whose port changes from run to run.
SANDBOX_URL = "sandbox://demo"
DEMO_PROFILE = "Demo vendor (sandbox)"
#: File (in the data folder) holding the demo sandbox between runs.
DEMO_SNAPSHOT = "demo-sandbox.json"


@dataclass
class DemoEnvironment:
    """The embedded Gradient sandbox behind demo mode, started on first use.

    Demo keys are the sandbox's public seed keys; they live here, never in the user's keyring.
    A reconnect in the demo gets a new partner key from the sandbox, kept here too.

    The sandbox would start fresh on every run, which would break "a half-finished setup resumes
    after a restart" and "mappings survive a restart" in the demo: so its state and the demo
    partner keys are written to a JSON snapshot (``save()``: after each setup step and on close)
    and read back when it starts. ``persist=False`` keeps a run in memory only.
    """

    latency_ms: float = 60.0
    partner_keys: dict[str, str] = field(default_factory=dict)
    persist: bool = True
    snapshot_path: Path | None = None
    _server: object | None = None

    def path(self) -> Path:
        if self.snapshot_path is not None:
            return self.snapshot_path
        from gradient_desktop.config import data_dir

        return data_dir() / DEMO_SNAPSHOT

    def _load_snapshot(self) -> object | None:
        """A SandboxState restored from the snapshot file, or None (missing or unreadable)."""
        if not self.persist:
            return None
        path = self.path()
        if not path.exists():
            return None
        from gradient_desktop.sandbox.state import SandboxState

        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            state = SandboxState()
            state.restore(data["sandbox"])
            keys = data.get("partnerKeys", {})
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("demo sandbox snapshot %s ignored (%s); starting fresh", path, exc)
            return None
        # The snapshot knows the keys the sandbox it holds accepts (a reconnect's new key).
        self.partner_keys.update({str(name): str(key) for name, key in keys.items()})
        return state

    def ensure_started(self) -> str:
        if self._server is None:
            from gradient_desktop.sandbox.server import SandboxOptions, SandboxServer

            # A little latency so progress bars and busy indicators behave as they would
            # against Gradient; rate limit as documented.
            server = SandboxServer(
                SandboxOptions(seed="demo", latency_ms=self.latency_ms),
                state=self._load_snapshot(),  # type: ignore[arg-type]
            )
            server.start()
            self._server = server
            log.info("demo sandbox listening on %s", server.base_url)
        return self._server.base_url  # type: ignore[attr-defined]

    def save(self) -> Path | None:
        """Write the sandbox state and demo keys (atomically); None when nothing to save."""
        if not self.persist or self._server is None:
            return None
        path = self.path()
        data = {
            "sandbox": self._server.state.snapshot(),  # type: ignore[attr-defined]
            "partnerKeys": dict(self.partner_keys),
        }
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(data), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("demo sandbox snapshot not saved: %s", exc)
            return None
        return path

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def state(self):
        self.ensure_started()
        return self._server.state  # type: ignore[attr-defined]

    @property
    def vendor_key(self) -> str:
        from gradient_desktop.sandbox.seed import VENDOR_KEY

        return VENDOR_KEY

    def partner_key(self, partner_name: str) -> str:
        from gradient_desktop.sandbox.seed import PARTNER_DEMO

        if self.persist:
            self.ensure_started()  # the snapshot may hold this partner's current key
        return self.partner_keys.get(partner_name, PARTNER_DEMO)

    def stop(self) -> None:
        if self._server is not None:
            self.save()
            self._server.stop()  # type: ignore[attr-defined]
            self._server = None


class AppContext:
    """Everything a workflow needs, opened once per process."""

    def __init__(
        self,
        db: Database,
        *,
        settings: Settings | None = None,
        secrets: SecretStore | None = None,
        demo: DemoEnvironment | None = None,
    ) -> None:
        self.db = db
        self.outbox = Outbox(db)
        self.settings = settings or Settings.load()
        self.secrets = secrets or SecretStore()
        self.demo = demo or DemoEnvironment()
        self._clients: dict[tuple[int, str, tuple[float, str, str]], VendorApiClient] = {}
        #: The one door for keys (services/keys.py): keyring or demo keys, per partner.
        self.keys = KeyDoor(self)
        from gradient_desktop.services.state import StateHub

        #: The one source of truth every screen renders from (services/state.py).
        self.state = StateHub(self)

    @classmethod
    def open(cls, db_path: Path | None = None, *, start_fresh: bool = False) -> AppContext:
        return cls(open_database(db_path or database_path(), start_fresh=start_fresh))

    # -- addresses and keys ---------------------------------------------------------------------

    def is_demo_url(self, url: str) -> bool:
        return url.startswith("sandbox://")

    def resolve_base_url(self, url: str) -> str:
        return self.demo.ensure_started() if self.is_demo_url(url) else url

    def client_options(self, base_url: str) -> ClientOptions:
        timeout = float(self.settings.timeout_s)
        proxy = proxy_choice(self.settings)
        return ClientOptions(connect_timeout=timeout, read_timeout=timeout, proxy=proxy)

    def vendor_key(self, profile: VendorProfile) -> str:
        return self.keys.vendor_key(profile)

    def partner_key(self, partner: Partner) -> str:
        return self.keys.partner_key(partner)

    def credentials(self, profile: VendorProfile, partner: Partner) -> Credentials:
        return self.keys.credentials(profile, partner)

    def profile_of(self, partner: Partner) -> VendorProfile:
        with self.db.session() as s:
            profile = s.get(VendorProfile, partner.vendor_profile_id)
        if profile is None:
            raise LookupError(f"The vendor profile of {partner.name!r} no longer exists.")
        return profile

    # -- clients ----------------------------------------------------------------------------------

    def client_for(self, partner: Partner) -> VendorApiClient:
        """The long-lived API client of this partner (one httpx pool per token)."""
        creds = self.credentials(self.profile_of(partner), partner)
        assert partner.id is not None
        # The network settings are part of the key: a proxy or timeout changed in Settings
        # applies to the next call (the old pool is closed with the others by aclose()).
        network = (self.settings.timeout_s, self.settings.proxy_mode, self.settings.proxy_url)
        cache_key = (partner.id, creds.fingerprint(), network)
        client = self._clients.get(cache_key)
        if client is None:
            base_url = self.resolve_base_url(partner.base_url)
            client = VendorApiClient(base_url, creds, self.client_options(base_url))
            self._clients[cache_key] = client
        return client

    def client_with(self, base_url: str, creds: Credentials) -> VendorApiClient:
        """A client for keys not stored yet (the wizard's authenticate step); caller closes it."""
        KeyDoor.register(creds)
        url = self.resolve_base_url(base_url)
        return VendorApiClient(url, creds, self.client_options(url))

    async def drop_clients(self, partner_id: int) -> None:
        """Close the clients of a partner (keys changed, disconnected, removed)."""
        for key in [k for k in self._clients if k[0] == partner_id]:
            await self._clients.pop(key).aclose()

    async def aclose(self) -> None:
        """Close every HTTP pool (httpx#914: do it before the event loop ends)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    def close(self) -> None:
        self.demo.stop()
        self.db.close()


def proxy_choice(settings: Settings) -> ProxyChoice:
    """The proxy the settings ask for; a hand-edited, unusable manual address falls back to the
    system settings (logged) rather than stopping every connection."""
    try:
        return ProxyChoice(settings.proxy_mode, settings.proxy_url)
    except ValueError as exc:
        log.warning("Ignoring the manual proxy in the settings (%s); using the system proxy", exc)
        return ProxyChoice()


def env_credentials() -> Credentials | None:
    """Keys from GRADIENT_VENDOR_KEY / GRADIENT_PARTNER_KEY (scheduled runs without a keyring)."""
    vendor, partner = os.environ.get("GRADIENT_VENDOR_KEY"), os.environ.get("GRADIENT_PARTNER_KEY")
    if vendor and partner:
        return KeyDoor.register(Credentials(vendor, partner))
    return None
