"""An alert source set up on the Sync page (real widgets on the qasync loop): "Rows are alerts"
is ticked, the preview shows the alerts as they would be sent, the saved source stays an alert
source when opened again, "Sync all now" sends them to the demo partners' PSAs, and the run's
details list the alerts."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.sources import SourceStore
from tests.gui_helpers import run, screenshot, sync_page, type_sql_source, wait_until
from tests.sync_helpers import demo_usage_rows

pytestmark = pytest.mark.gui


def test_an_alert_source_is_set_up_previewed_saved_and_sent_by_sync_all(
    qtbot: Any, qloop: Any, ctx: AppContext, tmp_path: Path
) -> None:
    rows = run(qloop, demo_usage_rows(ctx))
    db = tmp_path / "monitoring.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE ev (id TEXT, partner TEXT, account TEXT, what TEXT, sev TEXT)")
    conn.executemany(
        "INSERT INTO ev VALUES (?, ?, ?, ?, ?)",
        [(f"e{i}", p, a, f"Backup {i} failed", "high") for i, (p, a, _s, _n) in enumerate(rows)],
    )
    conn.commit()
    conn.close()

    page = sync_page(qtbot, qloop, ctx, height=900)
    ed = page.editor
    type_sql_source(ed, "monitoring", f"sqlite:///{db}")
    ed.query.setPlainText("SELECT * FROM ev")
    ed.alert_box.setChecked(True)
    ed.alert_box.columns.setText("key=id, title what, priority=sev")  # a typo
    ed.preview_button.click()
    wait_until(qloop, lambda: not ed.tasks.busy)
    assert "is not an alert field" in ed.status.text() and not ed.save_button.isEnabled()
    ed.alert_box.columns.setText("key=id, title=what, priority=sev")
    ed.preview_button.click()
    wait_until(qloop, lambda: not ed.tasks.busy)
    assert ed.status.text().startswith(f"{len(rows)} rows read; {len(rows)} go to a partner")
    header = [ed.table.horizontalHeaderItem(c).text() for c in range(ed.table.columnCount())]
    first = {h: ed.table.item(0, c).text() for c, h in enumerate(header)}
    assert first["title"] == "Backup 0 failed" and first["priority"] == "high"
    assert first["key"] == "source:monitoring:key:e0"
    ed.save_button.click()
    assert page.sources.item(0).text() == "monitoring"

    saved = SourceStore(ctx).get("monitoring")
    ed.load(saved)  # opened again: still an alert source, its columns as saved
    assert ed.alert_box.isChecked()
    assert ed.alert_box.columns.text() == "key=id, priority=sev, title=what"
    assert ed.config().emits_alerts and ed.config().alert_fields == saved.alert_fields

    page.sync_button.click()
    wait_until(qloop, lambda: not page.tasks.busy)
    assert page.message.text().startswith(f"Alerts: {len(rows)} events read, {len(rows)} new")
    details = page.details.toPlainText()
    assert details.startswith(f"Alerts: {len(rows)} events read, {len(rows)} new")
    assert "Alerts from 1 source, by partner:" in details
    assert "Contoso Managed Services (demo): 3 new, 3 sent." in details
    header = [page.table.horizontalHeaderItem(c).text() for c in range(page.table.columnCount())]
    assert page.table.item(0, header.index("Alerts sent")).text() == str(len(rows))
    screenshot(page, "sync_alert_source.png")  # the editor with "Rows are alerts", the run
    state = ctx.demo.state
    sent: Counter[str] = Counter()
    for name in ("Contoso Managed Services (demo)", "Fabrikam IT Partners (demo)"):
        sent.update(a["alertId"] for a in state.alert_log(ctx.demo.partner_key(name)))
    assert len(sent) == len(rows) and set(sent.values()) == {1}
