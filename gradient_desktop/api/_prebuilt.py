"""The client's requests, built with what is constant per client prepared once.

``httpx.AsyncClient.build_request`` merges the base URL, the client's headers, cookies and
query parameters on every call: a quarter of the client's CPU in a 9,000-count sync
(bench/syncall.py, py-spy), mostly parsing the same few URLs again. A count request differs
from the previous one only in its body and, at most, its idempotency key, so the URL of each
(path, query) is built by httpx once and kept, the headers are the client's own, and the JSON
body is encoded as httpx encodes it. The result is the same ``httpx.Request`` (same URL, same
headers, same bytes), sent through the same ``AsyncClient.send``.

``QuietCookiesClient`` skips httpx's per-answer cookie bookkeeping (a ``urllib`` request and
response built for the cookie jar, another tenth of the CPU) when an answer sets no cookie.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

__all__ = ["QuietCookies", "QuietCookiesClient", "RequestFactory"]

#: URLs kept per client: the count routes need a handful (one per service × ``no_build``).
_URL_CACHE_SIZE = 512
_Key = tuple[str, tuple[tuple[str, str], ...] | None]


class QuietCookies(httpx.Cookies):
    """A cookie jar that looks at an answer only when it sets a cookie (the Vendor API sets
    none; a load balancer's affinity cookie still works)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class QuietCookiesClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` with a :class:`QuietCookies` jar."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._quiet = QuietCookies(super().cookies)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._quiet

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._quiet = QuietCookies(cookies)


def _json_body(value: Any) -> bytes:
    # Exactly httpx's JSON encoding (httpx/_content.py encode_json).
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    )


class RequestFactory:
    """``build(...)`` returns what ``http.build_request(...)`` would, minus the repeated work:
    per (path, query) the URL and the header list (Host first, as httpx puts it) are made once;
    a request copies them, adds its own headers and body length, and carries its body as a
    stream, so httpx neither re-encodes nor re-normalises anything."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._urls: dict[_Key, tuple[httpx.URL, httpx.Headers, httpx.Headers]] = {}
        headers = list(http.headers.raw)
        self._names = {name.lower() for name, _ in headers} | {
            b"content-type",
            b"content-length",
            b"host",
            b"transfer-encoding",
        }
        self._plain = headers
        self._extensions = {"timeout": http.timeout.as_dict()}

    def build(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Request:
        http = self._http
        if (
            http.cookies  # a server set a cookie: httpx's own merge sends it back
            or (
                params  # only plain {name: text} queries are cached; others as httpx does
                and not (
                    isinstance(params, dict) and all(isinstance(v, str) for v in params.values())
                )
            )
            or (headers and any(k.lower().encode() in self._names for k in headers))
        ):
            return http.build_request(method, path, params=params, json=json_body, headers=headers)
        key = (path, tuple(sorted(params.items())) if params else None)
        cached = self._urls.get(key)
        if cached is None:
            if len(self._urls) >= _URL_CACHE_SIZE:
                self._urls.clear()
            url = http.build_request("GET", path, params=params).url
            host = (b"Host", url.netloc)
            cached = self._urls[key] = (
                url,
                httpx.Headers([host, *self._plain]),
                # A body-less POST/PUT/PATCH says so, right after Host (httpx's order).
                httpx.Headers([host, (b"Content-Length", b"0"), *self._plain]),
            )
        url, plain, empty_write = cached
        body = b""
        if json_body is None and method in ("POST", "PUT", "PATCH"):
            merged = httpx.Headers(empty_write)
        else:
            merged = httpx.Headers(plain)
        if headers:
            for name, value in headers.items():
                merged[name] = value
        if json_body is not None:
            body = _json_body(json_body)
            # In httpx's order: the caller's headers, Content-Length, then Content-Type.
            merged["Content-Length"] = str(len(body))
            merged["Content-Type"] = "application/json"
        return httpx.Request(
            method,
            url,
            headers=merged,
            stream=httpx.ByteStream(body),
            extensions=dict(self._extensions),
        )
