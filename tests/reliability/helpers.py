"""Shared helpers of the reliability tests: sizes, partners on the sandbox, expected totals,
a fast ``AppContext`` for the PushService, and the figures the run reports at the end.
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradient_desktop.api import ClientOptions
from gradient_desktop.sandbox.seed import VENDOR_KEY, add_mapped_accounts, make_large_partner
from gradient_desktop.sandbox.state import SandboxState
from tests.reliability.file_keyring import BACKEND, ENV_FILE

REPO = Path(__file__).resolve().parents[2]
#: ``GD_FULL=1`` runs the full sizes (slower); the defaults keep CI quick.
FULL = os.environ.get("GD_FULL", "").strip() not in ("", "0")

Pair = tuple[str, str]
#: (service_id, account_id, unit_count, op): what CountRow(*row) accepts.
Row = tuple[str, str, float, str]


def sized(default: int, full: int) -> int:
    return full if FULL else default


def child_env(home: Path, keyring_file: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``python -m gradient_desktop`` child: its own data folder, the
    file-backed test keyring at ``keyring_file``, this checkout importable, none of our keys or
    settings from the parent (``extra`` adds some back), warnings not turned into errors."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GRADIENT_") and k != "PYTHONWARNINGS"
    }
    env.update(
        GRADIENT_DESKTOP_HOME=str(home),
        PYTHONPATH=str(REPO),
        PYTHON_KEYRING_BACKEND=BACKEND,
        **{ENV_FILE: str(keyring_file)},
        **extra,
    )
    return env


# ------------------------------------------------------------------ sandbox partners


def new_partner(
    state: SandboxState, accounts: int, *, prefix: str = "rel"
) -> tuple[str, list[str]]:
    """A fresh partner with accounts ``acc-0…`` all mapped; returns its key and 3 SKU ids."""
    key = f"{prefix}-{uuid.uuid4().hex[:10]}"
    make_large_partner(state, key, accounts)
    add_mapped_accounts(state, key, accounts)
    skus = [s["id"] for s in state.vendor(VENDOR_KEY)["skus"][:3]]
    return key, skus


def set_rows(skus: list[str], n: int) -> list[Row]:
    """``n`` absolute counts over ``n / 3`` accounts × 3 SKUs (accounts ``acc-0…``)."""
    return [(skus[i % 3], f"acc-{i // 3}", float((i * 7) % 23), "set") for i in range(n)]


def accounts_for(n_rows: int) -> int:
    return n_rows // 3 + 1


def mixed_rows(
    skus: list[str],
    n: int,
    seed: int,
    *,
    start: dict[Pair, float] | None = None,
    set_share: float = 1.0,
) -> list[Row]:
    """``n`` rows mixing set/add/subtract so that totals never go below zero.

    A chain of rows per pair starts with a ``set`` (always when the pair has no total in
    ``start``, else with probability ``set_share``); a quarter of the chains are that set
    alone, the rest a short random run of adds and subtracts. Chains of different pairs are
    interleaved, as a real export would list them.
    """
    rng = random.Random(seed)
    start = start or {}
    chains: list[list[Row]] = []
    produced = 0
    account = 0
    while produced < n:
        sku = skus[account % 3]
        acc = f"acc-{account // 3}"
        account += 1
        chain: list[Row] = []
        known = start.get((sku, acc))
        if known is None or rng.random() < set_share:
            total = float(rng.randint(20, 60))
            chain.append((sku, acc, total, "set"))
        else:
            total = known
        if not chain or rng.random() >= 0.25:
            for _ in range(rng.randint(1, 5)):
                if rng.random() < 0.6 or total < 1:
                    amount = float(rng.randint(1, 9))
                    chain.append((sku, acc, amount, "add"))
                    total += amount
                else:
                    amount = float(rng.randint(1, min(9, int(total))))
                    chain.append((sku, acc, amount, "subtract"))
                    total -= amount
        chain = chain[: n - produced]
        produced += len(chain)
        chains.append(chain)
    # Interleave the chains but keep each chain's order.
    rows: list[Row] = []
    cursors = [0] * len(chains)
    live = list(range(len(chains)))
    while live:
        j = rng.randrange(len(live))
        c = live[j]
        rows.append(chains[c][cursors[c]])
        cursors[c] += 1
        if cursors[c] == len(chains[c]):
            live.pop(j)
    return rows


def fold(rows: Iterable[Row], start: dict[Pair, float] | None = None) -> dict[Pair, float]:
    """The totals the server must hold after ``rows`` (in order), with Gradient's semantics."""
    totals = dict(start or {})
    for service, account, count, op in rows:
        pair = (service, account)
        old = totals.get(pair, 0.0)
        if op == "set":
            totals[pair] = count
        elif op == "add":
            totals[pair] = old + count
        else:
            totals[pair] = max(0.0, old - count)
    return totals


def write_rows_csv(path: Path, rows: list[Row]) -> None:
    """``rows`` as a count file with the optional ``op`` column, as a user would write it."""
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["serviceId", "accountId", "unitCount", "op"])
        for service, account, count, op in rows:
            writer.writerow([service, account, f"{count:g}", op])


def wrong_counts(state: SandboxState, partner_key: str, expected: dict[Pair, float]) -> list[str]:
    """Every pair whose server count differs from ``expected`` (empty: all correct)."""
    actual = {k: v["unitCount"] for k, v in state.counts(partner_key).items()}
    bad = [
        f"{pair}: expected {want}, server has {actual.get(pair)}"
        for pair, want in expected.items()
        if actual.get(pair) != want
    ]
    bad += [f"{pair}: unexpected count {actual[pair]}" for pair in actual.keys() - expected.keys()]
    return bad


# ------------------------------------------------------------------ services


def fast_options(read_timeout: float = 2.0) -> ClientOptions:
    """Client options for loopback tests: no client-side rate limit, short timeouts."""
    return ClientOptions(
        rate_limit_per_s=None, read_timeout=read_timeout, connect_timeout=2.0, deadline=60.0
    )


def make_context(db_path: Path, read_timeout: float = 2.0) -> Any:
    """An ``AppContext`` whose API clients use ``fast_options`` (the only test seam)."""
    from gradient_desktop.services.context import AppContext
    from gradient_desktop.store import open_database

    class FastContext(AppContext):
        def client_options(self, base_url: str) -> ClientOptions:
            return fast_options(read_timeout)

    return FastContext(open_database(db_path))


def add_partner(ctx: Any, base_url: str, partner_key: str, name: str = "Contoso") -> Any:
    """A vendor profile and a partner at ``base_url``; keys go to the (test) keyring."""
    from gradient_desktop.services.partners import PartnerDirectory

    directory = PartnerDirectory(ctx)
    profile = directory.save_profile("Northwind", base_url, VENDOR_KEY)
    return directory.add(name, profile, partner_key, base_url=base_url)


def run_service(ctx: Any, partner: Any, **kwargs: Any) -> Any:
    """One ``PushService.run`` on a fresh loop; the context's HTTP pools are closed after."""
    from gradient_desktop.services.push import PushService

    async def main() -> Any:
        try:
            return await PushService(ctx).run(partner, **kwargs)
        finally:
            await ctx.aclose()

    return asyncio.run(main())


# ------------------------------------------------------------------ the run's report


@dataclass
class MatrixRow:
    path: str
    fault: str
    rows: int
    ok: int
    wrong: int
    retries: int
    injected: int
    rebuilds: int
    runs: int
    seconds: float
    told: str


MATRIX: list[MatrixRow] = []
FIGURES: Counter[str] = Counter()


def render_report() -> str:
    """Markdown: the fault matrix and the run's figures."""
    lines: list[str] = []
    if MATRIX:
        lines += [
            "## Fault matrix",
            "",
            "| path | fault | rows ok | wrong on server | injected | retries | rebuilds "
            "| pushes | time | user told |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for m in MATRIX:
            wrong = f"**{m.wrong}**" if m.wrong else "0"
            lines.append(
                f"| {m.path} | {m.fault} | {m.ok}/{m.rows} | {wrong} | {m.injected} "
                f"| {m.retries} | {m.rebuilds} | {m.runs} | {m.seconds:.1f} s | {m.told} |"
            )
        if any(m.wrong for m in MATRIX):
            lines += [
                "",
                "**Bold**: counts wrong on the server; that test failed, or is a strict xfail "
                "naming a known bug (see the test run's XFAIL lines).",
            ]
        lines.append("")
    if FIGURES:
        lines += ["## Figures", ""]
        lines += [f"* {name}: {value:,}" for name, value in sorted(FIGURES.items())]
        lines.append("")
    return "\n".join(lines)
