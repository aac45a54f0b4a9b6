"""The demo keeps its alert queue across restarts (issue #15): the sandbox snapshot holds queued
and processed alerts and each partner's alert board, so an alert sent in the demo is still
followed to its ticket after the app was closed and opened again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.sandbox import state_alerts
from gradient_desktop.sandbox.seed import PARTNER_DEMO, PARTNER_SMALL, make_state
from gradient_desktop.sandbox.state import SandboxState
from gradient_desktop.sandbox.state_alerts import AlertRules
from gradient_desktop.services.alert_input import build_alert
from gradient_desktop.services.alerts import AlertService
from gradient_desktop.services.context import AppContext
from gradient_desktop.store.models import AlertState
from tests.sync_helpers import demo_partners


class _Clock:
    """The sandbox alert queue's clocks, moved by the test (no sleeping, no race with a loaded
    machine): ``monotonic`` for waiting in one process, ``time`` for what a snapshot keeps."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return 1_700_000_000.0 + self.now


def test_a_snapshot_keeps_queued_alerts_their_waiting_time_and_the_alert_board(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = _Clock()
    monkeypatch.setattr(state_alerts, "time", clock)
    state = make_state("demo")
    rules = AlertRules(delay_s=10)
    sent = state.dispatch_alert(
        PARTNER_DEMO, "acc-x", {"alertId": "gd-1", "title": "Fan"}, rules=rules
    )
    state.set_alert_board(PARTNER_SMALL, None)
    clock.now += 4  # the app closes 4 s after sending
    data = json.loads(json.dumps(state.snapshot()))
    restored = SandboxState()
    restored.restore(data)
    assert restored.snapshot() == data  # nothing lost, nothing added
    status = restored.alert_status(PARTNER_DEMO, sent["messageId"], rules)
    assert status["status"] == "pending"  # it has waited 4 of its 10 s
    clock.now += 6.5  # 10.5 s since it was sent; a queue that forgot the 4 s would say 6.5
    done = restored.alert_status(PARTNER_DEMO, sent["messageId"], rules)
    # acc-x is mapped to no client: processed the way Gradient fails it.
    assert done["status"] == "failed" and "No account map found" in done["errors"][0]
    assert restored.alert_board(PARTNER_SMALL) is None  # the MSP's choice survived


def test_a_demo_alert_sent_before_a_restart_reaches_its_ticket_after_it(
    tmp_path: Path, run_async: Any
) -> None:
    ctx = AppContext.open(tmp_path / "db.sqlite3")
    ctx.demo.latency_ms = 0
    try:
        partner, _ = run_async(demo_partners(ctx, accounts=2))
        account = AlertService(ctx).known_accounts(partner)
        account_id = sorted(a for a, r in account.items() if r.is_mapped_remote)[0]
        service = AlertService(ctx)

        async def send() -> Any:
            (row,), _ = service.record(
                partner, [build_alert({"account_id": account_id, "title": "Backup failed"})],
                origin="app",
            )  # fmt: skip
            try:
                return await service.send(partner, [row])
            finally:
                await ctx.aclose()

        report = run_async(send())
        (row,) = report.accepted
    finally:
        ctx.close()  # the app closes: the demo sandbox stops (its snapshot is saved)

    reopened = AppContext.open(tmp_path / "db.sqlite3")
    reopened.demo.latency_ms = 0
    try:

        async def trace() -> Any:
            try:
                return await AlertService(reopened).trace(partner, timeout=10)
            finally:
                await reopened.aclose()

        traced = run_async(trace())
        assert [r.alert_id for r in traced.success] == [row.alert_id], traced
        done = AlertService(reopened).ledger.get(row.alert_id)
        assert done is not None and done.state == AlertState.SUCCESS and done.ticket_id
    finally:
        reopened.close()
