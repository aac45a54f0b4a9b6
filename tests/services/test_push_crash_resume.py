"""A push killed for real (SIGKILL of a subprocess pushing from the same database) and then
restarted lands every count exactly once: no add or subtract is applied twice, none is lost.

The sandbox stays up in the test process with latency (so the kill lands with requests in
flight) and a rate of 500s *after* applying a write (so retries must be recognised as repeats).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.sandbox.seed import VENDOR_KEY
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.usage import UsageService
from tests.usage_helpers import PARTNER_KEY, connected_partner, service_ids

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = 60


@pytest.mark.slow
def test_killed_push_resumes_without_applying_any_add_or_subtract_twice(
    sandbox_factory: Any, isolated_home: Path
) -> None:
    sb = sandbox_factory(seed="demo", rate_limit=None)
    ctx = AppContext.open()
    try:
        partner = asyncio.run(connected_partner(ctx, sb, ACCOUNTS))
        s0, s1, s2 = service_ids(ctx, partner)
        usage = UsageService(ctx, partner)
        accounts = [f"acct-{i:04d}" for i in range(ACCOUNTS)]

        # Known starting totals: every add/subtract becomes an absolute set of its expected
        # total, so nothing depends on the sandbox's idempotency keys (ignored by default).
        for acc in accounts:
            usage.stage(
                [
                    usage.make_edit((s0, acc), "set", 100),
                    usage.make_edit((s1, acc), "set", 100),
                    usage.make_edit((s2, acc), "set", 0),
                ]
            )

        async def baseline() -> Any:
            try:
                return await usage.push()
            finally:
                await ctx.aclose()

        assert asyncio.run(baseline()).all_landed
        rows = []
        for acc in accounts:
            rows += [(s0, acc, 7, "add"), (s1, acc, 3, "subtract"), (s2, acc, 5, "add")]
            rows += [(s0, acc, 2.5, "add")]  # a second row on the same pair, same batch
        ctx.outbox.enqueue(partner.id or 0, rows, actor="test")
        rebuilds_before = sb.state.rebuilds(PARTNER_KEY)

        sb.options.latency_ms = 40.0
        sb.options.fail_after_apply_rate = 0.05
        env = dict(
            os.environ,
            CHILD_PROFILE="p",
            CHILD_VENDOR_KEY=VENDOR_KEY,
            CHILD_PARTNER="Contoso",
            CHILD_PARTNER_KEY=PARTNER_KEY,
        )
        child = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "push_child.py")],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while ctx.outbox.counts_by_state(partner.id or 0).get("sent", 0) < 3 * ACCOUNTS + 60:
                assert child.poll() is None, child.stdout.read().decode() if child.stdout else ""
                assert time.monotonic() < deadline, "the child never got going"
                time.sleep(0.02)
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            if child.stdout:
                child.stdout.close()
        assert child.returncode == -signal.SIGKILL

        states = ctx.outbox.counts_by_state(partner.id or 0)
        unfinished = states.get("sending", 0) + states.get("pending", 0) + states.get("unknown", 0)
        assert unfinished > 0, f"the kill did not land mid-push: {states}"
        assert states.get("sending", 0) > 0  # rows whose fate the dead process never learnt
        message = UsageService(ctx, partner).unfinished()
        assert message is not None and message.startswith(f"Finishing {unfinished:,} count")

        # Restart: a fresh context on the same database picks the rows up and finishes them.
        sb.options.latency_ms = 0.0
        restarted = AppContext.open()

        async def resume() -> Any:
            try:
                return await UsageService(restarted, partner).push()
            finally:
                await restarted.aclose()

        summary = asyncio.run(resume())
        restarted.close()
        assert summary.all_landed, (
            summary.text(),
            [str(r.error) for r in summary.report.rows("failed")],
        )
        assert summary.resumed == unfinished
    finally:
        ctx.close()

    counts = sb.state.counts(PARTNER_KEY)
    for acc in accounts:
        assert counts[(s0, acc)]["unitCount"] == 109.5, acc
        assert counts[(s1, acc)]["unitCount"] == 97, acc
        assert counts[(s2, acc)]["unitCount"] == 5, acc
    # The killed push never reached its final (rebuilding) row; the resumed one rebuilt once.
    assert sb.state.rebuilds(PARTNER_KEY) == rebuilds_before + 1
