"""Client paging: every client of a 50,000-client partner through ``iter_clients()``.

Baseline: a bare ``httpx.AsyncClient`` loop GETting the very same pages (``previousId`` = last
id of the page before, stop on a short or empty page), decoding each with ``response.json()``.
The sandbox runs in its own process with its rate limit off and no latency, so the figure is
the client's own overhead per page. Our client runs with ``rate_limit_per_s=None`` for the same
reason: its 90 req/s limiter is a deliberate pace against Gradient's 100/s, not overhead, and
would otherwise be all this row measured (500 pages take at least 5.6 s at 90/s).
"""

from __future__ import annotations

import asyncio
import time

import httpx

from gradient_desktop.api import ClientOptions, Credentials, VendorApiClient
from gradient_desktop.api.auth import TOKEN_HEADER
from gradient_desktop.api.options import API_PREFIX

from .common import Config, Goal, Row, fmt_s, interleave, log, median, sandbox_process


def run_client(base_url: str, vendor_key: str, partner: str) -> tuple[float, int]:
    async def main() -> tuple[float, int]:
        t0 = time.perf_counter()
        n = 0
        async with VendorApiClient(
            base_url, Credentials(vendor_key, partner), ClientOptions(rate_limit_per_s=None)
        ) as client:
            async for _client in client.iter_clients():
                n += 1
        return time.perf_counter() - t0, n

    return asyncio.run(main())


def run_bare(base_url: str, vendor_key: str, partner: str) -> tuple[float, int]:
    token = Credentials(vendor_key, partner).headers()[TOKEN_HEADER]

    async def main() -> tuple[float, int]:
        t0 = time.perf_counter()
        n = 0
        async with httpx.AsyncClient(
            base_url=base_url,
            headers={TOKEN_HEADER: token, "Accept": "application/json"},
            timeout=30,
            trust_env=False,
        ) as http:
            previous: str | None = None
            while True:
                r = await http.get(
                    f"{API_PREFIX}/organization/clients",
                    params={"previousId": previous} if previous else None,
                )
                r.raise_for_status()
                data = r.json()
                clients = data["clients"]
                n += len(clients)
                if not clients or len(clients) < data["meta"]["limit"]:
                    break
                previous = clients[-1]["id"]
        return time.perf_counter() - t0, n

    return asyncio.run(main())


def bench(cfg: Config) -> list[Row]:
    n_clients = cfg.pick(50_000, 10_000)
    reps = cfg.cheap_reps()
    log(f"paging: sandbox process with a {n_clients}-client partner (no latency, no limit)")
    with sandbox_process(latency_ms=0, rate_limit=0, paging_clients=n_clients) as sb:
        url, vkey, partner = sb.base_url, sb.info["vendor_key"], sb.info["paging_partner"]
        run_bare(url, vkey, partner)  # warm-up: first-request paths on both sides
        run_client(url, vkey, partner)
        bare, ours = interleave(
            lambda i: run_bare(url, vkey, partner),
            lambda i: run_client(url, vkey, partner),
            reps,
        )
    for _t, n in bare + ours:
        if n != n_clients:
            raise RuntimeError(f"paging saw {n} clients, expected {n_clients}")
    t_ours, t_bare = median([t for t, _ in ours]), median([t for t, _ in bare])
    pages = n_clients // 100 + 1
    return [
        Row(
            f"paging {n_clients} clients",
            fmt_s(t_ours),
            f"{fmt_s(t_bare)} (raw httpx)",
            t_ours / t_bare,
            Goal("<=", 1.2),
            note=(
                f"iter_clients() over {pages} pages vs raw httpx GETs of the same pages; "
                f"sandbox rate limit off, no latency, client limiter off; median of {reps}"
            ),
            data={"ours": [t for t, _ in ours], "bare": [t for t, _ in bare]},
        )
    ]
