"""HTTP core of the Vendor API client: one ``httpx.AsyncClient``, rate limit, retries, errors.

Every request goes through :meth:`BaseClient._request`, so there is exactly one place that
decides retries (``retry.decide``), one place that maps failures to typed errors, and one
place that logs (DEBUG: method, path without query, status, milliseconds; never headers).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
import pydantic

from ._prebuilt import QuietCookiesClient, RequestFactory
from .auth import Credentials
from .errors import (
    ApiError,
    NetworkError,
    OutcomeUnknownError,
    ResponseFormatError,
    TimeoutError_,
    UnmappedError,
    error_for_status,
    server_message_from_body,
)
from .options import API_PREFIX, ClientOptions, normalize_base_url
from .ratelimit import TokenBucket
from .retry import Action, RetryPolicy, decide, never_reached_server, parse_retry_after
from .transport import make_transport, proxy_error

logger = logging.getLogger("gradient_desktop.api")

M = TypeVar("M", bound=pydantic.BaseModel)

_NO_BODY: Any = object()
_REPLAYED_HEADER = "idempotent-replayed"


def seg(value: str) -> str:
    """One URL path segment: vendor ids may contain '/', spaces or '%'."""
    return quote(str(value), safe="")


class _Redactor:
    """Scrubs the keys and token out of any text that could reach a user or a log."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: tuple[str, ...]) -> None:
        # Longest first, so the token is replaced whole before its parts could match.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str | None) -> str | None:
        if text:
            for secret in self._secrets:
                if secret in text:
                    text = text.replace(secret, "<redacted>")
        return text


#: The largest answer read from Gradient (its biggest documented answer, a page of 100
#: clients or a partner's accounts, is far below this).
MAX_RESPONSE_BYTES = 32 * 1024 * 1024


def _json_or_empty(content: bytes) -> bool:
    """True for an empty body or one that parses as JSON."""
    if not content.strip():
        return True
    try:
        json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return False
    return True


class BaseClient:
    """Owns the connection pool, the limiter and the retry loop; endpoints live in subclasses."""

    def __init__(
        self, base_url: str, credentials: Credentials, options: ClientOptions | None = None
    ) -> None:
        if not isinstance(credentials, Credentials):
            raise TypeError("credentials must be a Credentials instance")
        self.options = options = options or ClientOptions()
        self.base_url, self.is_loopback = normalize_base_url(
            base_url, allow_insecure_http=options.allow_insecure_http
        )
        self.vendor_side_mapping = (
            self.is_loopback if options.vendor_side_mapping is None else options.vendor_side_mapping
        )
        self._credentials = credentials
        self._redact = _Redactor(credentials.secrets())
        self._policy = RetryPolicy(
            max_retries=options.max_retries,
            backoff_base=options.backoff_base,
            backoff_cap=options.backoff_cap,
            retry_after_cap=options.retry_after_cap,
        )
        self._limiter = TokenBucket(options.rate_limit_per_s, options.rate_limit_burst)
        limits = httpx.Limits(
            max_connections=options.max_connections,
            max_keepalive_connections=min(
                options.max_keepalive_connections, options.max_connections
            ),
        )
        transport, self.proxy_url = options.transport, None
        if transport is None:
            transport, self.proxy_url = make_transport(
                options.proxy,
                self.base_url,
                loopback=self.is_loopback,
                limits=limits,
                lean=options.lean_transport,
                max_body=MAX_RESPONSE_BYTES,
            )
        self._http = QuietCookiesClient(
            base_url=self.base_url,
            headers={
                **credentials.headers(),
                "Accept": "application/json",
                "User-Agent": options.user_agent,
            },
            timeout=httpx.Timeout(
                options.read_timeout, connect=options.connect_timeout, pool=options.deadline
            ),
            limits=limits,
            follow_redirects=False,  # a redirect could carry the token to another host
            # TLS trust and the proxy are decided once, in make_transport (transport.py).
            trust_env=False,
            transport=transport,
        )
        self._requests = RequestFactory(self._http)  # URLs and headers prepared once

    # ------------------------------------------------------------------ lifecycle

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, credentials=<redacted>)"

    @property
    def limiter(self) -> TokenBucket:
        return self._limiter

    # -------------------------------------------------------------- request core

    async def _bounded(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and read at most ``MAX_RESPONSE_BYTES`` of its answer: a broken or
        hostile server answering 200 MB must not take the app's memory with it. A longer
        answer is a transport failure (for a write: outcome unknown, resolved by re-sending)."""
        response = await self._http.send(request, stream=True)
        if response.is_stream_consumed:  # already read (an in-memory test transport)
            if len(response.content) > MAX_RESPONSE_BYTES:
                raise httpx.ReadError("answer larger than the app accepts", request=request)
            return response
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
                raise httpx.ReadError("answer larger than the app accepts", request=request)
            chunks, size = [], 0
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise httpx.ReadError("answer larger than the app accepts", request=request)
                chunks.append(chunk)
        finally:
            await response.aclose()
        # A new, fully read response with the same (still encoded) body and headers.
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=b"".join(chunks),
            request=request,
            extensions=response.extensions,
        )

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one logical call (with retries); return the 2xx response or raise ApiError."""
        response, _ = await self._request_ex(method, path, **kwargs)
        return response

    async def _request_ex(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        body: Any = _NO_BODY,
        idempotent: bool,
        idempotency_key: str | None = None,
        what: str = "the requested item",
        unmapped: tuple[str | None, str | None] | None = None,
        reply_json: bool = False,
    ) -> tuple[httpx.Response, bool]:
        """Like ``_request``; also says whether an earlier attempt of this call may have been
        processed (then an idempotent replay is this call's own effect, not an older call's).

        ``idempotent`` says whether the operation may be repeated blindly; an idempotency key
        makes any write safe to repeat (it is sent unchanged on every attempt). ``unmapped``
        is ``(account_id, service_id)`` for count routes, whose 404 means "not mapped".
        ``reply_json`` refuses a 2xx whose body is not JSON (a captive portal's or filtering
        proxy's page, or a mangled answer): it is decided like a 502, since the write may or
        may not have reached Gradient. Routes that parse their body need not set it.
        """
        full_path = API_PREFIX + path
        headers = None
        if idempotency_key:
            if len(idempotency_key) > 255 or not (
                idempotency_key.isascii() and idempotency_key.isprintable()
            ):
                # Checked here: h11 would refuse it on every attempt, as a transport error.
                raise ValueError("an idempotency key must be printable ASCII, ≤ 255 chars")
            headers = {"Idempotency-Key": idempotency_key}
            idempotent = True
        json_body = None if body is _NO_BODY else body
        loop_clock = time.monotonic
        deadline = loop_clock() + self.options.deadline
        attempt = 0
        last_error: ApiError | None = None
        maybe_processed = False  # by an earlier attempt of this call
        while True:
            attempt += 1
            await self._limiter.acquire()
            remaining = deadline - loop_clock()
            if remaining <= 0:
                # Not sent this time: the previous attempt's error stands (for a write it
                # proves nothing was applied, or we would not have retried it).
                raise last_error or TimeoutError_(
                    f"Gradient was not reached within the {self.options.deadline:g} s "
                    "allowed for this call.",
                    method=method,
                    path=full_path,
                )
            started = time.perf_counter()
            sent_at = loop_clock()  # the limiter's clock: a 429 is matched to its send second
            status: int | None = None
            retry_after: float | None = None
            exc: BaseException | None = None
            try:
                async with asyncio.timeout(remaining):
                    response = await self._bounded(
                        self._requests.build(
                            method, full_path, params=params, json_body=json_body, headers=headers
                        )
                    )
            except httpx.DecodingError:
                raise ResponseFormatError(
                    f"Gradient sent a response the app could not decode for {method} {full_path}.",
                    method=method,
                    path=full_path,
                ) from None
            except (httpx.TransportError, TimeoutError) as caught:
                exc = caught
                error: ApiError = self._network_error(caught, method, full_path)
            else:
                status = response.status_code
                if status != 429:  # a refusal is answered without the work: not a latency
                    self._limiter.observe(time.perf_counter() - started)  # concurrency follows
                if 200 <= status < 300 and reply_json and not _json_or_empty(response.content):
                    error = ResponseFormatError(
                        f"Gradient's answer to {method} {full_path} was not JSON "
                        f"({response.headers.get('content-type', 'no type').split(';')[0]}); "
                        "something between the app and Gradient answered instead.",
                        retryable=True,
                        status=status,
                        method=method,
                        path=full_path,
                    )
                    status = 502  # decided (and logged) like a bad gateway: outcome unknown
                elif 200 <= status < 300:
                    if logger.isEnabledFor(logging.DEBUG):
                        logger.debug(
                            "%s %s -> %d in %.1f ms",
                            method,
                            full_path,
                            status,
                            (time.perf_counter() - started) * 1000,
                        )
                    return response, maybe_processed
                else:
                    if status in (429, 503):
                        retry_after = parse_retry_after(response.headers.get("retry-after"))
                    error = self._status_error(
                        response, method, full_path, what, unmapped, retry_after
                    )
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s %s -> %s in %.1f ms (attempt %d)",
                    method,
                    full_path,
                    status if status is not None else type(exc).__name__,
                    (time.perf_counter() - started) * 1000,
                    attempt,
                )
            decision = decide(
                attempt=attempt,
                idempotent=idempotent,
                status=status,
                exc=exc,
                retry_after=retry_after,
                remaining=deadline - loop_clock(),
                policy=self._policy,
            )
            if status == 429:
                # The limit is per token: slow every call of this client, not just this one
                # (the rate adapts; see ratelimit.TokenBucket.throttled). Capped like the retry
                # delay: a hostile or broken `Retry-After: 86400` must not freeze every later
                # call (the limiter's wait ignores call deadlines).
                self._limiter.throttled(
                    sent_at,
                    min(retry_after, self._policy.retry_after_cap)
                    if retry_after is not None
                    else decision.delay,
                )
            if decision.action is Action.RETRY:
                logger.debug(
                    "retrying %s %s in %.2f s (%s)",
                    method,
                    full_path,
                    decision.delay,
                    decision.reason,
                )
                last_error = error
                if exc is None:
                    maybe_processed |= status is not None and status >= 500
                else:
                    maybe_processed |= not never_reached_server(exc)
                await asyncio.sleep(decision.delay)
                continue
            if decision.action is Action.OUTCOME_UNKNOWN:
                raise OutcomeUnknownError(
                    f"It is unknown whether Gradient applied {method} {full_path} "
                    f"({error.summary.rstrip('.')}).",
                    cause=error,
                    status=error.status,
                    server_message=error.server_message,
                    method=method,
                    path=full_path,
                ) from error
            raise error from exc  # the transport exception, if any, stays for debugging

    def _status_error(
        self,
        response: httpx.Response,
        method: str,
        path: str,
        what: str,
        unmapped: tuple[str | None, str | None] | None,
        retry_after: float | None,
    ) -> ApiError:
        status = response.status_code
        message = self._redact(server_message_from_body(response.content))
        if status == 404 and unmapped is not None and (message is None or "map" in message.lower()):
            account_id, service_id = unmapped
            return UnmappedError(
                f"Account '{account_id}' is not mapped to service '{service_id}' "
                "in Gradient (404).",
                account_id=account_id,
                service_id=service_id,
                status=status,
                server_message=message,
                method=method,
                path=path,
            )
        return error_for_status(
            status, message, method=method, path=path, what=what, retry_after=retry_after
        )

    def _network_error(self, exc: BaseException, method: str, path: str) -> ApiError:
        host = httpx.URL(self.base_url).host
        common: dict[str, Any] = {"method": method, "path": path}
        if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
            kind = "connect to" if isinstance(exc, httpx.ConnectTimeout) else "get an answer from"
            return TimeoutError_(f"Could not {kind} Gradient at {host} in time.", **common)
        detail = self._redact(str(exc)) or type(exc).__name__
        detail = " ".join(detail.split())[:200]
        if self.proxy_url and (refused := proxy_error(exc, self.proxy_url, detail, common)):
            return refused
        if "CERTIFICATE_VERIFY_FAILED" in detail:
            return NetworkError(
                f"The TLS certificate of {host} could not be verified.",
                user_hint="A proxy or antivirus may be intercepting HTTPS; ask your IT team "
                "to allow the app, or install their root certificate system-wide.",
                **common,
            )
        if isinstance(exc, httpx.ConnectError):
            return NetworkError(f"Could not connect to Gradient at {host} ({detail}).", **common)
        return NetworkError(f"The connection to Gradient at {host} failed ({detail}).", **common)

    # ----------------------------------------------------------------- parsing

    def _json(self, response: httpx.Response) -> Any:
        """The decoded JSON body, ``None`` for an empty one; ResponseFormatError otherwise."""
        content = response.content
        if not content.strip():
            return None
        try:
            return json.loads(content)
        except (ValueError, UnicodeDecodeError):
            kind = response.headers.get("content-type", "unknown type").split(";")[0]
            raise ResponseFormatError(
                f"Gradient sent a response the app could not read (not JSON, {kind}, "
                f"{len(content)} bytes) for {response.request.method} "
                f"{response.request.url.path}.",
                status=response.status_code,
                method=response.request.method,
                path=response.request.url.path,
            ) from None

    def _format_error(self, response: httpx.Response, detail: str) -> ResponseFormatError:
        return ResponseFormatError(
            f"Gradient sent an unexpected response to {response.request.method} "
            f"{response.request.url.path} ({detail}).",
            status=response.status_code,
            method=response.request.method,
            path=response.request.url.path,
        )

    def _model(self, cls: type[M], data: Any, response: httpx.Response) -> M:
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError as exc:
            # Only field locations: pydantic's str() would echo input values.
            first = exc.errors(include_url=False, include_input=False)[0]
            loc = ".".join(str(p) for p in first["loc"]) or cls.__name__
            raise self._format_error(
                response, f"{cls.__name__}: {loc} {first['msg'].lower()}"
            ) from None

    def _models(self, cls: type[M], data: Any, response: httpx.Response) -> list[M]:
        if isinstance(data, dict):
            # Peers saw bare arrays; accept an envelope or a single object too.
            data = data.get("data", data)
            if isinstance(data, dict):
                data = [data]
        if not isinstance(data, list):
            raise self._format_error(response, f"expected a list of {cls.__name__}")
        return [self._model(cls, item, response) for item in data]
