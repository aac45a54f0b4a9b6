"""The API client on a company network: a private root CA and an HTTPS proxy, with real parts.

The server is the Gradient sandbox served over TLS with a certificate signed by a private CA
(``trustme``), the proxy is a real CONNECT proxy on a socket (``tests/https_proxy.py``), and the
client is the app's own ``VendorApiClient``. The system-store test installs the CA into Debian's
store with ``update-ca-certificates`` (root only; it removes it again afterwards), which is what
IT does on a company machine. The proxy tests point OpenSSL's default bundle (``SSL_CERT_FILE``,
which the OS trust store honours on Linux) at the private CA instead, so they run without root.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from gradient_desktop.api import (
    ClientOptions,
    Credentials,
    NetworkError,
    ProxyChoice,
    ProxyRefusedError,
    VendorApiClient,
)
from gradient_desktop.api.transport import resolve_proxy, validate_proxy_url
from gradient_desktop.sandbox.seed import PARTNER_DEMO, VENDOR_KEY
from tests.https_proxy import ConnectProxy, TlsSandbox

# A name that does not resolve on this machine: only the test proxy knows where it is.
COMPANY_HOST = "gradient.test"
CREDS = Credentials(VENDOR_KEY, PARTNER_DEMO)
ONE_TRY = ClientOptions(max_retries=0, rate_limit_per_s=None, connect_timeout=5, read_timeout=5)
_CA_DIR = Path("/usr/local/share/ca-certificates")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA(organization_name="Gradient Desktop test company CA")


@pytest.fixture(scope="module")
def tls_sandbox(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsSandbox]:
    cert = ca.issue_cert(COMPANY_HOST, "localhost", "127.0.0.1")
    with TlsSandbox(cert, tmp_path_factory.mktemp("tls")) as server:
        yield server


@pytest.fixture
def ca_in_openssl_bundle(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bundle = tmp_path / "company-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    return bundle


@pytest.fixture
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                 "all_proxy", "NO_PROXY", "no_proxy"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def get_vendor(base_url: str, options: ClientOptions = ONE_TRY) -> tuple[str, str | None]:
    """The vendor's name as read by the real client, and the proxy the client used."""

    async def go() -> tuple[str, str | None]:
        async with VendorApiClient(base_url, CREDS, options) as client:
            return (await client.get_vendor()).name, client.proxy_url

    return asyncio.run(go())


# -- the OS certificate store --------------------------------------------------------------------


@pytest.fixture
def ca_in_system_store(ca: trustme.CA) -> Iterator[Path]:
    """Install the private CA the way IT does on Debian, and remove it afterwards."""
    if os.geteuid() != 0:
        pytest.skip("installing a CA into the system store needs root (run scripts/test.sh)")
    if not shutil.which("update-ca-certificates") or not _CA_DIR.is_dir():
        pytest.skip("no update-ca-certificates (Debian package ca-certificates) on this machine")
    path = _CA_DIR / f"gradient-desktop-test-{uuid.uuid4().hex[:8]}.crt"
    ca.cert_pem.write_to_path(str(path))
    try:
        subprocess.run(["update-ca-certificates"], check=True, capture_output=True, timeout=120)
        yield path
    finally:
        path.unlink(missing_ok=True)
        subprocess.run(["update-ca-certificates"], check=True, capture_output=True, timeout=120)


def test_company_ca_installed_on_the_machine_is_trusted(
    ca_in_system_store: Path, tls_sandbox: TlsSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    url = f"https://localhost:{tls_sandbox.port}"
    # httpx's default trust (the certifi bundle) does not know the company CA ...
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{url}/api/vendor-api", timeout=5, trust_env=False)
    # ... the app's client, which asks the OS store, does.
    name, proxy = get_vendor(url)
    assert name and proxy is None


def test_closing_the_client_closes_its_tls_sockets_before_the_loop_ends(
    ca_in_openssl_bundle: Path, tls_sandbox: TlsSandbox, fresh_trust: None
) -> None:
    """A TLS socket closes only after the server's close_notify: the client's close waits for
    it, so ``asyncio.run`` (the CLI) ending right after leaves no socket open (it did: pytest
    caught the ResourceWarning in a later test, one run in two)."""
    from gradient_desktop.api.fast_transport import FastTransport

    async def go() -> list[Any]:
        async with VendorApiClient(f"https://localhost:{tls_sandbox.port}", CREDS, ONE_TRY) as c:
            await c.get_vendor()
            transport = c._http._transport
            assert isinstance(transport, FastTransport)
            conns = [conn for idle in transport._idle.values() for conn in idle]
        return conns

    conns = asyncio.run(go())
    assert conns and all(conn.closed for conn in conns)


def test_unknown_ca_is_refused_with_a_plain_message(
    tls_sandbox: TlsSandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # An empty-but-valid bundle: the OS store then trusts nothing this test server could show.
    other = trustme.CA()
    (tmp_path / "other.pem").write_bytes(other.cert_pem.bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "other.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    from gradient_desktop.api.transport import system_ssl_context

    system_ssl_context.cache_clear()  # the context read the bundle when it was built
    try:
        with pytest.raises(NetworkError) as info:
            get_vendor(f"https://localhost:{tls_sandbox.port}")
    finally:
        system_ssl_context.cache_clear()
    assert "certificate" in str(info.value) and "root certificate" in info.value.user_hint


# -- the proxy ---------------------------------------------------------------------------------


@pytest.fixture
def fresh_trust() -> Iterator[None]:
    from gradient_desktop.api.transport import system_ssl_context

    system_ssl_context.cache_clear()
    yield
    system_ssl_context.cache_clear()


def test_requests_go_through_the_proxy_named_in_https_proxy(
    tls_sandbox: TlsSandbox, ca_in_openssl_bundle: Path, clean_proxy_env: pytest.MonkeyPatch,
    fresh_trust: None,
) -> None:  # fmt: skip
    with ConnectProxy(hosts={COMPANY_HOST: "127.0.0.1"}) as proxy:
        clean_proxy_env.setenv("HTTPS_PROXY", proxy.url)
        name, used = get_vendor(f"https://{COMPANY_HOST}:{tls_sandbox.port}")
    assert name
    assert used == proxy.url
    # The name resolves nowhere but in the proxy: the request can only have gone through it.
    assert proxy.connects and set(proxy.connects) == {f"{COMPANY_HOST}:{tls_sandbox.port}"}


def test_https_proxy_signed_by_the_company_ca_is_trusted(
    ca: trustme.CA, tls_sandbox: TlsSandbox, ca_in_openssl_bundle: Path,
    clean_proxy_env: pytest.MonkeyPatch, fresh_trust: None,
) -> None:  # fmt: skip
    # Some companies run the proxy itself over TLS: its certificate comes from the same CA.
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_side)
    with ConnectProxy(hosts={COMPANY_HOST: "127.0.0.1"}, tls=server_side) as proxy:
        clean_proxy_env.setenv("HTTPS_PROXY", proxy.url)
        name, used = get_vendor(f"https://{COMPANY_HOST}:{tls_sandbox.port}")
    assert name and used is not None and used.startswith("https://127.0.0.1:")
    assert proxy.connects == [f"{COMPANY_HOST}:{tls_sandbox.port}"]


def test_untrusted_certificate_behind_a_proxy_is_a_certificate_message_not_a_proxy_one(
    tls_sandbox: TlsSandbox, clean_proxy_env: pytest.MonkeyPatch, tmp_path: Path,
    fresh_trust: None,
) -> None:  # fmt: skip
    # What a TLS-inspecting proxy looks like before IT installs its CA on the machine.
    (tmp_path / "other.pem").write_bytes(trustme.CA().cert_pem.bytes())
    clean_proxy_env.setenv("SSL_CERT_FILE", str(tmp_path / "other.pem"))
    clean_proxy_env.setenv("SSL_CERT_DIR", str(tmp_path))
    with ConnectProxy(hosts={COMPANY_HOST: "127.0.0.1"}) as proxy:
        clean_proxy_env.setenv("HTTPS_PROXY", proxy.url)
        with pytest.raises(NetworkError) as info:
            get_vendor(f"https://{COMPANY_HOST}:{tls_sandbox.port}")
    assert proxy.connects  # the tunnel was open: the proxy is fine
    assert not isinstance(info.value, ProxyRefusedError)
    assert "certificate" in str(info.value) and "root certificate" in info.value.user_hint


def test_no_proxy_and_the_none_setting_bypass_the_proxy(
    tls_sandbox: TlsSandbox, ca_in_openssl_bundle: Path, clean_proxy_env: pytest.MonkeyPatch,
    fresh_trust: None,
) -> None:  # fmt: skip
    url = f"https://{COMPANY_HOST}:{tls_sandbox.port}"
    with ConnectProxy(hosts={COMPANY_HOST: "127.0.0.1"}) as proxy:
        clean_proxy_env.setenv("HTTPS_PROXY", proxy.url)
        none = ClientOptions(
            max_retries=0, rate_limit_per_s=None, proxy=ProxyChoice("none"), connect_timeout=5
        )
        with pytest.raises(NetworkError) as direct:
            get_vendor(url, none)  # direct: the name does not resolve here
        clean_proxy_env.setenv("NO_PROXY", COMPANY_HOST)
        with pytest.raises(NetworkError):
            get_vendor(url)
    assert not isinstance(direct.value, ProxyRefusedError)
    assert proxy.connects == []


def test_manual_proxy_setting_is_used_without_environment(
    tls_sandbox: TlsSandbox, ca_in_openssl_bundle: Path, clean_proxy_env: pytest.MonkeyPatch,
    fresh_trust: None,
) -> None:  # fmt: skip
    with ConnectProxy(hosts={COMPANY_HOST: "127.0.0.1"}) as proxy:
        manual = ClientOptions(
            max_retries=0, rate_limit_per_s=None, proxy=ProxyChoice("manual", proxy.url)
        )
        name, used = get_vendor(f"https://{COMPANY_HOST}:{tls_sandbox.port}", manual)
    assert name and used == proxy.url
    assert proxy.connects == [f"{COMPANY_HOST}:{tls_sandbox.port}"]


def test_proxy_asking_for_a_sign_in_gives_a_clear_message(
    tls_sandbox: TlsSandbox, clean_proxy_env: pytest.MonkeyPatch
) -> None:
    with ConnectProxy(require_auth=True) as proxy:
        clean_proxy_env.setenv("HTTPS_PROXY", proxy.url)
        with pytest.raises(ProxyRefusedError) as info:
            get_vendor(f"https://{COMPANY_HOST}:{tls_sandbox.port}")
    text = str(info.value)
    assert f"proxy at 127.0.0.1:{proxy.port}" in text and "sign-in (407)" in text
    assert "Settings" in info.value.user_hint or "Settings" in text


def test_unreachable_proxy_is_named_in_the_message(clean_proxy_env: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    options = ClientOptions(
        max_retries=0, rate_limit_per_s=None, proxy=ProxyChoice("manual", f"127.0.0.1:{port}")
    )
    with pytest.raises(ProxyRefusedError, match=f"Could not reach the proxy at 127.0.0.1:{port}"):
        get_vendor(f"https://{COMPANY_HOST}", options)


# -- pure pieces -------------------------------------------------------------------------------


def test_proxy_resolution_follows_the_setting(clean_proxy_env: pytest.MonkeyPatch) -> None:
    clean_proxy_env.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    url = "https://app.usegradient.com"
    assert resolve_proxy(ProxyChoice(), url, loopback=False) == "http://proxy.corp:3128"
    assert resolve_proxy(ProxyChoice(), url, loopback=True) is None  # the sandbox: direct
    assert resolve_proxy(ProxyChoice("none"), url, loopback=False) is None
    manual = ProxyChoice("manual", "other.corp:8080")
    assert resolve_proxy(manual, url, loopback=False) == "http://other.corp:8080"
    clean_proxy_env.setenv("NO_PROXY", ".usegradient.com")
    assert resolve_proxy(ProxyChoice(), url, loopback=False) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter the proxy address"),
        ("ftp://proxy:21", "must start with http://"),
        ("http://alice:secret@proxy:8080", "Leave the user name and password out"),
    ],
)
def test_bad_manual_proxy_addresses_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_proxy_url(text)
    with pytest.raises(ValueError, match=message):
        ProxyChoice("manual", text)


def test_the_client_verifies_against_the_os_store() -> None:
    from gradient_desktop.api.transport import system_ssl_context

    ctx = system_ssl_context()
    assert type(ctx).__module__.startswith("truststore")
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname


def test_settings_keep_the_proxy_choice_and_fall_back_on_hand_edited_values(
    tmp_path: Path,
) -> None:
    import json

    from gradient_desktop.config import Settings
    from gradient_desktop.services.context import proxy_choice

    path = tmp_path / "settings.json"
    Settings(proxy_mode="manual", proxy_url=" proxy.corp:3128 ").save(path)
    saved = Settings.load(path)
    assert (saved.proxy_mode, saved.proxy_url) == ("manual", "proxy.corp:3128")
    assert proxy_choice(saved) == ProxyChoice("manual", "proxy.corp:3128")

    path.write_text(json.dumps({"proxy_mode": "pac", "proxy_url": 42}))
    odd = Settings.load(path)
    assert (odd.proxy_mode, odd.proxy_url) == ("system", "")
    # A manual address that cannot be used (a password in it) is ignored, not fatal.
    bad = Settings(proxy_mode="manual", proxy_url="http://bob:pw@proxy.corp:3128")
    assert proxy_choice(bad) == ProxyChoice()


def test_a_proxy_changed_in_settings_applies_to_the_next_call(
    memory_keyring: object, isolated_home: Path, sandbox: object
) -> None:
    from gradient_desktop.services.context import AppContext
    from gradient_desktop.services.partners import PartnerDirectory

    ctx = AppContext.open()
    try:
        directory = PartnerDirectory(ctx)
        profile = directory.save_profile("northwind", sandbox.base_url, VENDOR_KEY)  # type: ignore[attr-defined]
        partner = directory.add("Contoso", profile, PARTNER_DEMO)
        first = ctx.client_for(partner)
        assert ctx.client_for(partner) is first  # one long-lived pool per partner
        ctx.settings.proxy_mode, ctx.settings.proxy_url = "manual", "proxy.corp:3128"
        second = ctx.client_for(partner)
        assert second is not first and second.options.proxy == ProxyChoice(
            "manual", "proxy.corp:3128"
        )
        asyncio.run(ctx.aclose())  # closes both pools
        assert first._http.is_closed and second._http.is_closed
    finally:
        ctx.close()
