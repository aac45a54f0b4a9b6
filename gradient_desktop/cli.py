"""The ``gradient-desktop`` command. With no arguments it opens the GUI; its subcommands run
headless (no Qt is imported for them), for scheduled pushes and for the sandbox.

Exit codes: 0 success (every row landed and billing was rebuilt), 1 some row failed, was
unmapped or is still queued, 2 bad usage, bad input or a storage fault (including an
authentication failure: the key is wrong, not the data), 3 ``selfcheck``: no usable keyring,
130 a push stopped by Ctrl-C/SIGTERM (what was not sent stays queued).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence
from typing import Any

from gradient_desktop import __version__
from gradient_desktop.services.wording import noun, plural

EXIT_OK, EXIT_ROWS_FAILED, EXIT_USAGE = 0, 1, 2
#: ``selfcheck``: the installation is whole but no keyring is usable on this machine.
EXIT_NO_KEYRING = 3


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradient-desktop",
        description="Connect a vendor product to Gradient MSP's billing through the Vendor API. "
        "Without a command the desktop app opens.",
    )
    parser.add_argument("--version", action="version", version=f"gradient-desktop {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser("gui", help="open the desktop app (the default)")
    gui.add_argument("--demo", action="store_true", help="open straight into the demo")

    sb = sub.add_parser("sandbox", help="run the Gradient sandbox in the foreground")
    from gradient_desktop.sandbox.options import add_arguments

    add_arguments(sb)

    partner = sub.add_parser("partner", help="add, list or remove partners")
    psub = partner.add_subparsers(dest="partner_command", metavar="ACTION", required=True)
    add = psub.add_parser("add", help="add a partner (keys from a no-echo prompt or env vars)")
    add.add_argument("name")
    add.add_argument("--base-url", default="https://app.usegradient.com")
    add.add_argument("--profile", default="default", help="vendor profile name (default: default)")
    add.add_argument(
        "--legacy-count-routes",
        action="store_true",
        help="allow add/subtract on counts the app does not know through the undocumented "
        "PATCH routes (off by default; only for a Gradient known to have them)",
    )
    psub.add_parser("list", help="list partners")
    rm = psub.add_parser("remove", help="remove a partner and its key")
    rm.add_argument("name")
    rm.add_argument("--keep-key", action="store_true", help="leave the key in the keyring")

    status = sub.add_parser("status", help="show a partner's integration (status, last sync)")
    status.add_argument("--partner", required=True)

    from gradient_desktop.cli_push import add_arguments as add_push_arguments

    add_push_arguments(sub.add_parser("push", help="push unit counts from a CSV or JSON file"))
    from gradient_desktop.cli_data import add_arguments as add_data_arguments

    add_data_arguments(sub.add_parser("data", help="export, import or seed the local ledger"))
    from gradient_desktop.cli_alerts import add_alert_parser

    add_alert_parser(sub)  # `alert send|trace|list|confirm|source`, in its own module
    check = sub.add_parser(
        "selfcheck", help="check that this installation works (bundled files, keyring backend)"
    )
    check.add_argument(
        "--bundle-only",
        action="store_true",
        help="check only that the installation is whole (exit 0 even with no usable keyring)",
    )
    check.add_argument(
        "--keyring-write",
        action="store_true",
        help="also write, read back and delete a probe entry in the system keyring",
    )
    from gradient_desktop.cli_sync import add_commands as add_sync_commands

    add_sync_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] == "gui" or args_list == ["--demo"]:
        demo = "--demo" in args_list
        from gradient_desktop.ui.app import run_gui  # Qt is imported only here

        return run_gui(demo=demo)
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else EXIT_USAGE
    try:
        if args.command == "sandbox":
            from gradient_desktop.sandbox.options import options_from_args
            from gradient_desktop.sandbox.server import run_foreground

            return run_foreground(options_from_args(args))
        _start_logging()
        if args.command == "partner":
            return _partner(args)
        if args.command == "status":
            import asyncio  # here, not at the top: the GUI's first paint does not need it

            return asyncio.run(_status(args))
        if args.command == "push":
            import asyncio

            from gradient_desktop.cli_push import run_push

            return asyncio.run(run_push(args))
        if args.command == "data":
            from gradient_desktop.cli_data import run_data

            return run_data(args)
        if args.command == "selfcheck":
            return _selfcheck(args)
        if args.command == "alert":
            from gradient_desktop.cli_alerts import run_alert

            return run_alert(args)
        if args.command in ("sync", "source", "schedule"):
            from gradient_desktop.cli_sync import run as run_sync_command

            return run_sync_command(args)
    except CliError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("Interrupted. Rows not yet acknowledged stay queued and are sent by the next push.")
        return EXIT_ROWS_FAILED
    except Exception as exc:  # a storage fault: one line, never a traceback
        from gradient_desktop.cli_errors import is_storage_error, storage_message

        if not is_storage_error(exc):
            raise
        _err(storage_message(exc) or str(exc))
        return EXIT_USAGE
    parser.print_help()
    return EXIT_USAGE


def _selfcheck(args: argparse.Namespace) -> int:
    """Print what loads and what does not; 0 when the installation is whole (installer smoke test)."""
    from gradient_desktop.diagnostics import run_selfcheck

    report = run_selfcheck(keyring_write=args.keyring_write)
    for line in report.lines():
        print(line)
    if not report.ok:
        return EXIT_ROWS_FAILED
    if not report.keyring_usable and not args.bundle_only:
        _err(
            "No keyring is usable here, so keys cannot be stored: `partner add` will not work. "
            "Scheduled pushes can use push --base-url with GRADIENT_VENDOR_KEY and "
            "GRADIENT_PARTNER_KEY instead."
        )
        return EXIT_NO_KEYRING
    return EXIT_OK


def _start_logging() -> None:
    """Scheduled runs leave a trace: the same rotating, redacted log file as the app (without
    it, a warning would reach stderr through Python's fallback handler, unredacted)."""
    from gradient_desktop.config import Settings, log_dir
    from gradient_desktop.logsetup import setup_logging

    try:
        setup_logging(Settings.load().log_level, log_dir())
    except OSError as exc:  # an unwritable log folder must not stop a push
        _err(f"logging to a file is off ({exc.strerror or exc})")


def _err(message: str) -> None:
    print(f"gradient-desktop: {message}", file=sys.stderr)


def _context() -> Any:
    from gradient_desktop.services.context import AppContext
    from gradient_desktop.store import AlreadyRunning, DatabaseProblem

    try:
        return AppContext.open()
    except (DatabaseProblem, AlreadyRunning) as exc:
        raise CliError(str(exc)) from None


class _Locked:
    """Holds the single-instance lock for a command that writes to the data folder, so two
    pushes (or a push while the app runs) cannot interleave their outbox work."""

    def __init__(self) -> None:
        from gradient_desktop.store import AlreadyRunning, InstanceLock

        self.lock = InstanceLock()
        try:
            self.lock.acquire()
        except AlreadyRunning as exc:
            raise CliError(
                f"{exc} Close the app (or wait for the other push) and run this again; "
                "nothing was sent."
            ) from None

    def release(self) -> None:
        self.lock.release()


def _read_key(env: str, prompt: str) -> str:
    value = os.environ.get(env)
    if value:
        return value.strip()
    if not sys.stdin.isatty():
        raise CliError(f"No {prompt.lower()} given: set {env} or run in a terminal to be asked.")
    value = getpass.getpass(f"{prompt}: ").strip()
    if not value:
        raise CliError(f"The {prompt.lower()} cannot be empty.")
    return value


def _partner(args: argparse.Namespace) -> int:
    from gradient_desktop.api import InsecureUrlError
    from gradient_desktop.secrets import KeyringUnavailable
    from gradient_desktop.services.partners import PartnerDirectory, PartnerExists, PartnerNotFound
    from gradient_desktop.services.state import when

    held = _Locked() if args.partner_command != "list" else None
    ctx = _context()
    try:
        directory = PartnerDirectory(ctx)
        if args.partner_command == "list":
            rows = directory.summaries()
            if not rows:
                print(
                    "No partners yet. Add one with: gradient-desktop partner add NAME --base-url URL"
                )
            for r in rows:
                synced = when(r.last_synced_at)  # the app's one format, local time
                print(
                    f"{r.name}\t{r.status}\t{r.base_url}\tlast sync {synced}\t{r.mapped_accounts}/{r.accounts} mapped"
                )
            return EXIT_OK
        if args.partner_command == "remove":
            directory.remove(args.name, delete_keys=not args.keep_key)
            print(f"Removed partner {args.name}.")
            return EXIT_OK
        # add
        ctx.secrets.check_backend()
        profile = directory.profile(args.profile)
        vendor_key = None
        if profile is None or not ctx.keys.has_vendor_key(args.profile, profile.base_url):
            vendor_key = _read_key("GRADIENT_VENDOR_KEY", "Vendor API key")
        profile = directory.save_profile(args.profile, args.base_url, vendor_key)
        partner_key = _read_key("GRADIENT_PARTNER_KEY", "Partner API key")
        partner = directory.add(args.name, profile, partner_key, base_url=args.base_url)
        if args.legacy_count_routes:
            from gradient_desktop.services.push import PushService

            PushService(ctx).set_legacy_routes(partner, True)
        print(f"Added partner {args.name} ({args.base_url}); keys are in the OS keyring.")
        print(f"Check it with: gradient-desktop status --partner {args.name}")
        return EXIT_OK
    except (
        PartnerExists,
        PartnerNotFound,
        InsecureUrlError,
        ValueError,
        KeyringUnavailable,
    ) as exc:
        raise CliError(str(exc)) from None
    finally:
        ctx.close()
        if held is not None:
            held.release()


async def _status(args: argparse.Namespace) -> int:
    from gradient_desktop.api import ApiError
    from gradient_desktop.secrets import KeyringUnavailable
    from gradient_desktop.services.context import MissingKeyError
    from gradient_desktop.services.integration import IntegrationService
    from gradient_desktop.services.partners import PartnerDirectory, PartnerNotFound

    ctx = _context()
    try:
        partner = PartnerDirectory(ctx).get(args.partner)
        integration = await IntegrationService(ctx).refresh(partner)
        synced = "never" if integration.never_synced else integration.last_synced_at
        print(f"Partner:      {partner.name}")
        print(f"Organization: {integration.name} ({integration.organization_id})")
        print(f"Vendor:       {integration.vendor_name}")
        print(f"Status:       {integration.status}")
        print(f"Last sync:    {synced}")
        pending = ctx.outbox.pending_count(partner.id or 0)
        if pending:
            print(
                f"Queued:       {plural(pending, 'count')} not yet acknowledged; "
                "the next push sends them"
            )
        return EXIT_OK
    except (PartnerNotFound, MissingKeyError, KeyringUnavailable, ApiError) as exc:
        raise CliError(str(exc)) from None
    finally:
        await ctx.aclose()
        ctx.close()


class _Progress:
    """One updating line on stderr (a terminal) or a line every 10 % (a log file)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last_decile = -1

    def __call__(self, ev: Any) -> None:
        eta = f", ~{ev.eta_s:.0f} s left" if ev.eta_s is not None else ""
        line = f"pushed {ev.done}/{ev.total} (ok {ev.ok}, unmapped {ev.unmapped}, failed {ev.failed}){eta}"
        if self.tty:
            print("\r" + line.ljust(79), end="", file=sys.stderr, flush=True)
        else:
            decile = ev.done * 10 // max(ev.total, 1)
            if decile != self.last_decile:
                self.last_decile = decile
                print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty:
            print(file=sys.stderr)


def _report(report: Any, limit: int = 20) -> int:
    """Name the rows that did not land (the first ``limit`` of each kind), then count the rest."""
    shown: dict[str, int] = {}
    for r in report.results:
        if r.outcome not in ("unmapped", "failed", "unknown"):
            continue
        shown[r.outcome] = shown.get(r.outcome, 0) + 1
        if shown[r.outcome] > limit:
            continue
        where = f"account {r.row.account_id} × service {r.row.service_id}"
        if r.outcome == "unmapped":
            print(f"unmapped: {where} (the MSP has not mapped it in Synthesize)", file=sys.stderr)
        else:
            print(f"{r.outcome}: {where}: {r.error}", file=sys.stderr)
    for outcome, n in shown.items():
        if n > limit:
            print(f"... and {n - limit} more {outcome} {noun(n - limit, 'row')}", file=sys.stderr)
    return EXIT_OK if report.ok == report.total else EXIT_ROWS_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
