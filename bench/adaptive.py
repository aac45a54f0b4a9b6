"""Adaptive send rate: the bulk push with the client's own choices (no concurrency given).

Rows produced:

* ``send rate @200 ms`` — sustained requests/s of ``push_counts(concurrency=None)`` against the
  sandbox with 200 ms latency and Gradient's documented 100 req/s, compared with that limit.
  Sustained = the client's sends between 2 s after the start and the last ``no_build``
  request (the start-up, while the first answers teach it the latency, is left out; the
  whole-push figure is in the note). Goal ≥ 92 req/s, i.e. ≥ 0.92× the limit.
* ``send rate busiest second`` — most sends in any one-second window, at the client (its
  request hook) and at the sandbox (accepted requests); goal ≤ 100.
* ``limit 60/s`` — rows/s of the same push against a sandbox limiting at 60 req/s (429 +
  ``Retry-After: 1`` beyond), vs that limit. Goal ≥ 52 rows/s (0.87×).
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field

import httpx

from gradient_desktop.api import ClientOptions, Credentials, VendorApiClient, push_counts

from .common import Config, Goal, Row, fmt_s, log, median, sandbox_process
from .push import make_rows, max_in_window

LATENCY_S = 0.2
LIMIT = 100
SERVER_LIMIT_60 = 60


@dataclass(slots=True)
class Run:
    rows: int
    wall: float
    sent: list[float] = field(default_factory=list)
    throttled: int = 0
    rate_end: float | None = None
    estimate: float | None = None
    latency: float | None = None

    def sustained(self, skip: float = 2.0) -> float:
        """Sends/s from ``skip`` s after the start to the last bulk send (final row excluded)."""
        bulk = sorted(self.sent)[:-1]
        if len(bulk) < 3:
            return float("nan")
        start = bulk[0] + skip
        window = [t for t in bulk if t >= start]
        if len(window) < 2 or window[-1] <= window[0]:
            return (len(bulk) - 1) / (bulk[-1] - bulk[0])
        return (len(window) - 1) / (window[-1] - window[0])


def run_auto(url: str, vkey: str, partner: str, rows: list) -> Run:
    async def main() -> Run:
        sent: list[float] = []

        async def note_send(request: httpx.Request) -> None:
            sent.append(time.monotonic())

        t0 = time.perf_counter()
        async with VendorApiClient(url, Credentials(vkey, partner), ClientOptions()) as client:
            client._http.event_hooks = {"request": [note_send], "response": []}  # bench-only
            report = await push_counts(client, rows)
            lim = client.limiter
        wall = time.perf_counter() - t0
        if report.ok != len(rows) or not report.rebuild_triggered:
            raise RuntimeError(f"push did not land: ok={report.ok}/{len(rows)}")
        return Run(
            len(rows), wall, sent, lim.throttled_count, lim.rate, lim.limit_estimate, lim.latency
        )

    return asyncio.run(main())


def bench(cfg: Config) -> list[Row]:
    n = cfg.pick(3000, 800)
    n60 = cfg.pick(2000, 600)
    reps = cfg.reps
    accounts = math.ceil(max(n, n60) / 3)
    log(f"adaptive: {reps}× {n} rows at 200 ms latency / 100 req/s, client-chosen concurrency")
    with sandbox_process(
        latency_ms=LATENCY_S * 1000, rate_limit=LIMIT, push_partners=reps, push_accounts=accounts
    ) as sb:
        url, vkey, skus = sb.base_url, sb.info["vendor_key"], sb.info["sku_ids"]
        runs = []
        for i, partner in enumerate(sb.info["push_partners"]):
            runs.append(run_auto(url, vkey, partner, make_rows(skus, accounts, n, i)))
        server_busiest = max(sb.max_rps_seen(p) for p in sb.info["push_partners"])
    log(f"adaptive: {reps}× {n60} rows against a server limiting at {SERVER_LIMIT_60}/s")
    with sandbox_process(
        latency_ms=20, rate_limit=SERVER_LIMIT_60, push_partners=reps, push_accounts=accounts
    ) as sb:
        url, vkey, skus = sb.base_url, sb.info["vendor_key"], sb.info["sku_ids"]
        runs60 = []
        for i, partner in enumerate(sb.info["push_partners"]):
            runs60.append(run_auto(url, vkey, partner, make_rows(skus, accounts, n60, i)))

    sustained = median([r.sustained() for r in runs])
    whole = median([r.rows / r.wall for r in runs])
    client_busiest = max(max_in_window(r.sent) for r in runs)
    rate60 = median([r.rows / r.wall for r in runs60])
    return [
        Row(
            "send rate @200 ms (sustained)",
            f"{sustained:.1f} req/s",
            f"limit {LIMIT} req/s",
            sustained / LIMIT,
            Goal(">=", 0.92),
            note=(
                f"{n} rows, concurrency chosen by the client (Little's law; median latency "
                f"seen {median([r.latency or 0 for r in runs]) * 1000:.0f} ms); whole push "
                f"incl. start-up and the final rebuild row {whole:.1f} rows/s; 429s "
                f"{[r.throttled for r in runs]} (a loaded machine bunches sends at the "
                f"sandbox); median of {reps}"
            ),
            data={"sustained": [r.sustained() for r in runs], "wall": [r.wall for r in runs]},
        ),
        Row(
            "send rate busiest second",
            f"{client_busiest} sent / {server_busiest} accepted",
            f"limit {LIMIT} req/s",
            float(max(client_busiest, server_busiest)),
            Goal("<=", LIMIT, " req/s"),
            note="most requests in any 1-s window: sent by the client (its request hook), "
            "accepted by the sandbox",
            ratio_unit=" req/s",
        ),
        Row(
            f"push vs a {SERVER_LIMIT_60}/s server",
            f"{rate60:.1f} rows/s",
            f"limit {SERVER_LIMIT_60} req/s",
            rate60 / SERVER_LIMIT_60,
            Goal(">=", round(52 / SERVER_LIMIT_60, 3)),
            note=(
                f"goal ≥ 52 rows/s; {n60} rows, 20 ms latency, sandbox --rate-limit "
                f"{SERVER_LIMIT_60}; 429s {[r.throttled for r in runs60]}, limit learned "
                f"{[r.estimate for r in runs60]}; wall {fmt_s(median([r.wall for r in runs60]))}"
            ),
            data={"rates": [r.rows / r.wall for r in runs60]},
        ),
    ]
