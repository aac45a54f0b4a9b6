"""Fixtures of the sandbox tests: a fresh sandbox per test (no rate limit, short alert delay)
and a plain httpx client on it holding the demo partner's token."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gradient_desktop.sandbox.server import SandboxServer
from tests.sandbox.helpers import api_client, running_sandbox


@pytest.fixture
def sb() -> Iterator[SandboxServer]:
    with running_sandbox() as server:
        yield server


@pytest.fixture
def api(sb: SandboxServer) -> Iterator[httpx.Client]:
    with api_client(sb) as c:
        yield c
