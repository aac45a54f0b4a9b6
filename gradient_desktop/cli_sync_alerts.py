"""The alert part of the ``source`` and ``sync`` commands (``cli_sync.py`` calls these with one
line each): ``source add NAME --alerts [--alert-field FIELD=COLUMN ...]`` and the alert lines of
a sync's summary. Qt-free."""

from __future__ import annotations

import argparse
import sys
from typing import Any

#: = services.sources.config.ALERT_FIELDS (a test keeps them equal); written out here because
#: importing the services package to build the parser would slow every command's start.
ALERT_FIELDS = ("account", "title", "description", "priority", "status", "due", "service",
                "partner", "key", "alert_id")  # fmt: skip


def add_alert_options(add: argparse.ArgumentParser) -> None:
    add.add_argument(
        "--alerts",
        action="store_true",
        help="each row is an alert for the partner's PSA (a file source on a folder: every "
        "*.json file in it is events); sent by the same sync run",
    )
    add.add_argument(
        "--alert-field",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help=f"with --alerts: which column holds FIELD ({', '.join(ALERT_FIELDS)}); unset fields "
        "are found by their usual names. Map key to the event's own id for exactly-once",
    )


def alert_options(args: argparse.Namespace) -> dict[str, Any]:
    """The SourceConfig fields of the alert options (empty for a usage source)."""
    from gradient_desktop.cli import CliError

    if not args.alerts:
        if args.alert_field:
            raise CliError("--alert-field needs --alerts.")
        return {}
    fields: dict[str, str] = {}
    for item in args.alert_field:
        name, sep, column = item.partition("=")
        if not sep or name.strip() not in ALERT_FIELDS or not column.strip():
            raise CliError(
                f"--alert-field {item!r}: write FIELD=COLUMN, FIELD one of {', '.join(ALERT_FIELDS)}."
            )
        fields[name.strip()] = column.strip()
    return {"emits": "alerts", "alert_fields": fields}


def print_alerts(result: Any) -> None:
    """The alert sources' part of a sync run: a table per partner, problems on stderr."""
    alerts = getattr(result, "alerts", None)
    if alerts is None:
        return
    head = ("partner", "new", "sent", "unknown", "refused", "waiting", "tickets", "failed")
    rows = [head] + [
        (p.name, *(str(getattr(p, k)) for k in ("new", "sent", "unknown", "rejected", "queued", "tickets", "failed")))
        for p in alerts.partners
    ]  # fmt: skip
    if alerts.partners:
        print("alerts:")
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        for r in rows:
            print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    for p in alerts.partners:
        if p.error:
            print(f"{p.name}: alerts: {p.error}", file=sys.stderr)
        for problem in p.problems[:10]:
            print(f"{p.name}: alert: {problem}", file=sys.stderr)
    for problem in alerts.errors[:20]:
        print(f"alert error: {problem}", file=sys.stderr)
    for problem in alerts.unmatched[:20]:
        print(f"alert unmatched: {problem}", file=sys.stderr)
