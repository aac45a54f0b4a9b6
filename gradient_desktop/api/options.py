"""Configuration of the Vendor API client and validation of its base URL."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import httpx

from gradient_desktop import __version__
from gradient_desktop.hosts import is_loopback_host

from .errors import InsecureUrlError
from .transport import ProxyChoice

__all__ = [
    "API_PREFIX",
    "DEFAULT_BASE_URL",
    "ClientOptions",
    "LegacyPaths",
    "is_loopback_host",
    "normalize_base_url",
]

logger = logging.getLogger("gradient_desktop.api")

DEFAULT_BASE_URL = "https://app.usegradient.com"
#: Every Vendor API route lives under this prefix of the host root.
API_PREFIX = "/api/vendor-api"


@dataclass(frozen=True, slots=True)
class LegacyPaths:
    """Routes of the legacy seed-flow operations (vendor-api.md §2.10).

    Gradient never documented them: these are the proposed shapes the sandbox serves. They are
    kept in this one place so a real path, once known, is a one-line change. Paths are relative
    to ``API_PREFIX``; ``{service_id}`` is replaced by the URL-encoded service id.
    """

    add_count: str = "/service/{service_id}/count/add"
    add_count_method: str = "PATCH"
    subtract_count: str = "/service/{service_id}/count/subtract"
    subtract_count_method: str = "PATCH"
    all_clients_count: str = "/service/{service_id}/count/all"
    all_clients_count_method: str = "POST"
    update_integration: str = "/organization"
    update_integration_method: str = "PATCH"


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """Tunables of one ``VendorApiClient``; the defaults suit the real Gradient."""

    connect_timeout: float = 30.0
    read_timeout: float = 30.0
    #: Retries after the first attempt (so at most ``1 + max_retries`` requests per call).
    max_retries: int = 4
    #: Overall budget of one call, retries and waits included.
    deadline: float = 120.0
    #: Client-side token bucket shared by every call of this client (= this token).
    #: Gradient allows 100/s; ``None`` disables it (tests, benchmarks). 97, not 100: send
    #: instants are held to it in every one-second window, and 3 % absorbs network jitter
    #: bunching them at the server. It adapts down on 429s (ratelimit.py).
    rate_limit_per_s: float | None = 97.0
    rate_limit_burst: int = 5
    max_connections: int = 64
    max_keepalive_connections: int = 32
    backoff_base: float = 0.25
    backoff_cap: float = 8.0
    retry_after_cap: float = 30.0
    #: Plain http is refused except for loopback hosts unless this is set (it sends the
    #: token in clear text). TLS certificate verification cannot be turned off.
    allow_insecure_http: bool = False
    #: Send the legacy ``clientOId`` with accounts (vendor-side mapping, seed flow).
    #: ``None``: on for loopback (sandbox) URLs, off for the real service.
    vendor_side_mapping: bool | None = None
    legacy_paths: LegacyPaths = field(default_factory=LegacyPaths)
    user_agent: str = f"gradient-desktop/{__version__}"
    #: Which proxy to use (system settings, none, or one URL); see ``transport.py``.
    proxy: ProxyChoice = field(default_factory=ProxyChoice)
    #: Direct connections through the lean transport (``fast_transport.py``); False: httpx's
    #: own (the benchmarks compare the two).
    lean_transport: bool = True
    #: Injected transport (tests only); the default is a real socket transport that verifies
    #: TLS against the OS certificate store and goes through ``proxy``.
    transport: httpx.AsyncBaseTransport | None = None

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.deadline <= 0 or self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("timeouts and deadline must be positive")
        if self.max_connections < 1:
            raise ValueError("max_connections must be >= 1")


def normalize_base_url(base_url: str, *, allow_insecure_http: bool = False) -> tuple[str, bool]:
    """Validate ``base_url``; return ``(host root URL without trailing slash, is_loopback)``.

    Accepts a bare host name (https is assumed) and a URL that already ends with ``/api``,
    ``/api/`` or the API prefix ``/api/vendor-api`` (stripped: paths are built from the root).
    """
    text = (base_url or "").strip()
    if not text:
        raise ValueError("The Gradient address is empty.")
    if "://" not in text:
        text = "https://" + text
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise ValueError(f"The Gradient address is not a valid URL ({exc}).") from None
    if not url.host:
        raise ValueError("The Gradient address has no host name.")
    if url.userinfo:
        # Credentials embedded in a URL end up in logs and proxies; keys go in the header.
        raise ValueError("The Gradient address must not contain a user name or password.")
    loopback = is_loopback_host(url.host)
    if url.scheme == "http":
        if not loopback and not allow_insecure_http:
            raise InsecureUrlError(f"Refusing to send the API key over plain http to {url.host}.")
        if not loopback:
            logger.warning("Plain http allowed for %s: the token travels unencrypted", url.host)
    elif url.scheme != "https":
        raise InsecureUrlError(f"Unsupported address scheme '{url.scheme}' for Gradient.")
    # Paths are built from the host root: strip what people paste after it, e.g. the
    # `/api` base gradient-pp-cli documents or the full `/api/vendor-api` prefix.
    path = url.path.rstrip("/")
    path = path.removesuffix(API_PREFIX).removesuffix("/api")
    root = url.copy_with(path=path or "/", query=None, fragment=None)
    return str(root).rstrip("/"), loopback
