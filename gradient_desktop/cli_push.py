"""``gradient-desktop push FILE``: queue a file's counts in the outbox, then send them.

Both targets - ``--partner NAME`` (keys in the keyring) and ``--base-url URL`` (keys from
``GRADIENT_VENDOR_KEY``/``GRADIENT_PARTNER_KEY``, for schedulers) - go through the same outbox
and ledger in the data folder (services/push.py). A file is recorded by the SHA-256 of its
bytes: running the same file again (a killed run restarted) finishes its rows instead of
queuing them twice; ``--again`` queues it a second time on purpose.

The file is validated whole before anything is queued (a streaming pass in constant memory),
then queued in parts while the first parts are sent (services/push_file.py): a 200,000-row
file sends its first request within about a second and never holds all its rows in memory.

Ctrl-C or SIGTERM stop scheduling new requests; requests in flight finish; the closing lines
say how many counts landed and how many stay queued for the next push.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import stat
import sys
from pathlib import Path
from typing import Any

from gradient_desktop.cli import EXIT_OK, EXIT_ROWS_FAILED, CliError, _context, _err, _Locked
from gradient_desktop.services.wording import plural, verb

#: Exit code of a push stopped by Ctrl-C / SIGTERM (what was not sent stays queued).
EXIT_INTERRUPTED = 130


def add_arguments(push: argparse.ArgumentParser) -> None:
    push.add_argument(
        "file",
        type=Path,
        help="CSV with header accountId,serviceId,unitCount[,op] (op: set, add or subtract; "
        "default set), or JSON",
    )
    target = push.add_mutually_exclusive_group(required=True)
    target.add_argument("--partner", help="a partner added with `partner add`")
    target.add_argument(
        "--base-url",
        help="push straight to this Gradient address with GRADIENT_VENDOR_KEY and "
        "GRADIENT_PARTNER_KEY from the environment (scheduled runs, no keyring)",
    )
    push.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="requests in flight (default: chosen from the latency, up to 64)",
    )
    push.add_argument("--dry-run", action="store_true", help="validate the file, send nothing")
    push.add_argument(
        "--no-build",
        action="store_true",
        help="send every row with no_build=true (billing views are not rebuilt)",
    )
    push.add_argument(
        "--again",
        action="store_true",
        help="queue this file even though the same file was pushed before (adds count twice)",
    )


def read_input(path: Path) -> bytes:
    """The file's bytes, refusing anything over the size limit *before* reading it whole."""
    from gradient_desktop.services.csvio import MAX_FILE_BYTES

    limit_mb = MAX_FILE_BYTES // (1024 * 1024)
    try:
        with path.open("rb") as fh:
            info = os.fstat(fh.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size > MAX_FILE_BYTES:
                raise CliError(
                    f"{path} is {info.st_size / 1e6:.0f} MB; the limit is {limit_mb} MB. "
                    "Split it; nothing was sent."
                )
            data = fh.read(MAX_FILE_BYTES + 1)  # a device or pipe has no size: read up to it
    except IsADirectoryError:
        raise CliError(f"{path} is a folder, not a file of counts.") from None
    except OSError as exc:
        raise CliError(f"Cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise CliError(f"{path} is larger than {limit_mb} MB. Split it; nothing was sent.")
    return data


def load_rows(path: Path, data: bytes) -> list[Any]:
    from gradient_desktop.services.csvio import CountFileError, parse_counts

    try:
        result = parse_counts(data, filename=path.name)
    except CountFileError as exc:
        raise CliError(f"{path}: {exc}") from None
    if not result.ok:
        raise CliError(f"{path} has problems; nothing was sent:\n{result.error_text()}")
    if not result.rows:
        raise CliError(f"{path} has a header but no rows; nothing to send.")
    return result.rows


def check_file(path: Path) -> tuple[Any, Any]:
    """The file and its whole-file check (``CliError`` naming every problem when it fails)."""
    from gradient_desktop.services.count_file import CountFile
    from gradient_desktop.services.csvio import CountFileError

    file = CountFile(path)
    try:
        check = file.check()
    except CountFileError as exc:
        message = str(exc)
        raise CliError(message if str(path) in message else f"{path}: {message}") from None
    if not check.ok:
        raise CliError(f"{path} has problems; nothing was sent:\n{check.error_text()}")
    if not check.rows:
        raise CliError(f"{path} has a header but no rows; nothing to send.")
    return file, check


async def run_push(args: argparse.Namespace) -> int:
    from gradient_desktop.cli import _Progress

    if args.concurrency is not None and not 1 <= args.concurrency <= 100:
        raise CliError("--concurrency must be between 1 and 100.")
    file, check = check_file(args.file)
    if args.dry_run:
        print(f"{args.file}: {plural(check.rows, 'valid row')}; dry run, nothing sent.")
        return EXIT_OK
    held = _Locked()
    ctx = _context()
    try:
        return await _push(args, ctx, file, check, _Progress())
    finally:
        await ctx.aclose()
        ctx.close()
        held.release()


async def _push(args: argparse.Namespace, ctx: Any, file: Any, check: Any, progress: Any) -> int:
    from gradient_desktop.api import ApiError, InsecureUrlError, VendorApiClient
    from gradient_desktop.secrets import KeyringUnavailable
    from gradient_desktop.services.context import MissingKeyError
    from gradient_desktop.services.csvio import CountFileError
    from gradient_desktop.services.partners import PartnerNotFound
    from gradient_desktop.services.push import PushService
    from gradient_desktop.services.push_file import push_file
    from gradient_desktop.store import StoreError, UnknownTotalError

    client = None
    try:
        partner, creds = target_partner(ctx, args)
        if creds is not None:
            client = VendorApiClient(args.base_url, creds, ctx.client_options(partner.base_url))
        service = PushService(ctx)
        cancel = asyncio.Event()
        stop = _StopOnSignal(cancel)
        try:
            done = await push_file(
                ctx,
                partner,
                file,
                check,
                actor="cli",
                again=args.again,
                client=client,
                concurrency=args.concurrency,
                on_progress=progress,
                cancel=cancel,
                rebuild=not args.no_build,
            )
        finally:
            stop.restore()
            progress.close()
        if done.repeat:
            print(
                f"{args.file} was pushed before; finished what was left of it instead of "
                "queuing it again (use --again to push it a second time).",
                file=sys.stderr,
            )
        elif done.continued:
            print(
                f"{args.file} was partly queued by an earlier run; queued the other "
                f"{plural(done.queued, 'row')} instead of queuing it again.",
                file=sys.stderr,
            )
        for service_id, account_id, below in done.floored[:20]:
            print(
                f"warning: account {account_id} × service {service_id} would drop "
                f"{below:g} below 0; it is set to 0, as Gradient does.",
                file=sys.stderr,
            )
        summary = done.summary
        if summary.resumed:
            print(
                f"Also finished {plural(summary.resumed, 'count')} left over from an earlier push.",
                file=sys.stderr,
            )
        return _finish(summary, service.pending(partner), stop.signalled, args.no_build)
    except (PartnerNotFound, MissingKeyError, KeyringUnavailable, UnknownTotalError) as exc:
        raise CliError(str(exc)) from None
    except (InsecureUrlError, ValueError) as exc:
        raise CliError(str(exc)) from None
    except CountFileError as exc:  # the file changed while it was being queued
        raise CliError(str(exc)) from None
    except StoreError as exc:
        raise CliError(f"{exc} Nothing was sent.") from None
    except ApiError as exc:
        raise CliError(str(exc)) from None
    finally:
        if client is not None:
            await client.aclose()


def target_partner(ctx: Any, args: argparse.Namespace) -> tuple[Any, Any]:
    """The partner of ``--partner NAME`` or of ``--base-url URL`` (then with the environment's
    keys, returned too; None for a keyring partner)."""
    from gradient_desktop.services.context import env_credentials
    from gradient_desktop.services.partners import PartnerDirectory
    from gradient_desktop.services.push_target import scheduled_partner

    if not args.base_url:
        return PartnerDirectory(ctx).get(args.partner), None
    creds = env_credentials()
    if creds is None:
        raise CliError("With --base-url, set GRADIENT_VENDOR_KEY and GRADIENT_PARTNER_KEY.")
    return scheduled_partner(ctx, args.base_url, creds), creds


class _StopOnSignal:
    """First Ctrl-C/SIGTERM: stop scheduling (in-flight requests finish, the rest stays queued)."""

    def __init__(self, cancel: asyncio.Event) -> None:
        self.cancel = cancel
        self.signalled: str | None = None
        self.loop = asyncio.get_running_loop()
        self.installed: list[int] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.loop.add_signal_handler(sig, self._on, sig)
                self.installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):  # Windows, non-main thread
                pass

    def _on(self, sig: int) -> None:
        if self.signalled is None:
            self.signalled = signal.Signals(sig).name
            _err(
                f"{self.signalled}: stopping; requests in flight finish, every count not yet "
                "acknowledged stays queued for the next push."
            )
        self.cancel.set()

    def restore(self) -> None:
        for sig in self.installed:
            self.loop.remove_signal_handler(sig)


def _finish(summary: Any, queued: int, signalled: str | None, no_build: bool) -> int:
    from gradient_desktop.api import AuthenticationError
    from gradient_desktop.cli import _report

    report = summary.report
    code = _report(report) if report.total else EXIT_OK
    rebuild = "billing rebuilt once" if report.rebuild_triggered else "billing not rebuilt"
    print(
        f"{report.ok}/{report.total} landed, {report.unmapped} unmapped, {report.failed} failed, "
        f"{report.unknown} unknown, {report.cancelled} not sent; {rebuild}; "
        f"{plural(queued, 'count')} queued for the next push; {report.elapsed:.1f} s",
        file=sys.stderr,
    )
    if summary.not_sendable:
        print(
            f"{plural(summary.not_sendable, 'add/subtract row')} "
            f"{verb(summary.not_sendable, 'was')} not sent: the current total of "
            "their account and service is not known. Set an absolute count first, or import "
            "the current totals.",
            file=sys.stderr,
        )
        code = EXIT_ROWS_FAILED
    if report.aborted_by is not None:
        print(f"Stopped early: {report.aborted_by}", file=sys.stderr)
        if isinstance(report.aborted_by, AuthenticationError):
            return 2
    if signalled is not None:
        return EXIT_INTERRUPTED
    if report.total and not report.rebuild_triggered and not no_build and code == EXIT_OK:
        # Every count is on Gradient but its billing views were not rebuilt: not a success.
        print("Billing was not rebuilt; run the push again to rebuild it.", file=sys.stderr)
        return EXIT_ROWS_FAILED
    return code if not queued else max(code, EXIT_ROWS_FAILED)
