"""The retry rules as pure functions: what is retried by status and by exception, the bounds,
full-jitter backoff, and Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from gradient_desktop.api.retry import Action, RetryPolicy, decide, parse_retry_after


@pytest.mark.parametrize(
    ("status", "idempotent", "action"),
    [
        (500, True, Action.RETRY),
        (503, True, Action.RETRY),
        (429, True, Action.RETRY),
        (408, True, Action.RETRY),
        (429, False, Action.RETRY),  # refused before processing: safe even for add/alert
        (408, False, Action.RETRY),
        (500, False, Action.OUTCOME_UNKNOWN),
        (502, False, Action.OUTCOME_UNKNOWN),
        (501, True, Action.RAISE),
        (409, True, Action.RAISE),  # a conflict, never retried
        (400, True, Action.RAISE),
        (401, True, Action.RAISE),
        (404, True, Action.RAISE),
    ],
)
def test_retry_decision_by_status(status: int, idempotent: bool, action: Action) -> None:
    assert decide(attempt=1, idempotent=idempotent, status=status).action is action


@pytest.mark.parametrize(
    ("exc", "idempotent", "action"),
    [
        (httpx.ConnectError("refused"), False, Action.RETRY),
        (httpx.ConnectTimeout("slow"), False, Action.RETRY),
        (httpx.PoolTimeout("busy"), False, Action.RETRY),
        (httpx.ReadTimeout("slow"), True, Action.RETRY),
        (httpx.ReadTimeout("slow"), False, Action.OUTCOME_UNKNOWN),
        (httpx.RemoteProtocolError("eof"), False, Action.OUTCOME_UNKNOWN),
        (httpx.ReadError("reset"), True, Action.RETRY),
        (TimeoutError(), False, Action.OUTCOME_UNKNOWN),
        (httpx.UnsupportedProtocol("x"), True, Action.RAISE),
        (ValueError("bug"), True, Action.RAISE),
    ],
)
def test_retry_decision_by_exception(exc: BaseException, idempotent: bool, action: Action) -> None:
    assert decide(attempt=1, idempotent=idempotent, exc=exc).action is action


def test_retry_bounded_by_attempts_and_deadline() -> None:
    policy = RetryPolicy(max_retries=2)
    assert decide(attempt=2, idempotent=True, status=503, policy=policy).action is Action.RETRY
    assert decide(attempt=3, idempotent=True, status=503, policy=policy).action is Action.RAISE
    late = decide(attempt=1, idempotent=True, status=429, retry_after=5, remaining=4)
    assert late.action is Action.RAISE


def test_backoff_is_full_jitter_exponential_capped() -> None:
    top = [
        decide(
            attempt=n,
            idempotent=True,
            status=503,
            rand=lambda: 1.0,
            policy=RetryPolicy(max_retries=10),
        ).delay
        for n in range(1, 9)
    ]
    assert top == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert decide(attempt=3, idempotent=True, status=503, rand=lambda: 0.0).delay == 0.0


def test_retry_after_honoured_and_capped() -> None:
    assert decide(attempt=1, idempotent=True, status=429, retry_after=2.5).delay == 2.5
    assert decide(attempt=1, idempotent=True, status=429, retry_after=600).delay == 30.0


def test_parse_retry_after_seconds_and_http_date() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after(
        format_datetime(now + timedelta(seconds=7), usegmt=True), now=now
    ) == pytest.approx(7.0)
    assert parse_retry_after("Wed, 01 Jan 2020 00:00:00 GMT", now=now) == 0.0
    for junk in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(junk) is None
