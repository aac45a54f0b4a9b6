"""How long a reconnect's step 5 spends re-sending saved mappings (#11 defect 14).

Runs the demo setup against the embedded sandbox with the demo's latency, disconnects, then
times the reconnect's publish + mapping re-send with one request in flight (the old way) and
with ``mapping.SYNC_CONCURRENCY`` (now). Prints seconds and the ratio; no thresholds.

    python -m bench.reconnect_mappings [--latency-ms 60]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import ClassVar


async def main(latency_ms: float) -> None:
    os.environ["GRADIENT_DESKTOP_HOME"] = tempfile.mkdtemp()
    import keyring
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1  # type: ignore[assignment]
        data: ClassVar[dict] = {}

        def get_password(self, s, u):  # type: ignore[no-untyped-def]
            return self.data.get((s, u))

        def set_password(self, s, u, p):  # type: ignore[no-untyped-def]
            self.data[(s, u)] = p

        def delete_password(self, s, u):  # type: ignore[no-untyped-def]
            self.data.pop((s, u), None)

    keyring.set_keyring(Memory())
    from gradient_desktop.services import mapping
    from gradient_desktop.services.context import AppContext, DemoEnvironment
    from gradient_desktop.services.integration import IntegrationService
    from gradient_desktop.services.setup import SetupFlow
    from gradient_desktop.store import open_database
    from tests.setup_helpers import run_demo_setup

    ctx = AppContext(
        open_database(Path(os.environ["GRADIENT_DESKTOP_HOME"]) / "db.sqlite3"),
        demo=DemoEnvironment(latency_ms=latency_ms, persist=False),
    )
    flow = await run_demo_setup(ctx)
    partner = flow.partner
    mapped = len(flow.mapping.mappings(partner))
    results = {}
    for label, concurrency in (("one at a time (before)", 1), ("concurrent (now)", 8)):
        await IntegrationService(ctx).disconnect(partner)
        again = SetupFlow.reconnect(ctx, partner.id)
        await again.authenticate()
        mapping.SYNC_CONCURRENCY = concurrency
        start = time.perf_counter()
        await again.publish()
        published = time.perf_counter() - start
        await again.sync_mappings()  # every saved mapping, as step 5 did on a reconnect
        results[label] = time.perf_counter() - start
        print(
            f"{label:24s} {results[label]:6.2f} s (publish + clients {published:.2f} s; "
            f"{mapped} mappings re-sent, {latency_ms:g} ms latency)"
        )
    a, b = results.values()
    print(f"ratio {a / b:.1f}x")
    await ctx.aclose()
    ctx.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-ms", type=float, default=60.0)
    asyncio.run(main(parser.parse_args().latency_ms))
