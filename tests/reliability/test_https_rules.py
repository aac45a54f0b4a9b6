"""HTTPS by default, plain http only for loopback unless the user explicitly allows it, and TLS
certificates always verified — checked at the client, the partner directory and the CLI.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gradient_desktop.api import (
    ClientOptions,
    Credentials,
    InsecureUrlError,
    NetworkError,
    VendorApiClient,
)
from gradient_desktop.api.options import normalize_base_url
from tests.keyring_backend import MemoryKeyring

REPO = Path(__file__).resolve().parents[2]
CREDS = Credentials("vk-https-rules-1234", "pk-https-rules-5678")

REFUSED = [
    "http://app.usegradient.com",
    "http://gradient.example.com/api/vendor-api",
    "http://localhost.evil.example",  # a name that merely starts with localhost
    "http://127.0.0.1.nip.io",  # resolves to loopback, but the name is not trusted
    "http://0.0.0.0:8765",
    "http://10.0.0.5",
    "http://[fe80::1]",
    "ftp://app.usegradient.com",
    "file://fileserver/share/counts",
    "ws://app.usegradient.com",
]
LOOPBACK = [
    "http://127.0.0.1:8765",
    "http://localhost:8765",
    "http://[::1]:8765",
    "http://127.9.9.9",
]


@pytest.mark.parametrize("url", REFUSED)
def test_plain_http_and_other_schemes_are_refused_for_non_loopback_hosts(url: str) -> None:
    with pytest.raises(InsecureUrlError) as info:
        VendorApiClient(url, CREDS)
    assert "https" in str(info.value) and CREDS.partner_key not in str(info.value)


@pytest.mark.parametrize("url", LOOPBACK)
def test_plain_http_is_allowed_for_loopback_only(url: str) -> None:
    assert normalize_base_url(url) == (url.rstrip("/"), True)


def test_a_bare_host_means_https() -> None:
    assert normalize_base_url("app.usegradient.com") == ("https://app.usegradient.com", False)


def test_plain_http_elsewhere_needs_the_explicit_switch_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="gradient_desktop.api"):
        url, loopback = normalize_base_url("http://gradient.internal", allow_insecure_http=True)
    assert (url, loopback) == ("http://gradient.internal", False)
    assert "unencrypted" in caplog.text


@pytest.mark.parametrize("url", ["https://user:pw@app.usegradient.com", "https://k@x.example"])
def test_credentials_in_the_address_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="user name or password"):
        normalize_base_url(url)


def test_tls_verification_cannot_be_switched_off() -> None:
    assert not any(
        "verify" in name or "insecure_tls" in name for name in ClientOptions.__dataclass_fields__
    )


def test_the_cli_refuses_plain_http_without_storing_any_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADIENT_")}
    env.update(
        GRADIENT_DESKTOP_HOME=str(tmp_path / "gd"),
        PYTHONPATH=str(REPO),
        PYTHON_KEYRING_BACKEND="tests.reliability.file_keyring.FileKeyring",
        GD_TEST_KEYRING_FILE=str(tmp_path / "keyring.json"),
        GRADIENT_VENDOR_KEY=CREDS.vendor_key,
        GRADIENT_PARTNER_KEY=CREDS.partner_key,
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gradient_desktop",
            "partner",
            "add",
            "Contoso",
            "--base-url",
            "http://app.usegradient.com",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "plain http" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "keyring.json").exists()  # refused before any key was kept


def test_the_partner_directory_refuses_plain_http(
    isolated_home: Path, memory_keyring: MemoryKeyring
) -> None:
    from gradient_desktop.services.context import AppContext
    from gradient_desktop.services.partners import PartnerDirectory

    ctx = AppContext.open()
    try:
        with pytest.raises(InsecureUrlError):
            PartnerDirectory(ctx).save_profile("N", "http://app.usegradient.com", CREDS.vendor_key)
        assert memory_keyring.entries == {}
    finally:
        ctx.close()


# ------------------------------------------------------------------ a real TLS handshake


@pytest.fixture
def self_signed_tls_server(tmp_path: Path) -> Iterator[tuple[int, list[bytes]]]:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate (not trusted by anyone)."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    received: list[bytes] = []

    import threading

    ready = threading.Event()
    state: dict[str, object] = {}

    async def serve() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                received.append(await reader.read(4096))  # only after a completed handshake
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                await writer.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                writer.transport.abort()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
        state["port"] = server.sockets[0].getsockname()[1]
        stop = asyncio.Event()
        state["stop"], state["loop"] = stop, asyncio.get_running_loop()
        ready.set()
        await stop.wait()
        server.close()
        await server.wait_closed()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield int(state["port"]), received  # type: ignore[call-overload]
    loop: asyncio.AbstractEventLoop = state["loop"]  # type: ignore[assignment]
    loop.call_soon_threadsafe(state["stop"].set)  # type: ignore[attr-defined]
    thread.join(10)


def test_an_untrusted_certificate_is_refused_before_the_token_is_sent(
    self_signed_tls_server: tuple[int, list[bytes]],
) -> None:
    port, received = self_signed_tls_server

    async def main() -> NetworkError:
        options = ClientOptions(max_retries=0, rate_limit_per_s=None)
        async with VendorApiClient(f"https://127.0.0.1:{port}", CREDS, options) as client:
            with pytest.raises(NetworkError) as info:
                await client.get_integration()
            return info.value

    error = asyncio.run(main())
    assert "certificate" in str(error) and "could not be verified" in str(error)
    assert received == []  # no request, hence no token, ever reached the server
