"""Mapping grid: 50,000 vendor accounts × 50,000 Gradient clients in ``ui/mapping``'s
``MappingGrid``, against two bare ``QTableView``s over the same rows (``bench/grid_child.py``
says exactly what is timed). Rows: load to painted, filter per keystroke (median), the
resident memory each load added (reported, no goal), and for information a drop of 1,000
accounts on a client and the match suggestions for every unmapped account.

The database is built once here (the app's own schema via ``open_database``; names from the
sandbox's realistic generator; 40 % of accounts mapped); every measured run is a fresh child
process reading it, alternating app and baseline.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from gradient_desktop.sandbox.names import company_names, vendor_spelling
from gradient_desktop.sandbox.seed import new_guid_fast
from gradient_desktop.store import open_database
from gradient_desktop.store.models import (
    GradientClient,
    Mapping,
    Partner,
    VendorAccount,
    VendorProfile,
)

from .common import REPO, Config, Goal, Row, child_env, fmt_s, interleave, log, median


def build_db(path: Path, n: int) -> int:
    """The app's database with one partner holding ``n`` accounts and ``n`` clients."""
    rng = random.Random(f"bench-grid:{n}")
    client_names = company_names(rng, n, unique=False)
    client_ids = [new_guid_fast(rng.getrandbits(128)) for _ in range(n)]
    now = datetime.now(UTC)
    db = open_database(path)
    try:
        with db.write() as conn:
            vendor = conn.execute(
                insert(VendorProfile.__table__).values(
                    name="bench", base_url="http://127.0.0.1:1", created_at=now
                )
            ).inserted_primary_key[0]
            partner = conn.execute(
                insert(Partner.__table__).values(
                    name="bench",
                    vendor_profile_id=vendor,
                    base_url="http://127.0.0.1:1",
                    status="active",
                    setup_step=0,
                    setup_data="{}",
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]
            conn.execute(
                insert(GradientClient.__table__),
                [
                    {
                        "partner_id": partner,
                        "client_id": cid,
                        "name": name,
                        "stale": False,
                        "seen_at": now,
                    }
                    for cid, name in zip(client_ids, client_names, strict=True)
                ],
            )
            conn.execute(
                insert(VendorAccount.__table__),
                [
                    {
                        "partner_id": partner,
                        "account_id": f"cust-{i:06d}",
                        "name": vendor_spelling(client_names[i], rng),
                        "description": f"Plan {i % 7}",
                        "is_mapped_remote": False,
                        "sync_state": "synced",
                    }
                    for i in range(n)
                ],
            )
            conn.execute(
                insert(Mapping.__table__),
                [
                    {
                        "partner_id": partner,
                        "kind": "account",
                        "source_id": f"cust-{i:06d}",
                        "target_id": client_ids[i],
                        "origin": "manual",
                        "sync_state": "synced",
                        "updated_at": now,
                    }
                    for i in range(0, n, 5)
                    for i in (i, i + 1)
                    if i < n
                ],
            )
        return int(partner)
    finally:
        db.close()


def run_child(mode: str, db: Path, partner: int, home: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.grid_child", mode, str(db), str(partner)],
        cwd=REPO,
        env=child_env(QT_QPA_PLATFORM="offscreen", GRADIENT_DESKTOP_HOME=home),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"grid child ({mode}) failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def pending(reason: str) -> list[Row]:
    return [Row("grid: load", "pending", "bare QTableView", None, Goal("pending"), note=reason)]


def bench(cfg: Config) -> list[Row]:
    n = cfg.pick(50_000, 10_000)
    if not (REPO / "gradient_desktop" / "ui" / "mapping" / "grid.py").exists():
        return pending("gradient_desktop/ui/mapping/grid.py does not exist yet")
    reps = cfg.reps
    with tempfile.TemporaryDirectory(prefix="gradient-bench-grid-") as tmp:
        db = Path(tmp) / "gradient-desktop.sqlite3"
        log(f"grid: building a {n} × {n} database")
        partner = build_db(db, n)
        log(f"grid: {reps}× MappingGrid vs bare QTableView, {n} × {n}")
        run_child("app", db, partner, tmp)  # warm-up: file cache, compiled bytecode
        run_child("bare", db, partner, tmp)
        bare, app = interleave(
            lambda i: run_child("bare", db, partner, tmp),
            lambda i: run_child("app", db, partner, tmp),
            reps,
        )
        log("grid: drop of 1,000 accounts and suggestions (info)")
        extras = run_child("extras", db, partner, tmp)
    if app[0]["rows"] != bare[0]["rows"]:
        raise RuntimeError(
            f"grid rows differ after filtering: {app[0]['rows']} vs {bare[0]['rows']}"
        )
    load_app, load_bare = median([r["load"] for r in app]), median([r["load"] for r in bare])
    key_app = median([median(r["keys"]) for r in app])
    key_bare = median([median(r["keys"]) for r in bare])
    worst_app = median([max(r["keys"]) for r in app])
    mem_app = median([r["rss_load_mb"] for r in app])
    mem_bare = median([r["rss_load_mb"] for r in bare])
    peak_app = median([r["rss_peak_mb"] for r in app])
    peak_bare = median([r["rss_peak_mb"] for r in bare])
    typed = "“north”, typed then erased, in each pane"
    return [
        Row(
            f"grid {n}×{n} load",
            fmt_s(load_app),
            f"{fmt_s(load_bare)} (bare QTableView)",
            load_app / load_bare,
            Goal("<=", 1.1),
            note=f"store read → both panes painted; suggestions off (worker thread); median of {reps}",
            data={"app": [r["load"] for r in app], "bare": [r["load"] for r in bare]},
        ),
        Row(
            f"grid {n}×{n} filter/keystroke",
            fmt_s(key_app),
            f"{fmt_s(key_bare)} (bare QTableView)",
            key_app / key_bare,
            Goal("<=", 1.1),
            note=f"median keystroke of {typed}; slowest {fmt_s(worst_app)}; debounce excluded",
        ),
        Row(
            f"grid {n}×{n} memory",
            f"{mem_app:.0f} MB",
            f"{mem_bare:.0f} MB (bare QTableView)",
            mem_app / mem_bare if mem_bare > 0 else None,
            Goal("info"),
            note=f"resident memory added by the load; process peak {peak_app:.0f} MB vs "
            f"{peak_bare:.0f} MB",
        ),
        Row(
            f"grid {n}×{n} drop 1,000 accounts",
            fmt_s(extras["drop"]),
            "—",
            None,
            Goal("info"),
            note="onto one client: store write, undo entry, repaint (then undone)",
        ),
        Row(
            f"grid {n}×{n} suggestions",
            fmt_s(extras["suggest"]),
            "—",
            None,
            Goal("info"),
            note=(
                f"{extras['suggested']:,} suggestions for {extras['sources']:,} unmapped "
                f"accounts vs {extras['targets']:,} free clients; a worker thread in the app"
            ),
        ),
    ]
