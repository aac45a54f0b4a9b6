"""The benchmark's Gradient sandbox, in a process of its own: ``python -m bench.sandbox_proc``.

Why a separate process: the sandbox (Starlette + uvicorn + h11) costs CPU per request too, and
in the bench's own process it would share the GIL with the client being measured. This is the
same ``SandboxServer`` as ``python -m gradient_desktop.sandbox``; the difference is the seed:
it adds the partners the benchmarks need (accounts already mapped to clients, every SKU mapped)
directly in the state, which over HTTP would cost thousands of admin requests.

Protocol: the process prints one JSON line on stdout (base URL, vendor key, partner keys, SKU
ids) once it accepts connections, then serves until its stdin closes (the parent exited or
closed it) or it receives SIGTERM. Latency and rate limit can be changed at run time through the
sandbox's own ``POST /_sandbox/faults``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from gradient_desktop.sandbox.options import SandboxOptions
from gradient_desktop.sandbox.seed import VENDOR_KEY, add_mapped_accounts, make_large_partner
from gradient_desktop.sandbox.server import SandboxServer
from gradient_desktop.sandbox.state import SandboxState

PUSH_PARTNER = "bench-push-{}"
PAGING_PARTNER = "bench-paging"
FRESH_PARTNER = "bench-fresh-{}"


def add_push_partner(state: SandboxState, key: str, accounts: int) -> None:
    """A partner whose accounts ``acc-0 … acc-{accounts-1}`` are each mapped to a client."""
    make_large_partner(state, key, accounts)
    add_mapped_accounts(state, key, accounts)


def build(args: argparse.Namespace) -> tuple[SandboxServer, dict[str, Any]]:
    options = SandboxOptions(
        seed="demo",
        host="127.0.0.1",
        port=args.port,
        latency_ms=args.latency_ms,
        rate_limit=args.rate_limit or None,
        random_seed=1234,
    )
    server = SandboxServer(options)
    state = server.state
    push_keys = [PUSH_PARTNER.format(i) for i in range(args.push_partners)]
    for key in push_keys:
        add_push_partner(state, key, args.push_accounts)
    # Partners with clients but no accounts yet: a first publish (bench/reconnect.py).
    fresh_keys = [FRESH_PARTNER.format(i) for i in range(args.fresh_partners)]
    for key in fresh_keys:
        make_large_partner(state, key, args.push_accounts)
    paging_key = None
    if args.paging_clients:
        paging_key = PAGING_PARTNER
        make_large_partner(state, paging_key, args.paging_clients)
    info = {
        "vendor_key": VENDOR_KEY,
        "push_partners": push_keys,
        "push_accounts": args.push_accounts,
        "fresh_partners": fresh_keys,
        "paging_partner": paging_key,
        "paging_clients": args.paging_clients,
        "sku_ids": [s["id"] for s in state.vendor(VENDOR_KEY)["skus"]],
    }
    return server, info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sandbox_proc")
    parser.add_argument("--port", type=int, default=0, help="0 = any free loopback port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=int, default=100, help="0 = off")
    parser.add_argument("--push-partners", type=int, default=0)
    parser.add_argument("--push-accounts", type=int, default=0)
    parser.add_argument("--paging-clients", type=int, default=0)
    parser.add_argument("--fresh-partners", type=int, default=0)
    args = parser.parse_args(argv)

    server, info = build(args)
    stop = threading.Event()
    # SIGTERM from the parent: leave through the normal path so uvicorn closes its sockets.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with server:
        info["base_url"] = server.base_url
        print(json.dumps(info), flush=True)

        def wait_stdin() -> None:
            sys.stdin.read()  # returns at EOF: the parent is done with us (or died)
            stop.set()

        threading.Thread(target=wait_stdin, daemon=True).start()
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
