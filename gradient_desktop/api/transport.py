"""How the API client reaches Gradient on a company network: TLS trust and the proxy.

TLS is verified against the operating system's certificate store (``truststore``, as pip does),
so a company root certificate that IT installed on the machine is trusted without any setting;
httpx's default (the certifi bundle) knows only public CAs. The proxy follows the user's choice:
``system`` reads the environment (``HTTPS_PROXY``, ``NO_PROXY``) and, through
``urllib.request.getproxies()``, the Windows registry or the macOS network settings; ``none``
connects directly; ``manual`` uses one URL. PAC scripts (automatic proxy configuration files)
are not evaluated: on such networks choose ``manual``.
"""

from __future__ import annotations

import functools
import logging
import ssl
import urllib.request
from dataclasses import dataclass
from typing import Any

import httpx

from gradient_desktop.config import PROXY_MODES

from .errors import ProxyRefusedError

__all__ = [
    "PROXY_MODES",
    "ProxyChoice",
    "make_transport",
    "proxy_error",
    "resolve_proxy",
    "system_ssl_context",
    "validate_proxy_url",
]

logger = logging.getLogger("gradient_desktop.api")


@dataclass(frozen=True, slots=True)
class ProxyChoice:
    """The user's proxy setting (Settings → Network)."""

    mode: str = "system"
    url: str = ""

    def __post_init__(self) -> None:
        if self.mode not in PROXY_MODES:
            raise ValueError(f"proxy mode must be one of {', '.join(PROXY_MODES)}")
        if self.mode == "manual":
            validate_proxy_url(self.url)


def validate_proxy_url(url: str) -> str:
    """Return ``url`` normalised (``http://`` added when no scheme); ValueError if unusable.

    A user name or password in the URL is refused: settings are a plain file, and secrets only
    live in the OS keyring.
    """
    text = (url or "").strip()
    if not text:
        raise ValueError("Enter the proxy address, for example http://proxy.example.com:8080.")
    if "://" not in text:
        text = "http://" + text
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise ValueError(f"The proxy address is not valid ({exc}).") from None
    if parsed.scheme not in ("http", "https"):
        raise ValueError("The proxy address must start with http:// or https://.")
    if not parsed.host:
        raise ValueError("The proxy address has no host name.")
    if parsed.userinfo:
        raise ValueError(
            "Leave the user name and password out of the proxy address: Gradient Desktop does "
            "not store passwords in its settings. Ask IT for a proxy that signs you in "
            "automatically, or set HTTPS_PROXY in the environment."
        )
    return text


@functools.cache
def system_ssl_context() -> ssl.SSLContext:
    """An SSL context that verifies against the OS certificate store (built once: costly)."""
    import truststore

    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _system_proxy(url: httpx.URL) -> str | None:
    # getproxies(): environment variables first, then the Windows registry / macOS settings;
    # proxy_bypass(): NO_PROXY, or the registry's / macOS's exception list.
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy:
        return None
    host = url.host if url.port is None else f"{url.host}:{url.port}"
    try:
        if urllib.request.proxy_bypass(host):
            return None
    except OSError:  # a broken registry value must not stop the app
        logger.warning("Could not read the system proxy exceptions; using the proxy")
    if "://" not in proxy:
        proxy = "http://" + proxy
    return proxy


def resolve_proxy(choice: ProxyChoice, base_url: str, *, loopback: bool) -> str | None:
    """The proxy URL to use for ``base_url``, or None to connect directly.

    Loopback addresses (the built-in sandbox) never go through a proxy.
    """
    if loopback or choice.mode == "none":
        return None
    if choice.mode == "manual":
        return validate_proxy_url(choice.url)
    return _system_proxy(httpx.URL(base_url))


def make_transport(
    choice: ProxyChoice,
    base_url: str,
    *,
    loopback: bool,
    limits: httpx.Limits,
    lean: bool = True,
    max_body: int = 32 * 1024 * 1024,
) -> tuple[httpx.AsyncBaseTransport, str | None]:
    """The client's transport (OS trust store, chosen proxy) and the proxy it uses, if any.

    A direct connection uses the lean transport (``fast_transport.py``: a fraction of the CPU
    per request) when ``lean`` and ``httptools`` is installed; a proxy, httpx's own.
    """
    proxy = resolve_proxy(choice, base_url, loopback=loopback)
    if not proxy and lean and _lean_available():
        from .fast_transport import FastTransport

        https = httpx.URL(base_url).scheme == "https"
        ssl_context = system_ssl_context() if https else None
        return FastTransport(ssl_context=ssl_context, limits=limits, max_body=max_body), None
    if proxy:
        shown = httpx.URL(proxy).copy_with(username=None, password=None)
        logger.info("Connecting to %s through the proxy %s", httpx.URL(base_url).host, shown)
    via = None
    if proxy:
        # An https:// proxy is verified against the OS store too (httpcore's default is
        # certifi); httpcore refuses a context for a plain http:// proxy.
        https = httpx.URL(proxy).scheme == "https"
        via = httpx.Proxy(proxy, ssl_context=system_ssl_context() if https else None)
    transport = httpx.AsyncHTTPTransport(
        verify=system_ssl_context(), limits=limits, proxy=via, trust_env=False
    )
    return transport, proxy


@functools.cache
def _lean_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("httptools") is not None


def proxy_error(
    exc: BaseException, proxy_url: str, detail: str, common: dict[str, Any]
) -> ProxyRefusedError | None:
    """A user-facing error when ``exc`` came from the proxy, not from Gradient; else None.

    ``httpx.ProxyError`` is the proxy answering CONNECT with an error status (407: it wants a
    sign-in); a connect error while a proxy is in use means the proxy itself could not be
    reached, since the proxy is the only host this computer connects to.
    """
    proxy = httpx.URL(proxy_url)
    where = f"{proxy.host}:{proxy.port}" if proxy.port else proxy.host
    if isinstance(exc, httpx.ProxyError):
        if detail.startswith("407"):
            return ProxyRefusedError(
                f"The proxy at {where} asked for a sign-in (407) and refused to pass the "
                "request to Gradient.",
                user_hint="Ask your IT team for a proxy that lets Gradient Desktop through "
                "without a password, or set HTTPS_PROXY with your proxy account and choose "
                "'Use the system proxy settings' in Settings → Network.",
                **common,
            )
        return ProxyRefusedError(
            f"The proxy at {where} refused to connect to Gradient ({detail}).", **common
        )
    if isinstance(exc, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" not in detail:
        # (A certificate failure came through the tunnel: Gradient's, or a TLS-inspecting
        # proxy's whose CA is not installed; the caller's certificate message covers it.)
        return ProxyRefusedError(f"Could not reach the proxy at {where} ({detail}).", **common)
    return None
