"""The ``sync``, ``source`` and ``schedule`` commands (issue #13), registered by ``cli.py`` with
one line each. Headless and Qt-free; the scheduled job runs ``sync --all --scheduled``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from typing import Any

from gradient_desktop.cli import EXIT_OK, EXIT_USAGE, CliError, _context, _err, _Locked
from gradient_desktop.cli_sync_alerts import add_alert_options, alert_options, print_alerts
from gradient_desktop.services.wording import plural

COMMANDS = ("sync", "source", "schedule")


def add_commands(sub: Any) -> None:
    sync = sub.add_parser("sync", help="read the usage sources and push what changed to partners")
    who = sync.add_mutually_exclusive_group()
    who.add_argument("--partner", action="append", help="only this partner (repeatable)")
    who.add_argument("--all", action="store_true", help="every partner (the default)")
    sync.add_argument("--source", action="append", help="only this source (repeatable)")
    sync.add_argument("--dry-run", action="store_true", help="read and compare, send nothing")
    sync.add_argument(
        "--full",
        action="store_true",
        help="re-send every absolute count, changed or not (an add is never sent twice)",
    )
    sync.add_argument("--scheduled", action="store_true", help=argparse.SUPPRESS)

    src = sub.add_parser("source", help="add, list, preview or remove usage sources")
    ssub = src.add_subparsers(dest="source_command", metavar="ACTION", required=True)
    add = ssub.add_parser("add", help="add or replace a source")
    add.add_argument("name")
    add.add_argument("--kind", choices=("file", "sql", "http"), required=True)
    add.add_argument("--path", default="", help="file, or folder (newest match of --pattern)")
    add.add_argument("--pattern", default="", help="with a folder: e.g. 'usage-*.csv'")
    add.add_argument("--sheet", default="", help="XLSX sheet (default: the first)")
    add.add_argument("--url", default="", help="database address (no password) or endpoint")
    add.add_argument("--query", default="", help="SQL query (run read-only)")
    add.add_argument("--records", default="", help="JSON: dotted path to the list of records")
    add.add_argument("--next", default="", help="HTTP: dotted path to the next page's link")
    add.add_argument("--auth-header", default="", help="HTTP: header for the token")
    add.add_argument("--secret-env", default="", help="read the password/token from this env var")
    add.add_argument("--account-field", default="accountId")
    add.add_argument("--service-field", default="serviceId", help="holds a service id or name")
    add.add_argument("--count-field", default="unitCount")
    add.add_argument("--op-field", default="")
    add.add_argument("--partner-field", default="")
    add.add_argument("--bytes", action="store_true", help="storage counts are bytes (→ MB/GB/TB)")
    add.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    add_alert_options(add)
    ssub.add_parser("list", help="list sources")
    for action, text in (
        ("preview", "show the first rows and every problem"),
        ("remove", "remove"),
    ):
        p = ssub.add_parser(action, help=text)
        p.add_argument("name")
    sec = ssub.add_parser("secret", help="store a source's password or token in the keyring")
    sec.add_argument("name")
    sec.add_argument("--secret-env", default="")

    sched = sub.add_parser("schedule", help="run `sync --all` on a schedule kept by the OS")
    schsub = sched.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)
    sset = schsub.add_parser("set", help="register (or replace) the scheduled sync")
    when = sset.add_mutually_exclusive_group(required=True)
    when.add_argument("--every", help="e.g. 30m, 1h, 6h")
    when.add_argument("--daily", help="HH:MM, local time")
    schsub.add_parser("show", help="show the scheduled sync and its last runs")
    schsub.add_parser("remove", help="remove the scheduled sync")


def run(args: argparse.Namespace) -> int:
    if args.command == "sync":
        return asyncio.run(_sync(args))
    if args.command == "source":
        return asyncio.run(_source(args))
    return _schedule(args)


# -- sync -------------------------------------------------------------------------------------


class _PartnerProgress:
    """One line per partner on stderr at 0 %, every 25 % and the end (many partners at once
    would make a single updating line unreadable)."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}

    def __call__(self, partner: str, done: int, total: int) -> None:
        step = 4 if total == 0 else done * 4 // total
        if self.last.get(partner) == step:
            return
        self.last[partner] = step
        print(f"{partner}: {done}/{total}", file=sys.stderr, flush=True)


async def _sync(args: argparse.Namespace) -> int:
    from gradient_desktop.services.sync import SyncService

    try:
        held = _Locked()
    except CliError:
        if not args.scheduled:
            raise
        _skipped_run()
        raise
    ctx = _context()
    try:
        service = SyncService(ctx)
        result = await service.run(
            partners=args.partner,
            sources=args.source,
            dry_run=args.dry_run,
            full=args.full,
            trigger="schedule" if args.scheduled else "cli",
            on_progress=_PartnerProgress(),
        )
    finally:
        await ctx.aclose()
        ctx.close()
        held.release()
    print_result(result)
    return result.exit_code()


def _skipped_run() -> None:
    """The app (or another sync) holds the data folder: leave a record the app shows."""
    from gradient_desktop.services.sources import RunStore

    ctx = _context()
    try:
        runs = RunStore(ctx)
        runs.finish(
            runs.start("schedule"),
            status="skipped",
            message="The app or another sync was running, so this scheduled sync did not run.",
        )
    finally:
        ctx.close()


def print_result(result: Any) -> None:
    for problem in result.errors[:20]:
        print(f"error: {problem}", file=sys.stderr)
    for problem in result.unmatched[:20]:
        print(f"unmatched: {problem}", file=sys.stderr)
    if len(result.unmatched) > 20:
        print(
            f"... and {plural(len(result.unmatched) - 20, 'more unmatched row')}", file=sys.stderr
        )
    if result.partners:
        head = ("partner", "changed", "same", "landed", "unmapped", "failed", "rebuilt")
        rows = [head]
        for p in result.partners:
            push = p.push
            rows.append(
                (
                    p.name,
                    str(p.changed),
                    str(p.skipped_same),
                    str(push.landed if push else 0),
                    str(push.unmapped if push else 0),
                    str((push.failed + push.unknown + push.not_sent) if push else 0),
                    ("yes" if push.rebuilt else "no") if push else ("error" if p.error else "-"),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        for p in result.partners:
            if p.error:
                print(f"{p.name}: {p.error}", file=sys.stderr)
            elif p.push is not None:
                for acc, svc, outcome, err in p.push.problems[:10]:
                    print(
                        f"{p.name}: {outcome}: account {acc} × service {svc}: {err}",
                        file=sys.stderr,
                    )
    print_alerts(result)
    print(result.message, file=sys.stderr)


# -- sources ----------------------------------------------------------------------------------


def _secret(env: str, what: str) -> str | None:
    if env:
        value = os.environ.get(env, "").strip()
        if not value:
            raise CliError(f"The environment variable {env} is empty or not set.")
        return value
    if not sys.stdin.isatty():
        return None
    value = getpass.getpass(f"{what} (leave empty for none): ").strip()
    return value or None


async def _source(args: argparse.Namespace) -> int:
    from gradient_desktop.secrets import SecretStoreError
    from gradient_desktop.services.sources import FieldMap, SourceConfig, SourceError, SourceStore
    from gradient_desktop.services.sources import preview as make_preview

    # Writes take the instance lock, as every CLI write does; list and preview only read.
    held = _Locked() if args.source_command in ("add", "remove", "secret") else None
    ctx = _context()
    store = SourceStore(ctx)
    try:
        cmd = args.source_command
        if cmd == "list":
            sources = store.list()
            if not sources:
                print("No sources yet. Add one with: gradient-desktop source add NAME --kind ...")
            for c in sources:
                print(f"{c.name}\t{c.kind}\t{c.describe()}")
            return EXIT_OK
        if cmd == "remove":
            store.remove(args.name)
            print(f"Removed source {args.name}.")
            return EXIT_OK
        if cmd == "secret":
            config = store.get(args.name)
            secret = _secret(args.secret_env, "Password or token")
            if not secret:
                raise CliError("No secret given; nothing changed.")
            store.save(config, secret)
            print(f"Stored the secret of {args.name} in the keyring.")
            return EXIT_OK
        if cmd == "preview":
            shown = await make_preview(ctx, store.get(args.name))
            _print_preview(shown)
            return EXIT_OK if not shown.errors else 1
        config = SourceConfig(
            name=args.name,
            kind=args.kind,
            path=args.path,
            pattern=args.pattern,
            sheet=args.sheet,
            url=args.url,
            query=args.query,
            records_path=args.records,
            next_path=args.next,
            auth_header=args.auth_header,
            timeout_s=args.timeout,
            **alert_options(args),
            mapping=FieldMap(
                account=args.account_field,
                service=args.service_field,
                count=args.count_field,
                op=args.op_field,
                partner=args.partner_field,
                count_unit="bytes" if args.bytes else "units",
            ),
        )
        secret = _secret(args.secret_env, "Password or token") if args.kind != "file" else None
        config.has_secret = bool(secret)
        shown = await make_preview(ctx, config, secret)  # refuse what cannot be read
        store.save(config, secret)
        _print_preview(shown, limit=5)
        print(f"Saved source {config.name}.")
        return EXIT_OK
    except (SourceError, SecretStoreError) as exc:
        raise CliError(str(exc)) from None
    finally:
        ctx.close()
        if held is not None:
            held.release()


def _print_preview(p: Any, limit: int = 20) -> None:
    print("\t".join(["row", *p.columns]))
    for line, rec in p.rows[:limit]:
        print("\t".join([str(line)] + [str(rec.get(c, "")) for c in p.columns]))
    print(f"{plural(p.total, 'row')}; {p.routed} routed to a partner.")
    for problem in p.errors[:20]:
        print(f"error: {problem}")
    for problem in p.unmatched[:20]:
        print(f"unmatched: {problem}")


# -- schedule ---------------------------------------------------------------------------------


def _schedule(args: argparse.Namespace) -> int:
    from gradient_desktop.services import schedule

    try:
        backend = schedule.detect()
        if args.schedule_command == "set":
            spec = schedule.parse_when(every=args.every, daily=args.daily)
            where = backend.install(spec, schedule.command_line())
            print(f"Scheduled `gradient-desktop sync --all` {spec.describe()} ({where}).")
            from gradient_desktop.services.schedule_keys import keyring_advice

            ctx = _context()
            try:
                advice = keyring_advice(ctx, backend)
            finally:
                ctx.close()
            if advice:
                print(advice)
            return EXIT_OK
        if args.schedule_command == "remove":
            print(
                "Removed the scheduled sync." if backend.remove() else "No scheduled sync was set."
            )
            return EXIT_OK
        shown = backend.show()
        when = backend.when() if shown else None
        if when is not None:
            print(f"Syncing {when.describe()} ({backend.name}). What the system keeps:")
        print(
            shown
            or "No scheduled sync is set. Add one with: gradient-desktop schedule set --every 1h"
        )
        return EXIT_OK
    except schedule.ScheduleError as exc:
        _err(str(exc))
        return EXIT_USAGE
