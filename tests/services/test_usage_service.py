"""The usage service: staged set/add/subtract edits reach the sandbox's counts, validation refuses
what cannot be right, staged edits survive a restart and are never queued twice, count files
import with row-numbered errors, and drift lists what differs from a fresh source."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from gradient_desktop.counts import CountRow
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.usage import (
    StagingError,
    UsageService,
    format_amount,
    parse_amount,
)
from gradient_desktop.store.models import PartnerService
from tests.usage_helpers import PARTNER_KEY, connected_partner, service_ids


@pytest.fixture
def ctx() -> Iterator[AppContext]:
    context = AppContext.open()
    yield context
    context.close()


def _setup(ctx: AppContext, sandbox: Any, accounts: int = 4) -> tuple[Any, list[str]]:
    partner = asyncio.run(connected_partner(ctx, sandbox, accounts))
    return partner, service_ids(ctx, partner)


def _push(ctx: AppContext, usage: UsageService, **kw: Any) -> Any:
    async def go() -> Any:
        try:
            return await usage.push(**kw)
        finally:
            await ctx.aclose()

    return asyncio.run(go())


def _stage(usage: UsageService, acc: str, sid: str, op: str, amount: float) -> None:
    edit = usage.make_edit((sid, acc), op, amount)
    usage.stage([edit] if edit else [((acc, sid), None)])


def test_set_add_and_subtract_reach_the_sandbox_counts(ctx: AppContext, sandbox: Any) -> None:
    partner, sids = _setup(ctx, sandbox)
    usage = UsageService(ctx, partner)
    _stage(usage, "acct-0000", sids[0], "set", 10)
    _stage(usage, "acct-0001", sids[0], "set", 2.5)  # decimals are fine
    summary = _push(ctx, usage)
    assert summary.all_landed
    _stage(usage, "acct-0000", sids[0], "add", 5)
    _stage(usage, "acct-0001", sids[0], "subtract", 1.25)
    assert _push(ctx, usage).all_landed
    counts = sandbox.state.counts(PARTNER_KEY)
    assert counts[(sids[0], "acct-0000")]["unitCount"] == 15
    assert counts[(sids[0], "acct-0001")]["unitCount"] == 1.25
    assert sandbox.state.rebuilds(PARTNER_KEY) == 2  # one per push
    cells = usage.snapshot().cells
    assert cells[(sids[0], "acct-0000")].total == 15
    assert cells[(sids[0], "acct-0000")].state == "sent"


def test_subtract_below_zero_or_from_an_unknown_count_is_refused(
    ctx: AppContext, sandbox: Any
) -> None:
    partner, sids = _setup(ctx, sandbox, 2)
    usage = UsageService(ctx, partner)
    with pytest.raises(StagingError, match="does not know its current total"):
        usage.make_edit((sids[0], "acct-0000"), "subtract", 1)
    _stage(usage, "acct-0000", sids[0], "set", 3)
    with pytest.raises(StagingError, match=r"below zero.*Subtract at most 3"):
        usage.make_edit((sids[0], "acct-0000"), "subtract", 4)
    _push(ctx, usage)
    with pytest.raises(StagingError, match="below zero"):
        usage.make_edit((sids[0], "acct-0000"), "subtract", 3.5)
    # Staged changes of one cell merge: +2 then -5 is a net -3, which is allowed (3 - 3 = 0).
    _stage(usage, "acct-0000", sids[0], "add", 2)
    _stage(usage, "acct-0000", sids[0], "subtract", 5)
    edit = usage.staged[(sids[0], "acct-0000")]
    assert (edit.row.op, edit.row.unit_count, edit.old, edit.new) == ("subtract", 3, 3, 0)
    with pytest.raises(StagingError, match="0 changes nothing"):
        usage.make_edit((sids[0], "acct-0000"), "add", 0)


def test_storage_services_convert_bytes_with_binary_divisors(ctx: AppContext, sandbox: Any) -> None:
    svc = PartnerService(
        partner_id=1, service_id="s", name="Storage", unit_type="bytes", storage_unit="GB"
    )
    assert parse_amount("1073741824 B", svc) == 1.0
    assert parse_amount("512 MB", svc) == 0.5
    assert parse_amount("1 TB", svc) == 1024
    assert parse_amount("2.5", svc) == 2.5  # plain numbers are already in the service's unit
    assert format_amount(0.5, svc) == "0.5 GB"
    plain = PartnerService(partner_id=1, service_id="u", name="Seats")
    with pytest.raises(StagingError, match="plain number"):
        parse_amount("3 GB", plain)
    with pytest.raises(StagingError, match="not a number"):
        parse_amount("three", plain)


def test_staged_edits_survive_a_restart_and_undo_restores_them(
    ctx: AppContext, sandbox: Any
) -> None:
    partner, sids = _setup(ctx, sandbox, 3)
    usage = UsageService(ctx, partner)
    ctx.outbox.enqueue(partner.id or 0, [CountRow(sids[1], "acct-0001", 10)])  # a known total
    first = usage.stage([usage.make_edit((sids[0], "acct-0000"), "set", 7)])
    usage.stage([usage.make_edit((sids[1], "acct-0001"), "add", 4)])
    reopened = UsageService(ctx, partner)
    assert {k: (e.row.op, e.row.unit_count) for k, e in reopened.staged.items()} == {
        (sids[0], "acct-0000"): ("set", 7),
        (sids[1], "acct-0001"): ("add", 4),
    }
    usage.put(first)  # the inverse of the first staging = its undo
    assert (sids[0], "acct-0000") not in UsageService(ctx, partner).staged


def test_a_crash_after_queuing_does_not_queue_the_staged_edits_twice(
    ctx: AppContext, sandbox: Any
) -> None:
    partner, sids = _setup(ctx, sandbox, 2)
    usage = UsageService(ctx, partner)
    usage.stage([usage.make_edit((sids[0], "acct-0000"), "set", 4)])
    # Simulate the crash window: the token is written and the rows queued, the file not cleared.
    usage.save(commit_token="feedfacecafe0001")
    ctx.outbox.enqueue(
        partner.id or 0, usage.push_rows(), actor="me · usage editor feedfacecafe0001"
    )
    assert UsageService(ctx, partner).staged == {}
    # And the opposite: token written, crash before the enqueue → the edits stay staged.
    usage.stage([usage.make_edit((sids[0], "acct-0001"), "set", 9)])
    usage.save(commit_token="feedfacecafe0002")
    assert len(UsageService(ctx, partner).staged) == 2


def test_csv_import_reports_bad_rows_by_number_and_stages_the_good_ones(
    ctx: AppContext, sandbox: Any
) -> None:
    partner, sids = _setup(ctx, sandbox, 3)
    usage = UsageService(ctx, partner)
    services = {s.service_id: s.name for s in usage.snapshot().services}
    csv = (
        "accountId,serviceId,unitCount,op\n"
        f"acct-0000,{sids[0]},12,set\n"
        f"acct-0001,{sids[0]},abc,set\n"  # line 3: not a number
        f"acct-9999,{sids[0]},1,set\n"  # line 4: not mapped
        f"acct-0002,{sids[0]},5,subtract\n"  # line 5: nothing pushed yet
        f"acct-0002,nope,5,set\n"  # line 6: unknown service
        f"acct-0001,{sids[1]},1.5,add\n"
        f"acct-0000,{sids[1]},1,add\n"  # line 8: no known total to add to
    )
    ctx.outbox.enqueue(partner.id or 0, [CountRow(sids[1], "acct-0001", 10)])  # a known total
    result = usage.import_file(csv.encode(), "counts.csv")
    assert [e.line for e in result.errors] == [3, 4, 5, 6, 8]
    assert "Set an absolute count first" in result.errors[4].message
    assert "not a number" in result.errors[0].message
    assert "not mapped" in result.errors[1].message
    assert {(e.row.account_id, e.row.op, e.row.unit_count) for e in result.edits} == {
        ("acct-0000", "set", 12),
        ("acct-0001", "add", 1.5),
    }
    # Names resolve through the mappings: the vendor's account name and the service's name.
    by_name = f"accountName,serviceName,unitCount\nCustomer 0002,{services[sids[2]]},3\n"
    named = usage.import_file(by_name.encode(), "named.csv")
    assert not named.errors
    assert [(e.row.account_id, e.row.service_id) for e in named.edits] == [("acct-0002", sids[2])]


def test_same_count_for_all_clients_stages_one_set_per_mapped_account(
    ctx: AppContext, sandbox: Any
) -> None:
    partner, sids = _setup(ctx, sandbox, 5)
    usage = UsageService(ctx, partner)
    edits = usage.stage_all_clients(sids[1], 3)
    assert len(edits) == 5 and {e.row.op for e in edits} == {"set"}
    usage.stage(edits)
    _push(ctx, usage)
    counts = sandbox.state.counts(PARTNER_KEY)
    assert all(counts[(sids[1], f"acct-{i:04d}")]["unitCount"] == 3 for i in range(5))
    exported = usage.export_csv()
    assert (
        exported.splitlines()[0] == "accountId,serviceId,unitCount,accountName,serviceName,pushedAt"
    )
    assert len(exported.splitlines()) == 6


def test_drift_lists_differences_from_a_file_and_stages_them(ctx: AppContext, sandbox: Any) -> None:
    partner, sids = _setup(ctx, sandbox, 3)
    usage = UsageService(ctx, partner)
    usage.stage(usage.stage_all_clients(sids[0], 10))
    _push(ctx, usage)
    fresh = f"accountId,serviceId,unitCount\nacct-0000,{sids[0]},10\nacct-0001,{sids[0]},11\n"
    fresh += f"acct-0002,{sids[1]},4\n"
    rows, errors = usage.drift_from_file(fresh.encode(), "fresh.csv")
    assert not errors
    assert [(r.account_id, r.pushed, r.source) for r in rows] == [
        ("acct-0001", 10, 11),
        ("acct-0002", None, 4),
    ]
    usage.stage(usage.drift_edits(rows))
    _push(ctx, usage)
    assert usage.drift_from_file(fresh.encode(), "fresh.csv") == ([], [])
    assert sandbox.state.counts(PARTNER_KEY)[(sids[0], "acct-0001")]["unitCount"] == 11


def test_drift_against_the_sandbox_is_demo_only(ctx: AppContext, sandbox: Any) -> None:
    partner, _ = _setup(ctx, sandbox, 1)
    with pytest.raises(StagingError, match="no way to read counts back"):
        UsageService(ctx, partner).drift_from_demo_sandbox()


def test_unfinished_rows_are_described_and_resumed(ctx: AppContext, sandbox: Any) -> None:
    partner, sids = _setup(ctx, sandbox, 2)
    usage = UsageService(ctx, partner)
    assert usage.unfinished() is None
    ctx.outbox.enqueue(
        partner.id or 0, [(sids[0], "acct-0000", 2, "set"), (sids[0], "acct-0000", 1, "add")]
    )
    assert usage.unfinished() == "Finishing 2 counts queued by an earlier push (1 add, 1 set)."
    summary = _push(ctx, usage)
    assert summary.resumed == 2 and summary.all_landed
    assert sandbox.state.counts(PARTNER_KEY)[(sids[0], "acct-0000")]["unitCount"] == 3
