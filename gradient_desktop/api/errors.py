"""Typed errors of the Vendor API client, keyed by HTTP status.

``str(err)`` is a sentence a user can act on: what happened, then what to do (``user_hint``).
No key or token ever appears in a message: server text is scrubbed by the client before it
gets here (see ``client._Redactor``) and requests are described by method and path only.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

__all__ = [
    "ApiError",
    "AuthenticationError",
    "ConflictError",
    "InsecureUrlError",
    "NetworkError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "ProxyRefusedError",
    "RateLimitError",
    "ResponseFormatError",
    "ServerError",
    "TimeoutError_",
    "UnmappedError",
    "ValidationError",
    "error_for_status",
    "server_message_from_body",
]

_MAX_SERVER_MESSAGE = 300


class ApiError(Exception):
    """Base of every error raised by the Vendor API client."""

    default_hint: ClassVar[str] = "Try again; if it keeps failing, contact Gradient support."
    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        summary: str,
        *,
        status: int | None = None,
        server_message: str | None = None,
        user_hint: str | None = None,
        retryable: bool | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.summary = summary
        self.status = status
        self.server_message = server_message
        self.user_hint = user_hint if user_hint is not None else self.default_hint
        self.retryable = self.default_retryable if retryable is None else retryable
        self.method = method
        self.path = path
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return f"{self.summary} {self.user_hint}".strip()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, {self.summary!r})"


class AuthenticationError(ApiError):
    """401 (bad, regenerated or disconnected key) or 403 (Gradient's anomaly detection)."""

    default_hint = "Check the partner key in Synthesize → Integrations, or regenerate it."


class PermissionDeniedError(AuthenticationError):
    """403: Gradient "detected an anomaly with your API usage"."""

    default_hint = (
        "Wait a few minutes before trying again; if it persists, contact Gradient support."
    )


class NotFoundError(ApiError):
    """404 for anything but an unmapped count."""

    default_hint = "It may have been deleted or never created; refresh and try again."


class UnmappedError(NotFoundError):
    """Count 404 "No account map found": the MSP has not mapped this account or service."""

    default_hint = (
        "The MSP must map the account and the service in Synthesize → Integrations "
        "before this usage can be billed."
    )

    def __init__(
        self, summary: str, *, account_id: str | None, service_id: str | None, **kwargs: Any
    ) -> None:
        self.account_id = account_id
        self.service_id = service_id
        super().__init__(summary, **kwargs)


class ValidationError(ApiError):
    """400/422: Gradient refused the request body or parameters."""

    default_hint = "Correct the value and try again."


class ConflictError(ApiError):
    """409: a resource with this id already exists (never retried)."""

    default_hint = "Refresh the list: the item most likely exists already."


class RateLimitError(ApiError):
    """429: over Gradient's 100 requests/second."""

    default_hint = "Wait a moment and try again; the app slows down by itself."
    default_retryable = True

    def __init__(self, summary: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(summary, **kwargs)


class ServerError(ApiError):
    """5xx from Gradient (or a proxy in front of it)."""

    default_hint = "Try again in a few minutes; if it persists, contact Gradient support."
    default_retryable = True


class NetworkError(ApiError):
    """The request did not complete: DNS, connection, TLS, reset, proxy."""

    default_hint = "Check the internet connection, VPN or proxy settings, then try again."
    default_retryable = True


class ProxyRefusedError(NetworkError):
    """The proxy between this computer and Gradient refused or could not be reached."""

    default_hint = (
        "Check the proxy in Settings → Network (system, none or a manual address) or ask your "
        "IT team to allow Gradient Desktop through the proxy."
    )


class TimeoutError_(NetworkError):
    """Gradient did not answer within the configured timeout or the call's deadline."""


class OutcomeUnknownError(ApiError):
    """A non-idempotent write (add/subtract, alert, create) whose fate is unknown.

    Raised instead of retrying when the request may have been processed (a 5xx or a broken
    connection after it was sent). Repeating it blindly could apply it twice.
    """

    default_hint = "Check the result in Synthesize before repeating it, so it is not applied twice."

    def __init__(self, summary: str, *, cause: ApiError | None = None, **kwargs: Any) -> None:
        self.cause = cause
        super().__init__(summary, **kwargs)


class InsecureUrlError(ApiError, ValueError):
    """The base URL would send the API key in clear text (plain http to a non-local host)."""

    default_hint = "Use an https:// address; plain http is only allowed for local test servers."


class ResponseFormatError(ApiError):
    """The body was not the JSON the contract describes (truncated, HTML, missing fields)."""

    default_hint = (
        "A proxy or captive portal may be intercepting traffic; try again and report it "
        "if it persists."
    )


def server_message_from_body(body: bytes) -> str | None:
    """The human message of a NestJS-style error body, or None when there is none.

    ``message`` may be a string or a list of class-validator strings. HTML pages from proxies
    are not echoed (they are long and useless to a user).
    """
    if not body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    message: Any = None
    if isinstance(data, dict):
        message = data.get("message")
        if message is None:
            message = data.get("error")
    elif isinstance(data, str):
        message = data
    if isinstance(message, list):
        message = "; ".join(str(m) for m in message)
    if not isinstance(message, str) or not message.strip():
        return None
    text = " ".join(message.split())
    if len(text) > _MAX_SERVER_MESSAGE:
        text = text[: _MAX_SERVER_MESSAGE - 1] + "…"
    return text


def _with_detail(summary: str, server_message: str | None) -> str:
    if not server_message:
        return summary
    return f"{summary[:-1]}: {server_message.rstrip('.')}."


def error_for_status(
    status: int,
    server_message: str | None,
    *,
    method: str,
    path: str,
    what: str = "the requested item",
    retry_after: float | None = None,
) -> ApiError:
    """Map an HTTP error status to the typed error a caller can catch."""
    common: dict[str, Any] = {
        "status": status,
        "server_message": server_message,
        "method": method,
        "path": path,
    }
    if status == 401:
        return AuthenticationError("Gradient rejected the API key (401).", **common)
    if status == 403:
        return PermissionDeniedError(
            "Gradient refused the request (403); it may have flagged unusual API usage.",
            **common,
        )
    if status == 404:
        hint = None
        if server_message and "vendor profile" in server_message.lower():
            hint = "Check the vendor API key: Gradient does not know this vendor."
        return NotFoundError(
            _with_detail(f"Gradient could not find {what} (404).", server_message),
            user_hint=hint,
            **common,
        )
    if status in (400, 422):
        return ValidationError(
            _with_detail(f"Gradient rejected the request as invalid ({status}).", server_message),
            **common,
        )
    if status == 409:
        return ConflictError(
            _with_detail("Gradient already has a resource with this id (409).", server_message),
            **common,
        )
    if status == 429:
        return RateLimitError(
            "Gradient is limiting the request rate (429).", retry_after=retry_after, **common
        )
    if status == 408:
        return NetworkError("Gradient timed out waiting for the request (408).", **common)
    if 300 <= status < 400:
        return ApiError(
            f"Gradient answered {method} {path} with a redirect ({status}).",
            user_hint="Check the Gradient address in the settings "
            "(it should be https://app.usegradient.com).",
            **common,
        )
    if status >= 500:
        return ServerError(
            f"Gradient had a server error ({status}).",
            retryable=status != 501,
            **common,
        )
    return ApiError(
        _with_detail(f"Gradient answered {status} to {method} {path}.", server_message),
        **common,
    )
