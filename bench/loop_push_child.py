"""One push of the loop benchmark: ``python -m bench.loop_push_child LOOP URL VKEY PARTNER N C``.

``LOOP`` is ``asyncio`` (``asyncio.run``, what the CLI does) or ``qasync`` (a
``QApplication`` with qasync's ``QEventLoop``, what the GUI does). Everything else is the same:
``push_counts`` with the product's default client options, ``N`` rows at concurrency ``C``
(``0`` = the client chooses), against the benchmark sandbox. A child process per run, so Qt
never enters the bench process and each loop starts clean. Prints one JSON line: wall seconds,
process CPU seconds, rows sent, and how late the loop woke sleepers (median and p90 of the
limiter's sleeps, from a probe of 200 ``asyncio.sleep(0.004)`` after the push).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")


async def push(url: str, vkey: str, partner: str, n: int, c: int) -> dict[str, Any]:
    from gradient_desktop.api import (
        ClientOptions,
        CountRow,
        Credentials,
        VendorApiClient,
        push_counts,
    )

    skus_env = os.environ["BENCH_SKUS"].split(",")
    accounts = int(os.environ["BENCH_ACCOUNTS"])
    salt = int(os.environ.get("BENCH_SALT", "0"))
    rows = [
        # Keyed here, before the clock starts, as the outbox keys rows before a push.
        CountRow(sku, f"acc-{a}", float((a + salt) % 50) + 1.0, key=uuid.uuid4().hex)
        for a in range(accounts)
        for sku in skus_env
    ][:n]
    cpu0, t0 = time.process_time(), time.perf_counter()
    async with VendorApiClient(url, Credentials(vkey, partner), ClientOptions()) as client:
        report = await push_counts(client, rows, concurrency=c or None)
        limiter = client.limiter
        adapt = {
            "throttled": limiter.throttled_count,
            "rate_end": limiter.rate,
            "limit_estimate": limiter.limit_estimate,
            "latency_ms": (limiter.latency or 0) * 1000,
        }
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if report.ok != len(rows):
        raise RuntimeError(f"push did not land: ok={report.ok}/{len(rows)}")
    lates = []
    for _ in range(200):
        t = time.perf_counter()
        await asyncio.sleep(0.004)
        lates.append(time.perf_counter() - t - 0.004)
    lates.sort()
    return {
        "wall": wall,
        "cpu": cpu,
        "rows": len(rows),
        "late_median_ms": statistics.median(lates) * 1000,
        "late_p90_ms": lates[int(len(lates) * 0.9)] * 1000,
        **adapt,
    }


def main(argv: list[str]) -> int:
    mode, url, vkey, partner, n, c = argv[0], argv[1], argv[2], argv[3], int(argv[4]), int(argv[5])
    coro = push(url, vkey, partner, n, c)
    if mode == "asyncio":
        result = asyncio.run(coro)
    elif mode == "qasync":
        from gradient_desktop.ui.qt import QEventLoop, QtWidgets

        app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
        loop = QEventLoop(app)
        asyncio.set_event_loop(loop)
        with loop:
            result = loop.run_until_complete(coro)
    else:
        raise SystemExit(f"unknown loop {mode!r}")
    result["loop"] = mode
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
