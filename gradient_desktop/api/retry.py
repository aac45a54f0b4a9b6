"""The one retry decision of the client, plus backoff and ``Retry-After`` parsing.

Rules (vendor-api.md §9, anthropic-sdk-python's ``_should_retry`` as the model):

* Transient failures are network errors, 408, 429 and 5xx (except 501). Other statuses are
  final answers; 409 in particular is a conflict, never retried.
* An *idempotent* call (GET, absolute PATCH/count) is retried on any transient failure.
* A *non-idempotent* write (add/subtract, alert, create) is retried only when the request
  provably never reached the server's processing: connect-phase errors and 408/429. A 5xx or a
  broken connection after sending yields ``OUTCOME_UNKNOWN`` instead — unless the caller gave
  an idempotency key, which makes the write idempotent on the server side.
* Delays: ``Retry-After`` (seconds or HTTP date) capped at 30 s, else exponential backoff with
  full jitter (base 0.25 s, cap 8 s); never past the call's deadline.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

__all__ = [
    "Action",
    "Decision",
    "RetryPolicy",
    "backoff_delay",
    "decide",
    "never_reached_server",
    "parse_retry_after",
]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 4
    backoff_base: float = 0.25
    backoff_cap: float = 8.0
    retry_after_cap: float = 30.0


class Action(enum.Enum):
    RETRY = "retry"
    RAISE = "raise"  # give up: raise the error of the last attempt
    OUTCOME_UNKNOWN = "outcome_unknown"  # give up: the write may have been applied


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    delay: float = 0.0
    reason: str = ""


# Failures raised before a single byte of the request could be processed by the server.
_NEVER_SENT: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
)


def never_reached_server(exc: BaseException) -> bool:
    """True when ``exc`` proves the request was not processed (connect phase, pool wait)."""
    return isinstance(exc, _NEVER_SENT)


def backoff_delay(attempt: int, policy: RetryPolicy, rand: Callable[[], float]) -> float:
    """Full jitter: uniform in [0, min(cap, base·2^(attempt-1))] (AWS architecture blog)."""
    ceiling = min(policy.backoff_cap, policy.backoff_base * (2.0 ** max(0, attempt - 1)))
    return rand() * ceiling


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:  # pragma: no cover - older Pythons returned None
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def decide(
    *,
    attempt: int,
    idempotent: bool,
    status: int | None = None,
    exc: BaseException | None = None,
    retry_after: float | None = None,
    remaining: float = math.inf,
    policy: RetryPolicy = RetryPolicy(),
    rand: Callable[[], float] = random.random,
) -> Decision:
    """What to do after attempt number ``attempt`` (1-based) failed.

    Exactly one of ``status`` (an HTTP error status) and ``exc`` (a transport exception)
    describes the failure. ``idempotent`` is true for idempotent methods *and* for writes
    carrying an idempotency key. ``remaining`` is the time left before the call's deadline.
    """
    if exc is not None:
        if isinstance(exc, httpx.UnsupportedProtocol) or not isinstance(
            exc, (httpx.TransportError, TimeoutError)
        ):
            return Decision(Action.RAISE, reason="not a transient transport error")
        maybe_processed = not never_reached_server(exc)
        reason = type(exc).__name__
    elif status is not None:
        if status in (408, 429):
            # 408: the server gave up waiting for the request; 429: it refused to process
            # it. Either way nothing was applied, so even non-idempotent writes may retry.
            maybe_processed = False
        elif status >= 500 and status != 501:
            maybe_processed = True
        else:
            return Decision(Action.RAISE, reason=f"status {status} is final")
        reason = f"status {status}"
    else:  # pragma: no cover - programming error
        raise ValueError("decide() needs a status or an exception")

    if maybe_processed and not idempotent:
        return Decision(Action.OUTCOME_UNKNOWN, reason=f"{reason} after sending a write")
    if attempt > policy.max_retries:
        return Decision(Action.RAISE, reason=f"{reason}; retries exhausted")
    if retry_after is not None:
        delay = min(retry_after, policy.retry_after_cap)
    else:
        delay = backoff_delay(attempt, policy, rand)
    if delay >= remaining:
        return Decision(Action.RAISE, reason=f"{reason}; deadline would pass")
    return Decision(Action.RETRY, delay=delay, reason=reason)
