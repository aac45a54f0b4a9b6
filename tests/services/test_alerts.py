"""Alerts end to end over real sockets: the AlertService and its ledger against the sandbox
(optionally behind the fault proxy), real SQLite. Every test counts the PSA tickets the sandbox
created per alertId: a duplicate dispatch would show up there as a second ticket.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from gradient_desktop.sandbox.server import SandboxServer
from gradient_desktop.services.alert_input import build_alert, parse_alert_file
from gradient_desktop.services.alerts import AlertService
from gradient_desktop.store.alerts import Resolution
from gradient_desktop.store.models import AlertState
from tests.reliability.fault_proxy import Fault, FaultPlan, FaultProxy
from tests.reliability.helpers import add_partner, make_context, new_partner


def tickets(sb: SandboxServer, key: str) -> Counter[str]:
    return Counter(t["alertId"] for t in sb.state.tickets(key))


def dispatches(sb: SandboxServer, key: str) -> int:
    return sum(
        1 for r in sb.state.requests() if r["method"] == "POST" and "/alerting/" in r["path"]
    )


class World:
    """A sandbox partner with mapped accounts acc-0…acc-9 (acc-9 unmapped), and a local app."""

    def __init__(self, sb: SandboxServer, tmp: Path, base_url: str | None = None) -> None:
        self.sb = sb
        self.key, self.skus = new_partner(sb.state, 10, prefix="alerts")
        sb.state.unmap_account(self.key, "acc-9")
        self.ctx = make_context(tmp / "db.sqlite3")
        self.partner = add_partner(self.ctx, base_url or sb.base_url, self.key)
        self.service = AlertService(self.ctx)

    def run(self, coro: Any) -> Any:
        async def main() -> Any:
            try:
                return await coro
            finally:
                await self.ctx.aclose()

        return asyncio.run(main())

    def send(self, *alerts: Any, trace: float = 10.0) -> tuple[Any, Any]:
        self.service.record(self.partner, alerts, origin="test")

        async def go() -> tuple[Any, Any]:
            sent = await self.service.send(self.partner)
            traced = await self.service.trace(self.partner, timeout=trace) if trace else None
            return sent, traced

        return self.run(go())

    def row(self, alert_id: str) -> Any:
        return self.service.ledger.get(alert_id)


@pytest.fixture
def world(sandbox_factory: Any, tmp_path: Path) -> Any:
    sb = sandbox_factory(seed="demo", rate_limit=None, alert_delay_ms=80)
    w = World(sb, tmp_path)
    yield w
    w.ctx.close()


def alert(account: str = "acc-1", title: str = "Backup failed", **extra: Any) -> Any:
    return build_alert({"account_id": account, "title": title, "description": "Job 7", **extra})


def test_send_traces_to_success_with_the_psa_ticket_id(world: World) -> None:
    a = alert(priority="high", psa_status="2", due="2026-12-31T17:00:00Z", service_id=world.skus[0])
    sent, traced = world.send(a)
    assert len(sent.accepted) == 1 and not sent.unknown
    row = world.row(a.alert_id)
    assert row.state == AlertState.SUCCESS and row.ticket_id and row.message_id
    assert [r.alert_id for r in traced.success] == [a.alert_id]
    (ticket,) = world.sb.state.tickets(world.key)
    assert ticket["ticketId"] == row.ticket_id and ticket["priority"] == 3
    logged = world.sb.state.alert_log(world.key)[0]
    assert logged["accountId"] == "acc-1" and row.checks >= 1


def test_a_failed_ticket_says_why_in_words(world: World) -> None:
    world.sb.state.set_alert_board(world.key, None)  # the MSP mapped no board for alerts
    no_board = alert()
    unmapped = alert(account="acc-9", title="Disk full")
    _, traced = world.send(no_board, unmapped)
    assert {r.alert_id for r in traced.failed} == {no_board.alert_id, unmapped.alert_id}
    board_row, unmapped_row = world.row(no_board.alert_id), world.row(unmapped.alert_id)
    assert board_row.state == AlertState.FAILED and "PSA board for alerts" in board_row.reason
    assert json.loads(board_row.errors) == ["No PSA board is mapped for alerts"]
    # An unmapped account fails the way Gradient does: accepted, then failed in the debug status.
    assert unmapped_row.message_id and "not mapped this account" in unmapped_row.reason
    assert not world.sb.state.tickets(world.key)


def test_psa_down_fails_and_a_resend_is_the_users_choice(world: World) -> None:
    world.sb.options.update({"alert_psa_down_rate": 1.0})
    a = alert()
    world.send(a)
    assert "PSA did not accept" in world.row(a.alert_id).reason
    world.sb.options.update({"alert_psa_down_rate": 0.0})
    world.service.ledger.resolve(a.alert_id, Resolution.RESEND)
    world.send()
    assert world.row(a.alert_id).state == AlertState.SUCCESS
    assert tickets(world.sb, world.key) == {a.alert_id: 1}
    assert "resend by user" in world.row(a.alert_id).note


def test_bad_input_is_refused_before_anything_is_recorded(world: World) -> None:
    for fields, words in (
        ({"account_id": "acc-1", "title": "  "}, "title is empty"),
        ({"account_id": "acc-1", "title": "t", "priority": 7}, "priority 7 is not allowed"),
        ({"account_id": "acc-1", "title": "t", "priority": "2.5"}, "priority '2.5'"),
        ({"account_id": "acc-1", "title": "t", "psa_status": 0}, "PSA status 0"),
        ({"account_id": "acc-1", "title": "t", "due": "tomorrow"}, "not an ISO date"),
    ):
        with pytest.raises(ValueError, match=words):
            build_alert(fields)
    problems, warnings = world.run(world.service.check_accounts(world.partner, [alert("nobody")]))
    assert problems == ["account nobody is not one of Contoso's accounts"] and not warnings
    _, warnings = world.run(world.service.check_accounts(world.partner, [alert("acc-9")]))
    assert "not mapped in Synthesize" in warnings[0]
    assert world.service.ledger.history() == [] and dispatches(world.sb, world.key) == 0


def test_a_file_is_checked_whole_with_row_numbers_and_read_twice_is_sent_once(world: World) -> None:
    bad = b"accountId,title,priority\nacc-1,Disk full,high\nacc-2,,low\nacc-3,CPU,7\n"
    parsed = parse_alert_file(bad, filename="a.csv")
    assert [str(e) for e in parsed.errors] == [
        "row 3: the title is empty",
        "row 4: priority '7' is not allowed: use 1–4 or low, medium, high, very high",
    ]
    good = json.dumps(
        [
            {
                "accountId": "acc-1",
                "title": "A",
                "priority": 2.0,
                "dueDateTime": None,
                "serviceId": "",
            },
            {"accountId": "acc-2", "title": "B", "priority": "very high", "status": 3},
        ]
    ).encode()
    first = parse_alert_file(good, filename="a.json")
    world.send(*first.alerts)
    again = parse_alert_file(good, filename="a.json")
    rows, added = world.service.record(world.partner, again.alerts, origin="file")
    assert added == 0 and {r.state for r in rows} == {AlertState.SUCCESS}
    world.send()
    assert sorted(tickets(world.sb, world.key).values()) == [1, 1]


def test_sdk_and_pp_cli_shapes_are_accepted_and_out_of_range_values_refused(world: World) -> None:
    from gradient_desktop.api.auth import Credentials
    from gradient_desktop.sandbox.seed import VENDOR_KEY

    headers = Credentials(VENDOR_KEY, world.key).headers()
    url = f"{world.sb.base_url}/api/vendor-api/alerting/acc-1"
    sdk = {"title": "t", "description": "d", "alertId": "x1", "priority": 1, "status": 1,
           "dueDateTime": None, "serviceId": ""}  # fmt: skip
    with httpx.Client(headers=headers) as http:
        assert http.post(url, json=sdk).status_code == 201
        assert http.post(url, json={**sdk, "alertId": "x2", "priority": 2.0}).status_code == 201
        r = http.post(url, json={**sdk, "alertId": "x3", "priority": 7, "status": 0})
        assert r.status_code == 400 and r.json()["message"] == [
            "priority must be an integer between 1 and 4",
            "status must be an integer between 1 and 6",
        ]
        assert http.post(url, json={**sdk, "title": ""}).status_code == 400
        assert http.post(url, json={**sdk, "priority": 2.5}).status_code == 400


@pytest.mark.parametrize(
    "fault",
    [
        Fault("reset_after"),  # Gradient queued it, the answer never came
        Fault("hang_after"),  # … or came too late
        Fault("status", status=502),  # a gateway's 5xx: maybe queued, maybe not
        Fault("garbled"),  # an unreadable 201
    ],
    ids=lambda f: f.label,
)
def test_a_lost_answer_is_never_resent_blindly(
    sandbox_factory: Any, tmp_path: Path, fault: Fault
) -> None:
    sb = sandbox_factory(seed="demo", rate_limit=None, alert_delay_ms=0)
    first = [True]

    def plan(r: Any) -> Fault:
        if r.method == "POST" and "/alerting/" in r.path and first[0]:
            first[0] = False
            return fault
        return Fault()

    with FaultProxy(sb.base_url, FaultPlan(plan)) as proxy:
        world = World(sb, tmp_path, base_url=proxy.base_url)
        world.ctx.client_options = lambda url: _short(url)  # type: ignore[method-assign]
        a = alert()
        sent, _ = world.send(a, trace=0)
        assert [r.alert_id for r in sent.unknown] == [a.alert_id]
        assert world.row(a.alert_id).state == AlertState.UNKNOWN
        world.send(alert(title="Another"), trace=0)  # later sends leave it alone
        assert world.row(a.alert_id).state == AlertState.UNKNOWN
        applied = tickets(sb, world.key)[a.alert_id]
        assert applied == (1 if fault.kind != "status" else 0)
        # The user looks at the PSA board and decides; the choice is kept.
        choice = Resolution.MARK_SENT if applied else Resolution.RESEND
        world.service.ledger.resolve(a.alert_id, choice)
        world.send(trace=5)
        assert tickets(sb, world.key)[a.alert_id] == 1
        assert world.row(a.alert_id).state in (AlertState.MARKED_SENT, AlertState.SUCCESS)
        world.ctx.close()


def _short(url: str) -> Any:
    from tests.reliability.helpers import fast_options

    return fast_options(read_timeout=1.0)


def test_429_is_retried_and_5xx_before_processing_is_unknown(world: World) -> None:
    world.sb.options.update({"rate_limit": 1})
    a, b = alert(title="one"), alert(title="two")
    world.send(a, b)  # the second dispatch meets a 429 with Retry-After and is retried
    assert tickets(world.sb, world.key) == {a.alert_id: 1, b.alert_id: 1}
    assert any(r["status"] == 429 for r in world.sb.state.requests())
    world.sb.options.update({"rate_limit": None, "fail_rate": 1.0})
    c = alert(title="three")
    sent, _ = world.send(c, trace=0)
    # A 503 may come from anything in between; the app cannot know, so it asks.
    assert [r.alert_id for r in sent.unknown] == [c.alert_id] and not tickets(world.sb, world.key)[
        c.alert_id
    ]


def test_a_run_cut_off_mid_send_leaves_the_alert_unknown_not_queued(world: World) -> None:
    a = alert()
    (row,), _ = world.service.record(world.partner, [a], origin="test")
    assert world.service.ledger.claim(row.id)  # the crashed run had claimed it
    report = world.run(world.service.send(world.partner))
    assert report.recovered_unknown == 1 and world.row(a.alert_id).state == AlertState.UNKNOWN
    assert dispatches(world.sb, world.key) == 0
    assert world.service.ledger.in_doubt(world.partner.id) == 1
    world.service.ledger.resolve(a.alert_id, Resolution.MARK_SENT)
    assert world.service.ledger.in_doubt(world.partner.id) == 0
    with pytest.raises(ValueError, match="does not apply"):
        world.service.ledger.resolve(a.alert_id, Resolution.MARK_SENT)
    assert world.row(a.alert_id).state == AlertState.MARKED_SENT


def test_a_slow_ticket_shows_still_pending_and_a_later_check_finds_it(world: World) -> None:
    from gradient_desktop.services.alerts import status_text

    world.sb.options.update({"alert_delay_ms": 1500})
    a = alert()
    _, traced = world.send(a, trace=0.4)
    row = world.row(a.alert_id)
    assert [r.alert_id for r in traced.pending] == [a.alert_id]
    assert row.state == AlertState.ACCEPTED and status_text(row) == "still pending"
    assert row.checks >= 1 and row.next_check_at is not None

    async def later() -> list[Any]:
        await asyncio.sleep(1.5)
        changed: list[Any] = []
        for _ in range(100):  # the background timer's job: check what is due, now and then
            changed = await world.service.check_due(world.partner) or changed
            if changed and changed[-1].state != AlertState.ACCEPTED:
                break
            await asyncio.sleep(0.2)
        return changed

    (done,) = world.run(later())
    assert done.state == AlertState.SUCCESS and done.ticket_id
    assert tickets(world.sb, world.key) == {a.alert_id: 1}


def test_a_refused_key_or_no_connection_keeps_the_alert_queued_for_later(world: World) -> None:
    a = alert()
    world.sb.state.rotate_key(world.key)  # the MSP regenerated the key: 401 before processing
    sent, _ = world.send(a, trace=0)
    row = world.row(a.alert_id)
    assert sent.stopped and "key" in sent.stopped.lower() and row.state == AlertState.QUEUED
    assert dispatches(world.sb, world.key) == 1 and not world.sb.state.alert_log(world.key)


def test_the_debug_route_answers_in_retrievealertresponsedto_shape(world: World) -> None:
    from gradient_desktop.api.auth import Credentials
    from gradient_desktop.sandbox.seed import VENDOR_KEY

    api = f"{world.sb.base_url}/api/vendor-api"
    body = {"title": "t", "description": "d", "alertId": "x1", "priority": 1, "status": 1}
    with httpx.Client(headers=Credentials(VENDOR_KEY, world.key).headers()) as http:
        created = http.post(f"{api}/alerting/acc-1", json=body).json()
        assert set(created) == {"messageId", "alertId", "correlationID"}
        pending = http.get(f"{api}/alerting/debug/{created['messageId']}").json()
        assert set(pending) == {"messageId", "createdAt", "status", "message"}
        failed_id = http.post(f"{api}/alerting/acc-9", json=body).json()["messageId"]
        world.sb.options.update({"alert_delay_ms": 0})
        success = http.get(f"{api}/alerting/debug/{created['messageId']}").json()
        failed = http.get(f"{api}/alerting/debug/{failed_id}").json()
    assert success["status"] == "success"
    assert set(success) == {"messageId", "createdAt", "status", "message", "ticketId"}
    assert failed["status"] == "failed" and failed["statusCode"] == 404
    assert set(failed) == {"messageId", "createdAt", "status", "message", "statusCode", "errors"}


def test_the_partner_state_follows_every_alert_that_needs_the_user(world: World) -> None:
    """The status bar and the Alerts page render ``ctx.state``; the alerts service keeps it
    current: a failure, an alert in doubt, each decision and its undo are announced."""
    seen: list[int] = []
    world.ctx.state.changed.connect(seen.append)
    pid = world.partner.id

    def need() -> tuple[int, int]:
        state = world.ctx.state.get(pid)
        return state.alerts_in_doubt, state.alerts_failed

    assert need() == (0, 0)
    failed = alert("acc-9", "Unmapped")  # the MSP has not mapped acc-9: Gradient fails it
    world.send(failed)
    assert need() == (0, 1) and pid in seen
    doubt = alert(title="Cut off")
    (row,), _ = world.service.record(world.partner, [doubt], origin="test")
    world.service.ledger.claim(row.id)
    world.run(world.service.send(world.partner))  # finds it cut off: unknown
    assert need() == (1, 1)
    before = world.row(doubt.alert_id)
    seen.clear()
    world.service.resolve(doubt.alert_id, Resolution.MARK_SENT, actor="test")
    assert need() == (0, 1) and seen == [pid]
    world.service.undo_resolve(doubt.alert_id, before)
    assert need() == (1, 1) and world.row(doubt.alert_id).state == AlertState.UNKNOWN
    world.service.resolve(failed.alert_id, Resolution.CANCEL, actor="test")  # dismissed
    assert need() == (1, 0) and world.ctx.state.get(pid).alerts_text() == (
        "1 alert needs you (Alerts page)"
    )
    with pytest.raises(ValueError, match="changed since"):  # a decision taken back twice
        world.service.undo_resolve(doubt.alert_id, before)
