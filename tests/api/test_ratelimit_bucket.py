"""The token bucket on a fake clock: no one-second window over rate plus burst, and a pause
that holds every caller, then spaces them."""

from __future__ import annotations

import pytest

from gradient_desktop.api import TokenBucket
from tests.api.helpers import max_in_window


@pytest.mark.parametrize("spread", [0.0, 0.003, 0.02])
def test_token_bucket_keeps_any_second_under_rate_plus_burst(spread: float) -> None:
    now = [0.0]
    bucket = TokenBucket(90, burst=5, clock=lambda: now[0])
    sends = []
    for i in range(1000):
        now[0] = i * spread  # callers arriving all at once, or spaced
        sends.append(now[0] + bucket.reserve())
    assert max_in_window(sends) <= 95
    assert sends[-1] >= (1000 - 5) / 90 - 0.01 or spread * 999 >= sends[-1]


def test_token_bucket_pause_holds_everyone_then_spaces_them() -> None:
    now = [10.0]
    bucket = TokenBucket(100, burst=5, clock=lambda: now[0])
    assert bucket.reserve() == 0.0
    bucket.pause(1.0)
    bucket.pause(0.5)  # pauses do not add up
    waits = [bucket.reserve() for _ in range(3)]
    assert waits[0] >= 1.0 and waits[1] > waits[0] and waits[2] - waits[1] == pytest.approx(0.01)
    unlimited = TokenBucket(None, clock=lambda: now[0])
    assert unlimited.reserve() == 0.0
    unlimited.pause(2.0)
    assert unlimited.reserve() == pytest.approx(2.0)
