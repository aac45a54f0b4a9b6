"""Bulk push: ``push_counts`` against the sandbox with 200 ms latency and Gradient's 100 req/s.

Rows produced:

* ``push: c16 vs one-at-a-time`` — wall time of ``push_counts(concurrency=16)`` over N counts
  against one-at-a-time (``concurrency=1``). One-at-a-time over 5,000 rows would take ~17
  minutes, so it is *extrapolated*: a sample of 30 rows is timed and scaled by N/30.
* ``push: c16 vs ideal`` — against ``N / min(concurrency / latency, 100 per s)``.
* ``push: max req/s seen`` — the sandbox's busiest one-second window of any token the client
  used in this benchmark (c=64 is where a broken limiter would show).
* ``push: client CPU/request`` — CPU time of the bench process per request, our client vs a
  bare ``httpx.AsyncClient`` worker loop sending the same POSTs (same headers, same
  concurrency, same server); the sandbox runs in another process, so none of its CPU counts.
* ``push curve c=…`` — throughput at concurrency 1, 4, 16, 64 against the ideal, also drawn
  to ``docs/bench_push_curve.png``.
"""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from gradient_desktop.api import ClientOptions, CountRow, Credentials, VendorApiClient, push_counts
from gradient_desktop.api.auth import TOKEN_HEADER
from gradient_desktop.api.models import wire_unit_count
from gradient_desktop.api.options import API_PREFIX

from .common import (
    REPO,
    Config,
    Goal,
    Row,
    SandboxProc,
    child_env,
    fmt_s,
    interleave,
    log,
    median,
    sandbox_process,
)

LATENCY_S = 0.2
LIMIT_RPS = 100
CONCURRENCY = 16
CURVE = (1, 4, 16, 64)
PLOT_PATH = REPO / "docs" / "bench_push_curve.png"


def ideal_rps(concurrency: int) -> float:
    """What a perfect client achieves: ``concurrency`` requests per latency, capped at 100/s."""
    return min(concurrency / LATENCY_S, LIMIT_RPS)


@dataclass(slots=True)
class Run:
    rows: int
    requests: int
    wall: float
    cpu: float
    #: Seconds from the push's start at which each row completed (our client only).
    done_at: list[float] = field(default_factory=list)
    #: Most requests our client handed to its HTTP transport in any one second.
    busiest_second: int = 0

    def extrapolate(self, n: int) -> float:
        """Wall time of the same push over ``n`` rows: this run's wall time plus the extra
        rows at its steady per-row pace (first row excluded: it pays connection set-up)."""
        if len(self.done_at) < 3:
            return self.wall / self.rows * n
        per_row = (self.done_at[-1] - self.done_at[0]) / (len(self.done_at) - 1)
        return self.wall + (n - self.rows) * per_row

    @property
    def cpu_per_request(self) -> float:
        return self.cpu / self.requests


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """Most of ``times`` within any ``window`` seconds (the sandbox's own sliding window)."""
    times = sorted(times)
    best = lo = 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def make_rows(skus: list[str], accounts: int, n: int, salt: int) -> list[CountRow]:
    """``n`` absolute counts over accounts × SKUs, each pair once; fresh idempotency keys."""
    rows = [
        # Keyed here, before the clock starts, as the outbox keys rows before a push.
        CountRow(sku, f"acc-{a}", float((a + salt) % 50) + 1.0, key=uuid.uuid4().hex)
        for a in range(accounts)
        for sku in skus
    ]
    if len(rows) < n:
        raise ValueError(f"only {len(rows)} account × SKU pairs for {n} rows")
    return rows[:n]


def run_client(
    base_url: str,
    vendor_key: str,
    partner: str,
    rows: list[CountRow],
    c: int,
    *,
    track: bool = False,
) -> Run:
    """Our client: ``push_counts`` with the product's default options (90/s limiter on).

    ``track`` records when each row completed (for extrapolating one-at-a-time runs); off
    otherwise, so the CPU figures carry no bench-only callback.
    """

    async def main() -> Run:
        done_at: list[float] = []
        sent: list[float] = []

        async def note_send(request: httpx.Request) -> None:
            sent.append(time.monotonic())

        cpu0, t0 = time.process_time(), time.perf_counter()
        async with VendorApiClient(
            base_url, Credentials(vendor_key, partner), ClientOptions()
        ) as client:
            # Bench-only peek at the client's httpx instance: its request hook runs as each
            # request goes to the transport, i.e. when it is really sent (retries included).
            client._http.event_hooks = {"request": [note_send], "response": []}
            report = await push_counts(
                client,
                rows,
                concurrency=c,
                on_progress=(lambda e: done_at.append(e.elapsed)) if track else None,
            )
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        if report.ok != len(rows) or not report.rebuild_triggered:
            raise RuntimeError(
                f"push did not land: ok={report.ok}/{len(rows)} failed={report.failed} "
                f"unmapped={report.unmapped} rebuild={report.rebuild_triggered}"
            )
        return Run(len(rows), len(sent), wall, cpu, done_at, max_in_window(sent))

    return asyncio.run(main())


def run_bare(base_url: str, vendor_key: str, partner: str, rows: list[CountRow], c: int) -> Run:
    """Baseline: a bare ``httpx.AsyncClient`` and ``c`` workers sending the same POSTs.

    Same wire traffic as ``push_counts``: ``no_build=true`` on all but the last row, which goes
    alone at the end; an ``Idempotency-Key`` per row. No limiter, retries, or error mapping.
    """
    token = Credentials(vendor_key, partner).headers()[TOKEN_HEADER]

    async def main() -> Run:
        cpu0, t0 = time.process_time(), time.perf_counter()
        async with httpx.AsyncClient(
            base_url=base_url,
            headers={TOKEN_HEADER: token, "Accept": "application/json"},
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            timeout=30,
            trust_env=False,
        ) as http:

            async def send(row: CountRow, no_build: bool) -> None:
                r = await http.post(
                    f"{API_PREFIX}/service/{row.service_id}/count",
                    params={"no_build": "true"} if no_build else None,
                    json={
                        "unitCount": wire_unit_count(row.unit_count),
                        "accountId": row.account_id,
                    },
                    headers={"Idempotency-Key": row.key},
                )
                r.raise_for_status()

            todo = iter(rows[:-1])

            async def worker() -> None:
                for row in todo:
                    await send(row, True)

            await asyncio.gather(*(worker() for _ in range(min(c, len(rows)))))
            await send(rows[-1], False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        return Run(len(rows), len(rows), wall, cpu)

    return asyncio.run(main())


def render_plot(curve: list[dict[str, float]], out: Path, title: str) -> None:
    """Draw the curve in a child process: the bench process itself stays Qt-free."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(
            {
                "curve": curve,
                "title": title,
                "limit": LIMIT_RPS,
                "latency_s": LATENCY_S,
                "client_limit": ClientOptions().rate_limit_per_s,
            },
            fh,
        )
        data = fh.name
    try:
        subprocess.run(
            [sys.executable, "-m", "bench.plot", data, str(out)],
            cwd=REPO,
            env=child_env(QT_QPA_PLATFORM="offscreen"),
            check=True,
            timeout=120,
        )
    finally:
        Path(data).unlink(missing_ok=True)


def bench(cfg: Config) -> list[Row]:
    n = cfg.pick(5000, 500)
    seq = cfg.pick(30, 20)  # one-at-a-time sample: 200 ms a row
    n_cpu = cfg.pick(1000, 200)  # rows of the CPU pair (also the curve's c=16 point)
    n_c4 = cfg.pick(1000, 60)  # c=4 runs at 20 req/s: keep its wall time bounded
    n_c64 = cfg.pick(1000, 200)
    accounts = math.ceil(max(n, n_cpu, n_c4, n_c64) / 3)
    # One token per subject, so each one's busiest second is its own.
    parts = ["main", "seq", "bare", "c16", "c4", "c64"]
    log(f"push: starting sandbox process ({len(parts)} partners × {accounts} mapped accounts)")
    with sandbox_process(
        latency_ms=LATENCY_S * 1000,
        rate_limit=LIMIT_RPS,
        push_partners=len(parts),
        push_accounts=accounts,
    ) as sb:
        return _bench(
            cfg,
            sb,
            dict(zip(parts, sb.info["push_partners"], strict=True)),
            n,
            seq,
            n_cpu,
            n_c4,
            n_c64,
        )


def _bench(
    cfg: Config,
    sb: SandboxProc,
    partner: dict[str, str],
    n: int,
    seq: int,
    n_cpu: int,
    n_c4: int,
    n_c64: int,
) -> list[Row]:
    url, vkey, skus = sb.base_url, sb.info["vendor_key"], sb.info["sku_ids"]
    accounts = int(sb.info["push_accounts"])

    def rows(k: int, salt: int) -> list[CountRow]:
        return make_rows(skus, accounts, k, salt)

    throttled: list[int] = []
    all_ours: list[Run] = []

    def ours(key: str, k: int, salt: int, c: int, *, track: bool = False) -> Run:
        """One push by our client, counting the 429s the sandbox answered it.

        The sandbox's busiest-second figure only counts *accepted* requests, so with its limit
        on it can never exceed 100; going over shows up as 429s instead. What the client itself
        sent in its busiest second is recorded by ``run_client``.
        """
        sb.admin("POST", "requests/clear")
        run = run_client(url, vkey, partner[key], rows(k, salt), c, track=track)
        log_rows = sb.admin("GET", "requests")["requests"]
        throttled.append(sum(1 for r in log_rows if r["status"] == 429))
        all_ours.append(run)
        return run

    # Warm-up: connection set-up paths, imports, the sandbox's first-request costs.
    run_client(url, vkey, partner["seq"], rows(5, 99), 1)

    log(f"push: {cfg.reps}× one-at-a-time sample ({seq} rows) vs c={CONCURRENCY} ({n} rows)")
    seq_runs, main_runs = interleave(
        lambda i: ours("seq", seq, i, 1, track=True),
        lambda i: ours("main", n, i, CONCURRENCY),
        cfg.reps,
    )
    log(f"push: {cfg.reps}× bare httpx vs our client, {n_cpu} rows at c={CONCURRENCY} (CPU)")
    bare_runs, ours_runs = interleave(
        lambda i: run_bare(url, vkey, partner["bare"], rows(n_cpu, i), CONCURRENCY),
        lambda i: ours("c16", n_cpu, i, CONCURRENCY),
        cfg.reps,
    )
    log(f"push: curve points c=4 ({n_c4} rows), c=64 ({n_c64} rows)")
    c4 = ours("c4", n_c4, 7, 4)
    c64 = ours("c64", n_c64, 7, 64)
    ours_keys = [partner[k] for k in ("main", "seq", "c16", "c4", "c64")]
    max_rps = {k: sb.max_rps_seen(k) for k in ours_keys}
    bare_rps = sb.max_rps_seen(partner["bare"])

    t_main = median([r.wall for r in main_runs])
    t_seq = median([r.extrapolate(n) for r in seq_runs])
    t_seq_row = t_seq / n
    t_ideal = n / ideal_rps(CONCURRENCY)
    cpu_ours = median([r.cpu_per_request for r in ours_runs])
    cpu_bare = median([r.cpu_per_request for r in bare_runs])
    worst_rps = max(max_rps.values())
    client_busiest = max(r.busiest_second for r in all_ours)

    curve = [
        {"c": 1, "rps": 1 / t_seq_row, "rows": seq},
        {"c": 4, "rps": c4.rows / c4.wall, "rows": c4.rows},
        {"c": 16, "rps": n_cpu / median([r.wall for r in ours_runs]), "rows": n_cpu},
        {"c": 64, "rps": c64.rows / c64.wall, "rows": c64.rows},
    ]
    for point in curve:
        point["ideal"] = ideal_rps(int(point["c"]))
    plot_path = cfg.plot or (
        Path(tempfile.gettempdir()) / "gradient_bench_push_curve.png" if cfg.quick else PLOT_PATH
    )
    try:
        render_plot(
            curve,
            plot_path,
            f"push_counts vs concurrency — sandbox 200 ms latency, 100 req/s limit"
            f"{' (quick)' if cfg.quick else ''}",
        )
        shown = plot_path.relative_to(REPO) if plot_path.is_relative_to(REPO) else plot_path
        plot_note = f"plot: {shown}"
    except (subprocess.SubprocessError, OSError) as exc:
        plot_note = f"plot failed: {exc}"
        log(plot_note)

    out = [
        Row(
            f"push {n} @c{CONCURRENCY} vs one-at-a-time",
            fmt_s(t_main),
            f"{fmt_s(t_seq)} (extrapolated)",
            t_seq / t_main,
            Goal(">=", 15),
            note=(
                f"one-at-a-time (concurrency=1) extrapolated: a {seq}-row push's wall time "
                f"+ {n - seq} rows at its steady per-row pace "
                f"({t_seq_row * 1000:.1f} ms/row)"
            ),
            data={
                "runs": [r.wall for r in main_runs],
                "seq_sample": [r.wall for r in seq_runs],
                "seq_extrapolated": [r.extrapolate(n) for r in seq_runs],
            },
        ),
        Row(
            f"push {n} @c{CONCURRENCY} vs ideal",
            fmt_s(t_main),
            f"{fmt_s(t_ideal)} (ideal)",
            t_main / t_ideal,
            Goal("<=", 1.2),
            note=f"ideal = rows / min(c / {LATENCY_S:g} s, {LIMIT_RPS}/s)",
        ),
        Row(
            "push max req/s seen (sandbox)",
            f"{worst_rps} req/s",
            f"limit {LIMIT_RPS} req/s",
            float(worst_rps),
            Goal("<=", LIMIT_RPS, " req/s"),
            note=f"busiest 1-s window per token: {max_rps} (bare httpx: {bare_rps})",
            ratio_unit=" req/s",
        ),
        Row(
            "push client sends, busiest second",
            f"{client_busiest} req/s",
            f"limit {LIMIT_RPS} req/s",
            float(client_busiest),
            Goal("<=", LIMIT_RPS, " req/s"),
            note=(
                "requests our client handed to its transport in any 1-s window, over all "
                f"{len(all_ours)} of its pushes (its limiter: "
                f"{ClientOptions().rate_limit_per_s:g}/s)"
            ),
            ratio_unit=" req/s",
        ),
        Row(
            "push 429 answers",
            f"{sum(throttled)} × 429",
            "none wanted",
            float(sum(throttled)),
            Goal("info"),
            note=(
                "the sandbox counts a request when its process gets to it: when that process "
                "is starved (a loaded machine), a stall bunches more than a second's requests "
                "into one window even though the client's own sends stayed under the limit"
            ),
            ratio_unit=" × 429",
        ),
        Row(
            "push client CPU/request",
            f"{cpu_ours * 1000:.2f} ms",
            f"{cpu_bare * 1000:.2f} ms (bare httpx)",
            cpu_ours / cpu_bare,
            Goal("info"),
            note=(
                f"process CPU / requests, {n_cpu} rows at c={CONCURRENCY}, median of {cfg.reps}; "
                f"wall time of the same pushes: ours "
                f"{fmt_s(median([r.wall for r in ours_runs]))}, bare httpx "
                f"{fmt_s(median([r.wall for r in bare_runs]))}"
            ),
            data={
                "ours": [r.cpu_per_request for r in ours_runs],
                "bare": [r.cpu_per_request for r in bare_runs],
            },
        ),
    ]
    for point in curve:
        out.append(
            Row(
                f"push curve c={point['c']:g}",
                f"{point['rps']:.1f} req/s",
                f"{point['ideal']:.1f} req/s (ideal)",
                point["ideal"] / point["rps"],
                Goal("info"),
                note=(
                    f"{point['rows']:g} rows"
                    + (" (extrapolated sample)" if point["c"] == 1 else "")
                )
                + ("; " + plot_note if point["c"] == 64 else ""),
            )
        )
    return out
