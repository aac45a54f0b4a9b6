"""Deterministic regressions for the bugs the fault matrix and crash loop found.

1. A 2xx count answer that is not JSON (captive portal, block page) was taken as success:
   ~3 % of counts silently lost behind a portal answering 3 % of requests.
2. A ``set`` applied with ``no_build=true`` whose answer was lost, resumed as a later push's
   final row (without ``no_build``) under the same key, was refused 422 by the sandbox and
   reported "failed" although it had landed.
3. After a row failed transiently, later rows of the same account × service were still sent,
   so a re-sent ``add`` would land after a later ``set`` and leave a wrong total.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from gradient_desktop.api import (
    CountRow,
    Credentials,
    OutcomeUnknownError,
    PushReport,
    VendorApiClient,
    push_counts,
)
from gradient_desktop.sandbox.seed import VENDOR_KEY
from gradient_desktop.sandbox.server import SandboxServer
from tests.reliability.fault_proxy import Fault, FaultPlan, FaultProxy, RequestInfo
from tests.reliability.helpers import fast_options, new_partner


def _only(key: str, fault: Fault) -> FaultPlan:
    return FaultPlan(lambda r: fault if r.idempotency_key == key else Fault())


def _push(url: str, partner: str, rows: list[CountRow], retries: int = 4) -> PushReport:
    async def main() -> PushReport:
        options = replace(fast_options(), max_retries=retries, backoff_base=0.01)
        async with VendorApiClient(url, Credentials(VENDOR_KEY, partner), options) as client:
            return await push_counts(client, rows)

    return asyncio.run(main())


def test_captive_portal_200_on_a_count_is_retried_not_taken_as_success(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sb = sandbox_factory(seed="demo", rate_limit=None)
    partner, skus = new_partner(sb.state, 3)
    portal_once: list[int] = []

    def plan(r: RequestInfo) -> Fault:
        if r.idempotency_key == "k-portal" and not portal_once:
            portal_once.append(r.index)
            return Fault("captive")
        return Fault()

    with FaultProxy(sb.base_url, FaultPlan(plan)) as proxy:
        report = _push(proxy.base_url, partner, [CountRow(skus[0], "acc-0", 7, key="k-portal")])

    assert report.ok == 1 and proxy.stats.by_kind["captive"] == 1
    assert proxy.stats.keys["k-portal"] == 2  # the portal's page, then the real answer
    assert sb.state.counts(partner)[(skus[0], "acc-0")]["unitCount"] == 7


def test_captive_portal_200_on_an_unkeyed_add_is_an_unknown_outcome(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sb = sandbox_factory(seed="demo", rate_limit=None)
    partner, skus = new_partner(sb.state, 3)
    with FaultProxy(sb.base_url, FaultPlan(lambda r: Fault("captive"))) as proxy:

        async def main() -> None:
            creds = Credentials(VENDOR_KEY, partner)
            async with VendorApiClient(proxy.base_url, creds, fast_options()) as client:
                with pytest.raises(OutcomeUnknownError) as info:
                    await client.add_count(skus[0], "acc-0", 2)
                assert "not JSON" in str(info.value) and "applied twice" in str(info.value)

        asyncio.run(main())
    assert proxy.stats.requests == 1  # a delta without a key is never repeated blindly


def test_a_row_applied_unseen_and_resumed_as_the_final_row_is_replayed_and_rebuilds_once(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sb = sandbox_factory(seed="demo", rate_limit=None)
    partner, skus = new_partner(sb.state, 3)

    async def main() -> PushReport:
        async with VendorApiClient(
            sb.base_url, Credentials(VENDOR_KEY, partner), fast_options()
        ) as client:
            # The first push applied it with no_build=true; the app died before noting it.
            await client.set_count(skus[0], "acc-0", 5, no_build=True, idempotency_key="k-1")
            resumed = [
                CountRow(skus[1], "acc-0", 3, key="k-2"),
                CountRow(skus[0], "acc-0", 5, key="k-1"),
            ]
            return await push_counts(client, resumed)

    report = asyncio.run(main())

    assert [r.outcome for r in report.results] == ["ok", "ok"], [
        str(r.error) for r in report.results
    ]
    assert report.rebuild_triggered and sb.state.rebuilds(partner) == 1


def test_a_transiently_failed_row_holds_back_the_rest_of_its_pair(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sb = sandbox_factory(seed="demo", rate_limit=None)
    partner, skus = new_partner(sb.state, 3)
    s, other = skus[0], skus[1]
    rows = [
        CountRow(s, "acc-0", 50, key="k-set"),
        CountRow(s, "acc-0", 5, op="add", key="k-add"),
        CountRow(s, "acc-0", 70, key="k-set-2"),  # the pair's last set: would be the final row
        CountRow(other, "acc-1", 9, key="k-other"),
    ]
    with FaultProxy(sb.base_url, _only("k-add", Fault("status", status=503))) as proxy:
        first = _push(proxy.base_url, partner, rows, retries=1)
        outcomes = [r.outcome for r in first.results]
        assert outcomes == ["ok", "failed", "cancelled", "ok"]
        assert "503" in str(first.results[2].error)  # says why it was held back
        assert sb.state.counts(partner)[(s, "acc-0")]["unitCount"] == 50  # 70 did not overtake
        assert first.rebuild_triggered and sb.state.rebuilds(partner) == 1  # via another row

        proxy.set_plan(FaultPlan.none())
        second = _push(proxy.base_url, partner, [r.row for r in first.results if r.outcome != "ok"])

    assert second.ok == 2
    assert sb.state.counts(partner)[(s, "acc-0")]["unitCount"] == 70  # 50 + 5, then set 70


def test_rows_rejected_by_a_revoked_key_land_once_the_new_key_is_entered(
    sandbox_factory: Callable[..., SandboxServer], tmp_path: Path
) -> None:
    from gradient_desktop.counts import CountRow
    from gradient_desktop.services.partners import PartnerDirectory
    from gradient_desktop.services.push import PushService
    from tests.reliability.helpers import (
        accounts_for,
        add_partner,
        fold,
        make_context,
        mixed_rows,
        run_service,
        wrong_counts,
    )

    sb = sandbox_factory(seed="demo", rate_limit=None)
    old_key, skus = new_partner(sb.state, accounts_for(600))
    new_key: list[str] = []

    def rotate_at_200(r: RequestInfo) -> Fault:
        if r.index == 200:  # the MSP regenerates the key in Synthesize, mid-push
            new_key.append(sb.state.rotate_key(old_key))
        return Fault()

    rows = mixed_rows(skus, 600, seed=5)
    ctx = make_context(tmp_path / "gd.sqlite3")
    try:
        with FaultProxy(sb.base_url, FaultPlan(rotate_at_200)) as proxy:
            partner = add_partner(ctx, proxy.base_url, old_key)
            PushService(ctx).enqueue(partner, [CountRow(*r) for r in rows])
            first = run_service(ctx, partner)
            assert first.report.aborted_by is not None and "401" in str(first.report.aborted_by)
            PartnerDirectory(ctx).set_partner_key(partner, new_key[0])  # the user reconnects
            second = run_service(ctx, partner)
        assert ctx.outbox.counts_by_state(partner.id) == {"sent": 600}, second.text()
        assert wrong_counts(sb.state, new_key[0], fold(rows)) == []
    finally:
        ctx.close()
