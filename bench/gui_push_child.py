"""One push of the GUI-vs-asyncio benchmark: ``python -m bench.gui_push_child MODE URL VKEY PKEY N``.

``MODE`` ``gui`` (``gui-stock``: the same on qasync's own loop): the Usage page's Push button as a user presses it — ``UsagePage.push()`` on
qasync's ``QEventLoop`` with the page shown, its progress bar and live refresh on. ``MODE``
``asyncio``: the same queued rows sent by ``PushService.run`` under ``asyncio.run`` (what the
CLI does). Both start from a fresh app home holding one partner (keys in an in-memory keyring)
whose ``N`` counts are queued in the outbox, and push to the benchmark sandbox. Prints one JSON
line: ``wall`` seconds from the push's start to its summary, process ``cpu`` seconds, ``rows``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")


def prepare(url: str, vkey: str, pkey: str, n: int, *, queue: bool = True) -> tuple[Any, Any]:
    """A fresh home with one partner on the bench sandbox and ``n`` counts queued (with
    ``queue=False``: nothing queued)."""
    import keyring

    from gradient_desktop.counts import CountRow
    from gradient_desktop.services.context import AppContext
    from gradient_desktop.services.partners import PartnerDirectory
    from tests.keyring_backend import MemoryKeyring

    keyring.set_keyring(MemoryKeyring())
    home = Path(tempfile.mkdtemp(prefix="gradient-bench-guipush-"))
    os.environ["GRADIENT_DESKTOP_HOME"] = str(home)
    ctx = AppContext.open()
    directory = PartnerDirectory(ctx)
    profile = directory.save_profile("bench", url, vkey)
    partner = directory.add("Bench", profile, pkey)
    skus = os.environ["BENCH_SKUS"].split(",")
    accounts = int(os.environ["BENCH_ACCOUNTS"])
    salt = int(os.environ.get("BENCH_SALT", "0"))
    rows = [
        CountRow(sku, f"acc-{a}", float((a + salt) % 50) + 1.0)
        for a in range(accounts)
        for sku in skus
    ][:n]
    if queue:
        ctx.outbox.enqueue(partner.id or 0, rows, actor="bench")
    return ctx, partner


def run_asyncio(ctx: Any, partner: Any) -> dict[str, Any]:
    from gradient_desktop.services.push import PushService

    async def main() -> Any:
        try:
            return await PushService(ctx).run(partner)
        finally:
            await ctx.aclose()

    cpu0, t0 = time.process_time(), time.perf_counter()
    summary = asyncio.run(main())
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"wall": wall, "cpu": cpu, "ok": summary.report.ok, "rows": summary.batch_rows}


def run_gui(ctx: Any, partner: Any, stock: bool = False) -> dict[str, Any]:
    """``stock``: qasync's own ``QEventLoop`` instead of the app's (``ui/qloop.py``), to show
    what the app's loop changes."""
    import qasync

    from gradient_desktop.ui.qt import QEventLoop, QtWidgets
    from gradient_desktop.ui.usage.page import UsagePage

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    loop = (qasync.QEventLoop if stock else QEventLoop)(app)
    asyncio.set_event_loop(loop)
    with loop:
        page = UsagePage(ctx, None)
        page.resize(1400, 820)
        page.set_partner(partner)
        page.show()
        app.processEvents()

        async def press_push() -> Any:
            # Pressed from inside the running loop, as a click is delivered in the app.
            page.push()
            if page.push_task is None:
                raise RuntimeError("the page did not start a push")
            return await page.push_task

        cpu0, t0 = time.process_time(), time.perf_counter()
        summary = loop.run_until_complete(press_push())
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        loop.run_until_complete(ctx.aclose())
        page.close()
    return {"wall": wall, "cpu": cpu, "ok": summary.report.ok, "rows": summary.batch_rows}


def main(argv: list[str]) -> int:
    mode, url, vkey, pkey, n = argv[0], argv[1], argv[2], argv[3], int(argv[4])
    ctx, partner = prepare(url, vkey, pkey, n)
    try:
        run = {
            "gui": run_gui,
            "gui-stock": lambda c, p: run_gui(c, p, stock=True),
            "asyncio": run_asyncio,
        }[mode]
        if os.environ.get("BENCH_PROFILE"):  # cProfile of the run, for finding where time goes
            import cProfile

            with cProfile.Profile() as prof:
                result = run(ctx, partner)
            prof.dump_stats(os.environ["BENCH_PROFILE"] + f".{mode}")
        else:
            result = run(ctx, partner)
    finally:
        ctx.close()
    if result["ok"] != n:
        raise SystemExit(f"push did not land: {result}")
    result["mode"] = mode
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
