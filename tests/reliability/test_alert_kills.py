"""Alerts across kills: SIGKILL the real CLI in the middle of an alert batch, again and again,
and no alert ever becomes a second PSA ticket, and none is lost.

The sandbox runs in this process with some latency and processes alerts at once; the CLI
reaches it through the fault proxy. Each round starts ``gradient-desktop alert send FILE
--partner Contoso --wait 0`` on the same file and kills it once the sandbox has received a
random number (1–4) of this round's dispatches, in one of two ways: a few milliseconds later
(the kill lands between alerts or while the next is on the wire), or — every other round —
while the proxy holds back Gradient's answer to that dispatch, which Gradient has already
queued (the worst case: applied, and the client never learns its messageId). Reading the same
file again finds its rows recorded, so each rerun sends only what is still queued. An alert cut off mid-send is
"outcome unknown"; at the end the user settles those as a user would — looks at the PSA board
(the sandbox's tickets) and runs ``alert confirm ID --mark-sent`` or ``--resend``.

Then: every alertId of the file has exactly one ticket (duplicates 0, lost 0), and the
ledger agrees. ``GD_FULL=1`` kills 20 times; the default 5.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from tests.reliability.alert_kills import PARTNER, cli_home, kill_rounds, ledger, settle_and_count
from tests.reliability.fault_proxy import FaultProxy
from tests.reliability.helpers import new_partner, sized

KILLS = sized(5, 20)
ALERTS = 6 * KILLS + 12


def test_killing_the_cli_mid_batch_never_duplicates_or_loses_an_alert(
    tmp_path: Path, sandbox_factory: Any
) -> None:
    sb = sandbox_factory(seed="demo", latency_ms=25, alert_delay_ms=0)
    key, _ = new_partner(sb.state, ALERTS, prefix="alertkill")
    proxy = FaultProxy(sb.base_url).start()
    try:
        h = cli_home(tmp_path, proxy.base_url, key)
        batch = tmp_path / "alerts.csv"
        with batch.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["accountId", "title", "description", "priority"])
            for i in range(ALERTS):
                w.writerow(
                    [f"acc-{i}", f"Backup job {i} failed", f"Job {i} ended with errors", 1 + i % 4]
                )
        send = ("alert", "send", str(batch), "--partner", PARTNER, "--wait", "0")
        kills, held = kill_rounds(h, sb, key, proxy, send, KILLS, seed=20261201)
        assert kills == KILLS, "the batch finished before every kill landed; make it longer"

        finished = h.run(*send)
        assert finished.returncode in (0, 1), finished.stderr
        states = ledger(h.db)
        assert len(states) == ALERTS
        assert "queued" not in states.values() and "sending" not in states.values()
        settle_and_count(h, sb, key, "alert batch", kills, held)
    finally:
        proxy.stop()
