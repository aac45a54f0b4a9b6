"""Ctrl-C / SIGTERM during ``push``: requests in flight finish, the rest stays queued, and the
closing line says truthfully how many counts are queued for the next push (exit 130)."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.sandbox.seed import VENDOR_KEY
from tests.reliability.helpers import new_partner

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_push_and_says_what_is_queued(
    sig: signal.Signals, sandbox_factory: Any, tmp_path: Path
) -> None:
    sb = sandbox_factory(seed="demo", latency_ms=30, rate_limit=None)
    key, skus = new_partner(sb.state, 200, prefix="sig")
    rows = "".join(f"acc-{i},{skus[i % 3]},{i}\n" for i in range(200))
    path = tmp_path / "c.csv"
    path.write_text("accountId,serviceId,unitCount\n" + rows, encoding="utf-8")
    home = tmp_path / "gd-home"
    env = {
        **os.environ,
        "GRADIENT_DESKTOP_HOME": str(home),
        "PYTHONPATH": str(REPO),
        "GRADIENT_VENDOR_KEY": VENDOR_KEY,
        "GRADIENT_PARTNER_KEY": key,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gradient_desktop",
            "push",
            str(path),
            "--base-url",
            sb.base_url,
            "--concurrency",
            "4",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(sb.state.requests()) < 20:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    found = re.search(r"([\d,]+) counts? queued for the next push", err)
    assert found, err
    said = int(found.group(1).replace(",", ""))
    conn = sqlite3.connect(home / "data" / "gradient-desktop.sqlite3")
    queued = conn.execute(
        "SELECT COUNT(*) FROM outbox_entry WHERE state IN ('pending','sending','unknown')"
    ).fetchone()[0]
    conn.close()
    assert said == queued and 0 < queued < 200
    assert len(sb.state.counts(key)) == 200 - queued  # what it says landed is on the server
