"""`SandboxOptions`: how the sandbox behaves, including the fault switches.

A separate module so both `app.py` and `server.py` can use it without importing each other;
`server.py` re-exports it (`from gradient_desktop.sandbox.server import SandboxOptions`).
The fault switches can be changed while the server runs (`POST /_sandbox/faults`), so the app
reads them on every request instead of copying them at start.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, fields
from typing import Any

SEEDS = ("demo", "empty")

# Runtime-changeable fields; snake_case or camelCase names are accepted by `update`.
FAULT_FIELDS = (
    "latency_ms",
    "fail_rate",
    "fail_after_apply_rate",
    "rate_limit",
    "retry_after",
    "legacy",
    "lenient",
    "auto_activate",
    "random_seed",
    "clients_page_limit",
    "alert_delay_ms",
    "alert_no_board",
    "alert_psa_down_rate",
)


@dataclass
class SandboxOptions:
    seed: str = "demo"  # "demo" | "empty"
    host: str = "127.0.0.1"
    port: int = 0  # 0 = any free port (background server); see server.base_url
    latency_ms: float = 0.0  # added to every API request (asyncio.sleep, never blocks the loop)
    fail_rate: float = 0.0  # probability of a 503 *before* processing
    fail_after_apply_rate: float = 0.0  # probability of a 500 *after* applying a write
    # Gradient's documented limit is 100 requests/second: the sandbox enforces it by default so a
    # client that ignores it finds out here. None or 0 disables (the window is still measured).
    rate_limit: int | None = 100
    retry_after: bool = True  # send `Retry-After: 1` with 429s
    legacy: bool = True  # §2.10 routes: count add/subtract/all, PATCH /organization
    lenient: bool = False  # accept a single object where an array of accounts/services is due
    auto_activate: bool = True  # pending -> active after the first accepted count or alert
    random_seed: int = 1234  # fault RNG and generated ids
    clients_page_limit: int = 100  # page size of GET /organization/clients
    alert_delay_ms: int = 300  # an alert's debug status stays `pending` this long
    alert_no_board: bool = False  # no partner has a PSA board mapped for alerts: all fail
    alert_psa_down_rate: float = 0.0  # probability an alert fails because the PSA is down

    def faults(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k in FAULT_FIELDS}

    def update(self, changes: dict[str, Any]) -> None:
        """Validate and apply fault changes; raises ValueError naming the offending field."""
        types = {f.name: f.type for f in fields(self)}
        checked: dict[str, Any] = {}
        for raw_name, value in changes.items():
            name = _snake(raw_name)
            if name not in FAULT_FIELDS:
                raise ValueError(
                    f"{raw_name} is not a fault switch (choose from {', '.join(FAULT_FIELDS)})"
                )
            kind = types[name]
            if "bool" in kind:
                if not isinstance(value, bool):
                    raise ValueError(f"{raw_name} must be a boolean")
            elif value is None and name == "rate_limit":
                pass
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{raw_name} must be a number")
            elif value < 0:
                raise ValueError(f"{raw_name} must not be negative")
            elif name.endswith("_rate") and value > 1:
                raise ValueError(f"{raw_name} must be between 0 and 1")
            elif "int" in kind and not float(value).is_integer():
                raise ValueError(f"{raw_name} must be an integer")
            elif name == "clients_page_limit" and value < 1:
                raise ValueError(f"{raw_name} must be at least 1")
            if "int" in kind and isinstance(value, float):
                value = int(value)
            checked[name] = value
        for name, value in checked.items():
            setattr(self, name, value)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox's command-line options, shared by `python -m gradient_desktop.sandbox` and
    `gradient-desktop sandbox`."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 = any free port (default 8765)")
    parser.add_argument("--seed", choices=SEEDS, default="demo")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--fail-rate", type=float, default=0.0, help="probability of a 503 (0-1)")
    parser.add_argument(
        "--fail-after-apply-rate",
        type=float,
        default=0.0,
        help="probability of a 500 after a write was applied (0-1)",
    )
    parser.add_argument(
        "--rate-limit", type=int, default=100, help="requests/second per token; 0 = off"
    )
    parser.add_argument(
        "--no-retry-after", action="store_true", help="send 429s without Retry-After"
    )
    parser.add_argument(
        "--no-legacy", action="store_true", help="disable the legacy (§2.10) routes"
    )
    parser.add_argument(
        "--lenient", action="store_true", help="accept single objects for bulk posts"
    )
    parser.add_argument("--no-auto-activate", action="store_true")
    parser.add_argument("--random-seed", type=int, default=1234)
    parser.add_argument("--alert-delay-ms", type=int, default=300, help="alert processing delay")
    parser.add_argument("--alert-no-board", action="store_true", help="alerts fail: no PSA board")
    parser.add_argument(
        "--alert-psa-down-rate", type=float, default=0.0, help="probability the PSA is down (0-1)"
    )


def options_from_args(args: argparse.Namespace) -> SandboxOptions:
    for name in ("fail_rate", "fail_after_apply_rate", "alert_psa_down_rate"):
        if not 0 <= getattr(args, name) <= 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be between 0 and 1")
    return SandboxOptions(
        seed=args.seed,
        host=args.host,
        port=args.port,
        latency_ms=args.latency_ms,
        fail_rate=args.fail_rate,
        fail_after_apply_rate=args.fail_after_apply_rate,
        rate_limit=args.rate_limit or None,
        retry_after=not args.no_retry_after,
        legacy=not args.no_legacy,
        lenient=args.lenient,
        auto_activate=not args.no_auto_activate,
        random_seed=args.random_seed,
        alert_delay_ms=args.alert_delay_ms,
        alert_no_board=args.alert_no_board,
        alert_psa_down_rate=args.alert_psa_down_rate,
    )
