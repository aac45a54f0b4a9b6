"""Reconnect: publishing 200 accounts and reloading 200 clients when Gradient already has them
(a reconnect) vs the first time (it has none).

Both are the wizard's publish step — ``IntegrationService.publish_accounts`` then
``sync_clients``, and on a reconnect the re-send of the 200 mappings made before
(``SetupFlow.resync_mappings``: those not synced yet) — for a partner with 200 clients and the
vendor's 200 customers, against the sandbox in its own process with the demo's 60 ms latency.
First: the accounts are created (chunked POSTs, no mappings yet). Reconnect: they exist already. Runs here in the bench process
(Qt-free services), keys in an in-memory keyring, a fresh app home per run.
"""

from __future__ import annotations

import asyncio
import gc
import os
import tempfile
import time

from .common import Config, Goal, Row, fmt_s, interleave, log, median, sandbox_process

LATENCY_MS = 60
N = 200


def _publish(url: str, vkey: str, pkey: str, *, reconnect: bool) -> float:
    import keyring

    from gradient_desktop.services.context import AppContext
    from gradient_desktop.services.integration import Customer, IntegrationService
    from gradient_desktop.services.mapping import MappingChange, MappingService
    from gradient_desktop.services.partners import PartnerDirectory
    from tests.keyring_backend import MemoryKeyring

    keyring.set_keyring(MemoryKeyring())
    os.environ["GRADIENT_DESKTOP_HOME"] = tempfile.mkdtemp(prefix="gradient-bench-reconnect-")
    ctx = AppContext.open()
    try:
        directory = PartnerDirectory(ctx)
        partner = directory.add("Bench", directory.save_profile("bench", url, vkey), pkey)
        integration = IntegrationService(ctx)
        # The names the sandbox's bench partners were seeded with: a reconnect finds them
        # unchanged.
        integration.save_customers(
            partner, [Customer(f"acc-{i}", f"Account {i}") for i in range(N)]
        )

        mapping = MappingService(ctx)

        async def main() -> float:
            try:
                if reconnect:  # mapped in an earlier setup: known clients, local mappings
                    await integration.sync_clients(partner)
                    clients = [c.client_id for c in integration.clients(partner)]
                    mapping.apply(
                        partner, [MappingChange(f"acc-{i}", clients[i]) for i in range(N)]
                    )
                    await integration.publish_accounts(partner)  # that earlier setup's
                    await mapping.sync(partner)
                    # A reconnect happens in a later session: a fresh HTTP client (as the
                    # first time has), and none of that setup's garbage for the collector to
                    # walk during the timed part.
                    await ctx.drop_clients(partner.id or 0)
                gc.collect()  # both variants start from a quiet heap
                t0 = time.perf_counter()
                # SetupFlow.publish, then (a reconnect) the wizard's re-send of the mappings.
                await integration.publish_accounts(partner)
                await integration.sync_clients(partner)
                # The wizard's re-send (SetupFlow.resync_mappings): those not synced yet.
                mapped = list(mapping.mappings(partner))
                states = mapping.sync_states(partner, mapped)
                todo = [i for i in mapped if states.get(i, ("local", None))[0] != "synced"]
                if todo:
                    await mapping.sync(partner, todo)
                return time.perf_counter() - t0
            finally:
                await ctx.aclose()

        return asyncio.run(main())
    finally:
        ctx.close()


def bench(cfg: Config) -> list[Row]:
    # About a second per run: enough runs for the median to stand on a shared machine (3 gave
    # 0.94x-1.17x for the same code).
    reps = cfg.cheap_reps(7)
    home = os.environ.get("GRADIENT_DESKTOP_HOME")
    log(f"reconnect: {reps}× publish + client reload of {N}, first time vs reconnect")
    try:
        with sandbox_process(
            latency_ms=LATENCY_MS, push_partners=reps, push_accounts=N, fresh_partners=reps
        ) as sb:
            url, vkey = sb.base_url, sb.info["vendor_key"]
            again, fresh = iter(sb.info["push_partners"]), iter(sb.info["fresh_partners"])
            first, reconnect = interleave(
                lambda i: _publish(url, vkey, next(fresh), reconnect=False),
                lambda i: _publish(url, vkey, next(again), reconnect=True),
                reps,
            )
    finally:
        if home is not None:
            os.environ["GRADIENT_DESKTOP_HOME"] = home
    t_re, t_first = median(reconnect), median(first)
    return [
        Row(
            f"reconnect: reload {N} clients",
            fmt_s(t_re),
            f"{fmt_s(t_first)} (first time)",
            t_re / t_first,
            Goal("<=", 1.2),
            note=f"publish_accounts + sync_clients (+ on the reconnect the re-send of {N} "
            f"mappings), {N} accounts Gradient already has vs none; sandbox {LATENCY_MS} ms "
            f"latency; median of {reps}",
            data={"reconnect": reconnect, "first": first},
        )
    ]
