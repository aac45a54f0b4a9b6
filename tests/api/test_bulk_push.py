"""Bulk unit-count push: one billing rebuild, bounded concurrency, outcomes per row, cancel.

Runs against the Gradient sandbox over real sockets (its rebuild counter and per-token rate
window are the referees), plus one scripted server for the "outcome unknown" case.
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from gradient_desktop.api import (
    AuthenticationError,
    ClientOptions,
    CountResult,
    CountRow,
    Credentials,
    NetworkError,
    ProgressEvent,
    UnmappedError,
    ValidationError,
    VendorApiClient,
    push_counts,
)
from gradient_desktop.sandbox.seed import VENDOR_KEY, make_large_partner
from gradient_desktop.sandbox.server import SandboxOptions, SandboxServer
from tests.api.fault_server import FaultServer, response


@pytest.fixture(scope="module")
def sb() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxOptions(seed="demo", random_seed=99)) as server:
        yield server


class RecordingClient(VendorApiClient):
    """The real client, noting each count call: no_build flag, key, timing, concurrency."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[bool, str | None, float, float]] = []
        self.inflight = self.max_inflight = self.max_tasks = 0

    async def set_count(self, *args: Any, **kwargs: Any) -> CountResult:
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        self.max_tasks = max(self.max_tasks, len(asyncio.all_tasks()))
        started = time.monotonic()
        try:
            return await super().set_count(*args, **kwargs)
        finally:
            self.inflight -= 1
            self.calls.append(
                (kwargs["no_build"], kwargs.get("idempotency_key"), started, time.monotonic())
            )


def mapped_partner(sb: SandboxServer, mapped: int, unmapped: int = 0) -> tuple[str, list[str]]:
    """A fresh partner with accounts acc-0… (the first `mapped` mapped); returns key, SKU ids."""
    key = f"bulk-{uuid.uuid4().hex[:10]}"
    make_large_partner(sb.state, key, mapped + unmapped)
    client_ids = list(sb.state.client_names(key))
    sb.state.create_accounts(
        key, [{"id": f"acc-{i}", "name": f"Account {i}"} for i in range(mapped + unmapped)]
    )
    for i in range(mapped):
        sb.state.map_account(key, f"acc-{i}", client_ids[i])
    return key, [s["id"] for s in sb.state.vendor(VENDOR_KEY)["skus"][:3]]


def grid(skus: list[str], accounts: range, limit: int) -> list[CountRow]:
    rows = [CountRow(s, f"acc-{a}", float(a % 7) + 0.5) for a in accounts for s in skus]
    return rows[:limit]


def push(
    url: str,
    partner: str,
    rows: list[CountRow],
    client_cls: type = VendorApiClient,
    options: ClientOptions | None = None,
    **kwargs: Any,
) -> tuple[Any, Any]:
    async def main() -> tuple[Any, Any]:
        async with client_cls(url, Credentials(VENDOR_KEY, partner), options) as client:
            return await push_counts(client, rows, **kwargs), client

    return asyncio.run(main())


def test_push_sends_single_rebuild_after_all_rows(sb: SandboxServer) -> None:
    partner, skus = mapped_partner(sb, 170)
    rows = grid(skus, range(170), 500)
    events: list[ProgressEvent] = []
    sb.state.clear_requests()

    report, client = push(
        sb.base_url, partner, rows, RecordingClient, concurrency=16, on_progress=events.append
    )

    assert (report.total, report.ok, report.failed, report.unmapped) == (500, 500, 0, 0)
    assert report.rebuild_triggered and sb.state.rebuilds(partner) == 1
    # The one request without no_build started after every other one had completed.
    (final,) = [c for c in client.calls if not c[0]]
    assert final[2] >= max(c[3] for c in client.calls if c[0])
    assert final[1] == report.rebuild_row.key
    # Every row's key went out as its idempotency key.
    assert sorted(c[1] for c in client.calls) == sorted(r.row.key for r in report.results)
    # Bounded: a worker pool, not a task per row.
    # In-flight requests are what concurrency bounds; task counts also include the ones anyio
    # starts while opening connections, so they only guard against one task per row.
    assert client.max_inflight <= 16 and client.max_tasks < 100
    # Gradient's budget: never over 100/s. The client runs at 97/s; a loaded machine can bunch
    # its sends at the server into a few 429s, which cut its rate by 5 % each (ratelimit.py;
    # near our own rate they no longer teach a lower limit, issue 16) and are retried: every row
    # above still landed exactly once. A few in a hundred would be a limiter that ignores them
    # (5 were seen in a loaded CI run of 500 rows).
    assert sb.state.max_rps_seen(partner) <= 100
    refused = sum(1 for r in sb.state.requests() if r["status"] == 429)
    assert refused <= len(rows) // 50 and client.limiter.throttled_count == refused
    counts = sb.state.counts(partner)
    assert all(counts[(r.service_id, r.account_id)]["unitCount"] == r.unit_count for r in rows)
    assert [e.done for e in events] == list(range(1, 501))
    assert events[0].eta_s is not None and events[-1].eta_s == 0
    assert events[-1].ok == 500 and events[-1].elapsed == pytest.approx(report.elapsed, abs=0.5)


def test_unmapped_final_row_is_reported_and_rebuild_recovered(sb: SandboxServer) -> None:
    partner, skus = mapped_partner(sb, 30, unmapped=3)
    rows = [
        *grid(skus, range(30), 90),
        CountRow(skus[0], "acc-31", 4),
        CountRow(skus[1], "acc-32", 5),
    ]  # last set: unmapped

    report, _ = push(sb.base_url, partner, rows)

    assert (report.ok, report.unmapped, report.failed) == (90, 2, 0)
    assert report.rebuild_triggered and sb.state.rebuilds(partner) == 1
    assert report.rebuild_row not in rows[-2:]
    unmapped = report.rows("unmapped")
    assert [r.row.account_id for r in unmapped] == ["acc-31", "acc-32"]
    error = unmapped[-1].error
    assert isinstance(error, UnmappedError)
    assert (error.account_id, error.service_id) == ("acc-32", skus[1])


def test_rejected_final_row_fails_alone_and_rebuild_is_recovered(sb: SandboxServer) -> None:
    partner, skus = mapped_partner(sb, 20)
    rows = [*grid(skus, range(20), 60), CountRow("not-an-object-id", "acc-0", 1)]

    report, _ = push(sb.base_url, partner, rows, concurrency=8)

    assert (report.ok, report.failed) == (60, 1)
    assert isinstance(report.results[-1].error, ValidationError)
    assert report.rebuild_triggered and sb.state.rebuilds(partner) == 1


def test_injected_faults_still_land_every_row_once_with_one_rebuild() -> None:
    # Keyed deltas (the legacy routes) are exact only where keys are honoured: switched on here.
    options = SandboxOptions(
        seed="demo",
        fail_rate=0.15,
        fail_after_apply_rate=0.15,
        random_seed=5,
        honour_idempotency_key=True,
    )
    with SandboxServer(options) as flaky:
        partner, skus = mapped_partner(flaky, 20)
        rows = grid(skus, range(20), 60)
        adds = [CountRow(skus[0], f"acc-{a}", 2, op="add") for a in range(10)]
        opts = ClientOptions(backoff_base=0.01, backoff_cap=0.05, max_retries=8)

        report, _ = push(flaky.base_url, partner, rows + adds, options=opts)

        assert (report.ok, report.failed, report.unknown) == (70, 0, 0)
        assert flaky.state.rebuilds(partner) == 1
        counts = flaky.state.counts(partner)
        for a in range(10):  # set, then add 2 exactly once (keys make the retries safe)
            assert counts[(skus[0], f"acc-{a}")]["unitCount"] == a % 7 + 0.5 + 2
        assert {500, 503} <= {r["status"] for r in flaky.state.requests()}


def test_rows_of_one_account_and_service_keep_their_order(sb: SandboxServer) -> None:
    partner, skus = mapped_partner(sb, 40)
    rows = grid(skus, range(40), 100)
    rows[10:10] = [
        CountRow(skus[2], "acc-39", 5),
        CountRow(skus[2], "acc-39", 3, op="add"),
        CountRow(skus[2], "acc-39", 1, op="subtract"),
        CountRow(skus[0], "acc-38", 9),
        CountRow(skus[0], "acc-38", 1),
    ]

    report, _ = push(sb.base_url, partner, rows, concurrency=16)

    assert report.ok == len(rows) and sb.state.rebuilds(partner) == 1
    counts = sb.state.counts(partner)
    assert counts[(skus[0], "acc-38")]["unitCount"] == 1
    assert counts[(skus[2], "acc-39")]["unitCount"] == 5 + 3 - 1  # set, add, subtract


def test_cancel_stops_scheduling_and_reports_unsent_rows() -> None:
    with SandboxServer(SandboxOptions(seed="demo", latency_ms=20)) as slow:
        partner, skus = mapped_partner(slow, 100)
        rows = grid(skus, range(100), 300)
        cancel = asyncio.Event()
        done_at_cancel: list[int] = []

        def on_progress(event: ProgressEvent) -> None:
            if event.done == 20:
                done_at_cancel.append(event.done)
                cancel.set()

        started = time.monotonic()
        report, _ = push(
            slow.base_url, partner, rows, concurrency=4, cancel=cancel, on_progress=on_progress
        )

        assert time.monotonic() - started < 3
        assert report.cancel_requested and report.cancelled >= 300 - 20 - 4
        assert report.ok + report.cancelled == 300 and report.failed == 0
        assert report.results[-1].outcome == "cancelled"  # the final row never went out
        # The sandbox logs a request after its answer is out: let the last entries arrive.
        deadline = time.monotonic() + 2
        sent = [r for r in slow.state.requests() if r["path"].endswith("/count")]
        while len(sent) < report.ok and time.monotonic() < deadline:
            time.sleep(0.01)
            sent = [r for r in slow.state.requests() if r["path"].endswith("/count")]
        assert len(sent) == report.ok <= 20 + 4
        assert slow.state.rebuilds(partner) == 0 and report.needs_rebuild


def test_bad_key_aborts_the_push_without_leaking_it(sb: SandboxServer) -> None:
    rows = [CountRow("65a4fb1817346b4501eaf614", f"acc-{i}", 1) for i in range(200)]

    report, _ = push(sb.base_url, "partner-SECRET-key", rows, concurrency=8)

    assert isinstance(report.aborted_by, AuthenticationError)
    assert report.failed <= 8 and report.failed + report.cancelled == 200
    assert not report.rebuild_triggered
    assert all("SECRET" not in str(r.error) for r in report.results if r.error)


def test_unreachable_gradient_aborts_instead_of_waiting_out_every_row() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    opts = ClientOptions(max_retries=0, rate_limit_per_s=None)
    rows = [CountRow("s", f"a{i}", 1) for i in range(500)]

    report, _ = push(f"http://127.0.0.1:{port}", "p", rows, options=opts, concurrency=4)

    assert isinstance(report.aborted_by, NetworkError)
    assert report.failed < 20 and report.failed + report.cancelled == 500
    assert report.results[-1].outcome == "cancelled" and not report.rebuild_triggered


def test_outcome_unknown_rows_are_reported_not_raised() -> None:
    async def main() -> Any:
        async with FaultServer(["reset", response(201, {"status": 201})]) as srv:
            opts = ClientOptions(rate_limit_per_s=None, backoff_base=0.001)
            async with VendorApiClient(srv.url, Credentials("v", "p"), opts) as client:
                rows = [
                    CountRow("s", "a", 1, op="add", key=""),  # no key: not retried
                    CountRow("s", "b", 2),
                ]
                return await push_counts(client, rows, concurrency=1)

    report = asyncio.run(main())
    assert [r.outcome for r in report.results] == ["unknown", "ok"]
    assert report.unknown == 1 and report.rebuild_triggered


def test_every_row_rebuilds_when_single_rebuild_mode_is_off(sb: SandboxServer) -> None:
    partner, skus = mapped_partner(sb, 5)
    report, _ = push(sb.base_url, partner, grid(skus, range(5), 12), no_build=False)
    assert report.ok == 12 and sb.state.rebuilds(partner) == 12


def test_empty_push_and_row_validation() -> None:
    async def main() -> Any:
        async with VendorApiClient("https://app.usegradient.com", Credentials("v", "p")) as c:
            return await push_counts(c, [])

    report = asyncio.run(main())
    assert report.total == 0 and not report.rebuild_triggered
    with pytest.raises(ValueError, match="operation"):
        CountRow("s", "a", 1, op="multiply")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        CountRow("s", "a", float("inf"))
    with pytest.raises(ValueError, match="account id"):
        CountRow("s", "", 1)
    with pytest.raises(ValueError, match="ASCII"):
        CountRow("s", "a", 1, key="é")
    # No key of its own (not from the outbox): push_counts makes a fresh one per request.
    assert CountRow("s", "a", 1).key is None
