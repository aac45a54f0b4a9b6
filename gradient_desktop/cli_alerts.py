"""``gradient-desktop alert …``: send vendor alerts (PSA tickets) exactly once, trace them, list
them, and settle the ones whose outcome is unknown.

    alert send --partner P --account ID --title T [--description D] [--priority high]
               [--status N] [--service ID] [--due ISO] [--alert-id ID]
    alert send FILE --partner P [--again] [--dry-run]   (CSV or JSON; checked whole first)
    alert trace [--partner P] [--stuck] [--wait S]
    alert list [--partner P] [--status S] [--search TEXT] [--csv FILE]
    alert confirm ALERT_ID (--resend | --mark-sent | --cancel)
    alert source FOLDER [--archive] [--wait S]   (JSON event files, see services/alert_source.py)

Exit codes as the rest of the CLI: 0 all done, 1 some alert failed / is unknown / still
pending, 2 bad input (nothing was recorded or sent).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from gradient_desktop.services.wording import plural, verb

EXIT_OK, EXIT_SOME, EXIT_USAGE = 0, 1, 2


def add_alert_parser(sub: Any) -> None:
    """Register the ``alert`` command on the CLI's subparsers."""
    alert = sub.add_parser("alert", help="send vendor alerts (PSA tickets) and trace them")
    asub = alert.add_subparsers(dest="alert_command", metavar="ACTION", required=True)

    send = asub.add_parser("send", help="send one alert, or every alert of a CSV/JSON file")
    send.add_argument("file", nargs="?", type=Path, help="CSV (header accountId,title,…) or JSON")
    send.add_argument("--partner", required=True)
    send.add_argument("--account", help="the vendor account id the alert is about")
    send.add_argument("--title")
    send.add_argument("--description", default="")
    send.add_argument("--priority", default="low", help="1-4 or low, medium, high, very-high")
    send.add_argument("--status", default="1", help="PSA ticket status 1-6 (default 1)")
    send.add_argument("--service", help="a service id to attach the alert to")
    send.add_argument("--due", help="due date, ISO 8601 (e.g. 2026-12-31T17:00:00Z)")
    send.add_argument("--alert-id", help="your own stable id for this alert")
    send.add_argument("--again", action="store_true", help="send a file's rows as new alerts "
                      "even if this file was sent before")  # fmt: skip
    send.add_argument("--dry-run", action="store_true", help="check only; record and send nothing")
    send.add_argument("--wait", type=float, default=30.0,
                      help="seconds to follow the tickets after sending (default 30; 0 = none)")  # fmt: skip

    trace = asub.add_parser("trace", help="follow sent alerts until their ticket exists or fails")
    trace.add_argument("--partner")
    trace.add_argument("--stuck", action="store_true",
                       help="only list alerts still pending or whose outcome is unknown")  # fmt: skip
    trace.add_argument("--wait", type=float, default=30.0, help="seconds to keep checking")

    lst = asub.add_parser("list", help="the alert history")
    lst.add_argument("--partner")
    lst.add_argument("--status", help="only alerts in this state (e.g. unknown, failed, success)")
    lst.add_argument("--search", help="only alerts whose title or account contains this text")
    lst.add_argument("--csv", type=Path, help="write the list to this CSV file instead")

    source = asub.add_parser("source", help="send the alerts of a folder of JSON event files")
    source.add_argument("folder", type=Path)
    source.add_argument("--archive", action="store_true", help="move sent files to FOLDER/sent")
    source.add_argument("--wait", type=float, default=0.0, help="seconds to follow the tickets")

    confirm = asub.add_parser("confirm", help="decide what happens to an alert in doubt")
    confirm.add_argument("alert_id")
    choice = confirm.add_mutually_exclusive_group(required=True)
    choice.add_argument(
        "--resend", action="store_true", help="send it again (you checked: no ticket)"
    )
    choice.add_argument(
        "--mark-sent", action="store_true", help="it did arrive (you saw the ticket)"
    )
    choice.add_argument(
        "--cancel", action="store_true", help="do not send it (a failed one: dismiss it)"
    )


def run_alert(args: argparse.Namespace) -> int:
    from gradient_desktop.cli import CliError

    command = args.alert_command
    if command == "send":
        return asyncio.run(_send(args))
    if command == "trace":
        return asyncio.run(_trace(args))
    if command == "list":
        return _list(args)
    if command == "confirm":
        return asyncio.run(_confirm(args))
    if command == "source":
        return asyncio.run(_source(args))
    raise CliError(f"unknown alert action {command}")


def _out(line: str) -> None:
    print(line, flush=True)


def _partner(ctx: Any, name: str) -> Any:
    from gradient_desktop.cli import CliError
    from gradient_desktop.services.partners import PartnerDirectory, PartnerNotFound

    try:
        return PartnerDirectory(ctx).get(name)
    except PartnerNotFound as exc:
        raise CliError(str(exc)) from None


def _alerts_from_args(args: argparse.Namespace) -> tuple[list[Any], list[int] | None]:
    """The alerts to send, and their file rows (None for one alert from the flags)."""
    from gradient_desktop.cli import CliError
    from gradient_desktop.services.alert_input import AlertFileError, build_alert, parse_alert_file

    if args.file is not None:
        if args.account or args.title:
            raise CliError("Give either a FILE or --account/--title, not both.")
        try:
            parsed = parse_alert_file(
                args.file.read_bytes(), filename=args.file.name, again=args.again
            )
        except OSError as exc:
            raise CliError(f"Cannot read {args.file}: {exc.strerror or exc}") from None
        except AlertFileError as exc:
            raise CliError(f"{args.file}: {exc}") from None
        if not parsed.ok:
            raise CliError(f"{args.file} has problems; nothing was sent:\n{parsed.error_text()}")
        return parsed.alerts, parsed.lines
    if not args.account or args.title is None:
        raise CliError("Give --account and --title (or a CSV/JSON FILE of alerts).")
    fields = {
        "account_id": args.account,
        "title": args.title,
        "description": args.description,
        "priority": args.priority,
        "psa_status": args.status,
        "due": args.due,
        "service_id": args.service,
        "alert_id": args.alert_id,
    }
    try:
        return [build_alert(fields)], None
    except ValueError as exc:
        raise CliError(f"The alert cannot be sent: {exc}.") from None


async def _send(args: argparse.Namespace) -> int:
    from gradient_desktop.api import ApiError
    from gradient_desktop.cli import CliError, _context, _Locked
    from gradient_desktop.services.alerts import AlertService

    alerts, lines = _alerts_from_args(args)
    held = _Locked()
    ctx = _context()
    try:
        partner = _partner(ctx, args.partner)
        service = AlertService(ctx)
        problems, warnings = await service.check_accounts(partner, alerts, lines)
        if problems:
            raise CliError("Nothing was sent:\n" + "\n".join(problems[:20]))
        for w in warnings:
            print(f"warning: {w}", file=sys.stderr)
        if args.dry_run:
            _out(
                f"{plural(len(alerts), 'alert')} {verb(len(alerts), 'is')} valid; dry run, nothing recorded or sent."
            )
            return EXIT_OK
        origin = "file" if args.file is not None else "cli"
        rows, added = service.record(partner, alerts, origin=origin)
        if added < len(rows):
            _out(f"{plural(len(rows) - added, 'alert')} of this input {verb(len(rows) - added, 'was')} recorded before; "
                 "they are not sent twice.")  # fmt: skip
        report = await service.send(partner, on_progress=_print_sent)
        if report.recovered_unknown:
            _out(f"{plural(report.recovered_unknown, 'alert')} {verb(report.recovered_unknown, 'was')} being sent when an earlier run "
                 "stopped; their outcome is unknown.")  # fmt: skip
        if report.stopped:
            _out(f"Stopped: {report.stopped} {plural(report.left_queued, 'alert')} {verb(report.left_queued, 'stays')} queued and "
                 "are sent by the next `alert send`.")  # fmt: skip
        code = EXIT_OK if not (report.rejected or report.unknown or report.stopped) else EXIT_SOME
        if args.wait > 0 and report.accepted:
            traced = await service.trace(
                partner, report.accepted, timeout=args.wait, on_update=_print_traced
            )
            if traced.failed or traced.pending:
                code = EXIT_SOME
        _print_unknown(service, partner.id)
        return code
    except ApiError as exc:
        raise CliError(str(exc)) from None
    finally:
        await ctx.aclose()
        ctx.close()
        held.release()


def _print_sent(row: Any) -> None:
    from gradient_desktop.services.alerts import status_text

    detail = f": {row.reason}" if row.state in ("rejected", "unknown") and row.reason else ""
    _out(f"{status_text(row)}: {row.title!r} for account {row.account_id} ({row.alert_id}){detail}")


def _print_traced(row: Any) -> None:
    if row.state == "success":
        _out(
            f"ticket {row.ticket_id} created: {row.title!r} for account {row.account_id} ({row.alert_id})"
        )
    elif row.state == "failed":
        _out(f"failed: {row.title!r} for account {row.account_id} ({row.alert_id}): {row.reason}")


def _print_unknown(service: Any, partner_id: int | None) -> None:
    unknown = service.ledger.history(partner_id, states=["unknown"])
    if unknown:
        _out(f"{plural(len(unknown), 'alert')} may or may not have reached Gradient. Look on the partner's "
             "PSA board, then run one of:")  # fmt: skip
        for row in unknown[:20]:
            _out(
                f"  gradient-desktop alert confirm {row.alert_id} --mark-sent   # or --resend  ({row.title!r})"
            )


async def _trace(args: argparse.Namespace) -> int:
    from gradient_desktop.api import ApiError
    from gradient_desktop.cli import CliError, _context, _Locked
    from gradient_desktop.services.alerts import AlertService
    from gradient_desktop.services.partners import PartnerDirectory

    held = _Locked()
    ctx = _context()
    try:
        partners = [_partner(ctx, args.partner)] if args.partner else PartnerDirectory(ctx).list()
        service = AlertService(ctx)
        pending = 0
        for partner in partners:
            service.ledger.interrupted(partner.id)
            report = await service.trace(
                partner, timeout=args.wait, on_update=None if args.stuck else _print_traced
            )
            for row in report.pending:
                pending += 1
                _out(f"still pending: {row.title!r} for account {row.account_id} ({row.alert_id}), "
                     f"sent {row.sent_at:%Y-%m-%d %H:%M} UTC")  # fmt: skip
        unknown = service.ledger.history(
            partners[0].id if args.partner else None, states=["unknown"]
        )
        for row in unknown:
            _out(f"outcome unknown: {row.title!r} for account {row.account_id} ({row.alert_id}); "
                 f"confirm with: gradient-desktop alert confirm {row.alert_id} --mark-sent|--resend")  # fmt: skip
        if not pending and not unknown:
            _out("No alert is waiting for a ticket.")
        return EXIT_SOME if pending or unknown else EXIT_OK
    except ApiError as exc:
        raise CliError(str(exc)) from None
    finally:
        await ctx.aclose()
        ctx.close()
        held.release()


def _list(args: argparse.Namespace) -> int:
    from gradient_desktop.cli import _context
    from gradient_desktop.services.alert_input import priority_name
    from gradient_desktop.services.alerts import AlertService, status_text
    from gradient_desktop.services.partners import PartnerDirectory

    ctx = _context()
    try:
        service = AlertService(ctx)
        names = {p.id: p.name for p in PartnerDirectory(ctx).list() if p.id is not None}
        partner_id = _partner(ctx, args.partner).id if args.partner else None
        rows = service.ledger.history(partner_id, states=[args.status] if args.status else None)
        if args.search:
            needle = args.search.lower()
            rows = [r for r in rows if needle in r.title.lower() or needle in r.account_id.lower()]
        if args.csv:
            args.csv.write_text(service.history_csv(rows, names), encoding="utf-8")
            _out(f"Wrote {plural(len(rows), 'alert')} to {args.csv}.")
            return EXIT_OK
        if not rows:
            _out("No alerts recorded yet.")
        for r in rows:
            sent = f"{r.sent_at:%Y-%m-%d %H:%M}" if r.sent_at else "not sent"
            _out("\t".join([names.get(r.partner_id, "?"), r.account_id, r.title, priority_name(r.priority),
                            sent, status_text(r), r.ticket_id or "-", r.alert_id]))  # fmt: skip
        return EXIT_OK
    finally:
        ctx.close()


async def _confirm(args: argparse.Namespace) -> int:
    from gradient_desktop.api import ApiError
    from gradient_desktop.cli import CliError, _context, _Locked
    from gradient_desktop.services.alerts import AlertService
    from gradient_desktop.services.partners import PartnerDirectory
    from gradient_desktop.store.alerts import Resolution

    choice = (
        Resolution.RESEND
        if args.resend
        else Resolution.MARK_SENT
        if args.mark_sent
        else Resolution.CANCEL
    )
    held = _Locked()
    ctx = _context()
    try:
        service = AlertService(ctx)
        try:
            row = service.resolve(args.alert_id, choice, actor="cli")
        except (LookupError, ValueError) as exc:
            raise CliError(str(exc)) from None
        _out(f"{row.title!r}: {row.note.rsplit('; ', 1)[-1] if row.note else choice}.")
        if choice != Resolution.RESEND:
            return EXIT_OK
        # The user checked the PSA board and found no ticket: send it now, once.
        partner = PartnerDirectory(ctx).by_id(row.partner_id)
        report = await service.send(partner, [row], on_progress=_print_sent)
        if report.stopped:
            _out(f"Not sent: {report.stopped} It stays queued; run this again later.")
            return EXIT_SOME
        if report.accepted:
            traced = await service.trace(
                partner, report.accepted, timeout=30, on_update=_print_traced
            )
            return EXIT_OK if traced.success else EXIT_SOME
        return EXIT_SOME
    except ApiError as exc:
        raise CliError(str(exc)) from None
    finally:
        await ctx.aclose()
        ctx.close()
        held.release()


async def _source(args: argparse.Namespace) -> int:
    from gradient_desktop.api import ApiError
    from gradient_desktop.cli import CliError, _context, _Locked
    from gradient_desktop.services.alert_source import run_alert_source

    held = _Locked()
    ctx = _context()
    try:
        report = await run_alert_source(
            ctx, args.folder, trace_timeout=args.wait, archive=args.archive
        )
        for problem in report.problems:
            print(f"not sent: {problem}", file=sys.stderr)
        _out(report.text())
        for name, sent in report.sent.items():
            if sent.stopped:
                _out(f"{name}: stopped ({sent.stopped}); the rest stay queued for the next run.")
        return EXIT_OK if report.ok else EXIT_SOME
    except (ValueError, ApiError) as exc:
        raise CliError(str(exc)) from None
    finally:
        await ctx.aclose()
        ctx.close()
        held.release()
