"""Fixtures of the API client tests: sandboxes shared by a module (a test that changes faults
starts its own, and ``new_partner`` gives each test its own counters)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gradient_desktop.sandbox.seed import make_large_partner
from gradient_desktop.sandbox.server import SandboxOptions, SandboxServer


@pytest.fixture(scope="module")
def sb() -> Iterator[SandboxServer]:
    """One demo sandbox for the module; tests that change faults start their own."""
    with SandboxServer(SandboxOptions(seed="demo", random_seed=1234)) as server:
        yield server


@pytest.fixture(scope="module")
def big_sb() -> Iterator[SandboxServer]:
    """A sandbox without a rate limit holding a 50,000-client partner (``big-partner``)."""
    with SandboxServer(SandboxOptions(seed="demo", rate_limit=None)) as server:
        make_large_partner(server.state, "big-partner", 50_000)
        yield server
