"""`SandboxOptions`: how the sandbox behaves, including the fault switches.

Every option is declared once, as a dataclass field whose metadata (``_opt``) says its
command-line flag, its help text and whether it may change while the server runs. That one
declaration drives ``add_arguments`` (argparse), ``options_from_args``, the runtime
``/_sandbox/faults`` route (``faults``/``update``) and the table in the docs
(``markdown_table``). Adding a switch = adding one field.

A separate module so both `app.py` and `server.py` can use it without importing each other;
`server.py` re-exports it (`from gradient_desktop.sandbox.server import SandboxOptions`).
The fault switches are read on every request, so a change applies at once.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field, fields
from typing import Any

SEEDS = ("demo", "empty")


def _opt(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    runtime: bool = True,
    negate: bool = False,
    choices: tuple[str, ...] | None = None,
    cli_default: Any = None,
) -> Any:
    """A field with its CLI/runtime metadata. ``negate``: a bool on by default whose flag
    turns it off (``--no-legacy``); ``cli_default``: the default when started from the command
    line, where it differs from the library default (the port)."""
    meta = {
        "help": help,
        "flag": flag,
        "runtime": runtime,
        "negate": negate,
        "choices": choices,
        "cli_default": cli_default,
    }
    return field(default=default, metadata=meta)


@dataclass
class SandboxOptions:
    seed: str = _opt("demo", "which world to start with", runtime=False, choices=SEEDS)
    host: str = _opt(
        "127.0.0.1",
        "address to listen on; anything but loopback needs --admin-token",
        runtime=False,
    )
    port: int = _opt(0, "0 = any free port", runtime=False, cli_default=8765)
    admin_token: str | None = _opt(
        None,
        "token the /_sandbox/ admin routes require (header X-Sandbox-Admin-Token)",
        runtime=False,
    )
    latency_ms: float = _opt(0.0, "added to every API request, in milliseconds")
    fail_rate: float = _opt(0.0, "probability of a 503 before processing (0-1)")
    fail_after_apply_rate: float = _opt(0.0, "probability of a 500 after a write was applied (0-1)")
    lose_answer_rate: float = _opt(
        0.0,
        "probability that a write is applied and its answer is unreadable: an HTML page, "
        "truncated JSON or a dropped connection (0-1)",
    )
    # Gradient's documented limit is 100 requests/second: enforced by default so a client that
    # ignores it finds out here. None or 0 disables (the window is still measured).
    rate_limit: int | None = _opt(100, "requests/second per token; 0 = off")
    retry_after: bool = _opt(True, "send Retry-After: 1 with 429s", negate=True)
    legacy: bool = _opt(
        True,
        "serve the undocumented legacy routes (count add/subtract/all, PATCH /organization, "
        "disabled/error statuses)",
        negate=True,
    )
    honour_idempotency_key: bool = _opt(
        False,
        "replay a repeated Idempotency-Key instead of applying the write again (no public "
        "source says Gradient does this; experiments only)",
    )
    auto_activate: bool = _opt(
        True, "pending -> active after the first accepted count or alert", negate=True
    )
    random_seed: int = _opt(1234, "seed of the fault dice and generated ids")
    clients_page_limit: int = _opt(100, "page size of GET /organization/clients")
    alert_delay_ms: int = _opt(300, "an alert's debug status stays pending this long")
    alert_no_board: bool = _opt(False, "no partner has a PSA board mapped for alerts: all fail")
    alert_psa_down_rate: float = _opt(
        0.0, "probability an alert fails because the PSA is down (0-1)"
    )

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
            checked[name] = _check(raw_name, name, str(types[name]), value)
        for name, value in checked.items():
            setattr(self, name, value)


#: Runtime-changeable fields (``POST /_sandbox/faults``), from the declarations above.
FAULT_FIELDS = tuple(f.name for f in fields(SandboxOptions) if f.metadata["runtime"])


def _check(raw_name: str, name: str, kind: str, value: Any) -> Any:
    if "bool" in kind:
        if not isinstance(value, bool):
            raise ValueError(f"{raw_name} must be a boolean")
        return value
    if value is None and "None" in kind:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{raw_name} must be a number")
    if value < 0:
        raise ValueError(f"{raw_name} must not be negative")
    if name.endswith("_rate") and value > 1:
        raise ValueError(f"{raw_name} must be between 0 and 1")
    if "int" in kind and not float(value).is_integer():
        raise ValueError(f"{raw_name} must be an integer")
    if name == "clients_page_limit" and value < 1:
        raise ValueError(f"{raw_name} must be at least 1")
    if name == "clients_page_limit" and value > 10_000:
        raise ValueError(f"{raw_name} must be at most 10000")
    return int(value) if "int" in kind else value


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _flag(f: Any) -> str:
    name = f.name.replace("_", "-")
    return f"--no-{name}" if f.metadata["negate"] else f"--{name}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox's command-line options, shared by `python -m gradient_desktop.sandbox` and
    `gradient-desktop sandbox`: one flag per declared field."""
    for f in fields(SandboxOptions):
        meta, kind = f.metadata, str(f.type)
        if "bool" in kind:
            parser.add_argument(_flag(f), dest=f.name, action="store_true", help=meta["help"])
            continue
        default = meta["cli_default"] if meta["cli_default"] is not None else f.default
        py_type = float if "float" in kind else int if "int" in kind else str
        parser.add_argument(
            _flag(f),
            dest=f.name,
            type=py_type,
            default=default,
            choices=meta["choices"],
            help=f"{meta['help']} (default {default})",
        )


def options_from_args(args: argparse.Namespace) -> SandboxOptions:
    values: dict[str, Any] = {}
    for f in fields(SandboxOptions):
        value = getattr(args, f.name)
        if f.metadata["negate"]:
            value = not value
        elif f.name.endswith("_rate") and not 0 <= value <= 1:
            raise SystemExit(f"{_flag(f)} must be between 0 and 1")
        values[f.name] = value
    values["rate_limit"] = values["rate_limit"] or None
    return SandboxOptions(**values)


def markdown_table() -> str:
    """The switches as a Markdown table (docs/DEVELOPING.md, README)."""
    lines = ["| flag | default | at run time | what |", "|---|---|---|---|"]
    for f in fields(SandboxOptions):
        default = f.metadata["cli_default"] if f.metadata["cli_default"] is not None else f.default
        runtime = "yes" if f.metadata["runtime"] else "no"
        lines.append(f"| `{_flag(f)}` | {default} | {runtime} | {f.metadata['help']} |")
    return "\n".join(lines)
