"""The client's credentials and base URL: the token, keys never shown, the https rule and how
an address is normalised."""

from __future__ import annotations

import asyncio
import base64

import pytest

from gradient_desktop.api import ClientOptions, Credentials, InsecureUrlError
from tests.api.helpers import PARTNER, VENDOR, client_for


def test_token_is_base64_of_vendor_colon_partner() -> None:
    creds = Credentials(f" {VENDOR}\n", PARTNER)
    assert creds.token() == base64.b64encode(f"{VENDOR}:{PARTNER}".encode()).decode()
    assert creds.headers() == {"GRADIENT-TOKEN": creds.token()}


def test_credentials_never_show_keys() -> None:
    creds = Credentials(VENDOR, PARTNER)
    for text in (repr(creds), str(creds), f"{creds}", repr([creds]), creds.fingerprint()):
        assert "SECRET" not in text and creds.token() not in text
    with pytest.raises(ValueError, match="empty") as info:
        Credentials(VENDOR, "  ")
    assert "SECRET" not in str(info.value)
    with pytest.raises(ValueError, match="':'"):
        Credentials("a:b", PARTNER)


def test_client_repr_is_redacted() -> None:
    client = client_for("https://app.usegradient.com", PARTNER, VENDOR)
    assert "SECRET" not in repr(client)
    asyncio.run(client.aclose())


@pytest.mark.parametrize("url", ["http://example.com", "http://10.0.0.5:8080", "ftp://x.org"])
def test_insecure_url_refused_at_construction(url: str) -> None:
    with pytest.raises(InsecureUrlError) as info:
        client_for(url)
    assert "https" in str(info.value)


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("http://127.3.4.5", "http://127.3.4.5"),
        ("http://localhost:1/", "http://localhost:1"),
        ("http://[::1]:9", "http://[::1]:9"),
        ("app.usegradient.com", "https://app.usegradient.com"),
        ("https://app.usegradient.com/api/vendor-api/", "https://app.usegradient.com"),
    ],
)
def test_base_url_normalised(url: str, root: str) -> None:
    client = client_for(url)
    assert client.base_url == root
    assert client.vendor_side_mapping is root.startswith("http://")  # on for loopback only
    asyncio.run(client.aclose())


def test_insecure_http_allowed_explicitly_and_userinfo_refused() -> None:
    client = client_for("http://gradient.lan", options=ClientOptions(allow_insecure_http=True))
    assert client.base_url == "http://gradient.lan"
    asyncio.run(client.aclose())
    with pytest.raises(ValueError, match="user name"):
        client_for("https://me:pw@app.usegradient.com")
