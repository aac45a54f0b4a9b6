"""``gradient-desktop data ...``: export, import and seed the local ledger.

* ``data export FILE``: partners, profiles, mappings, the ledger and staged edits as one
  versioned JSON file (never a key).
* ``data import FILE``: into a fresh data folder; refuses a newer format. Keys are asked for
  again (``partner add`` with the same name, or the wizard).
* ``data import-totals FILE --partner NAME | --base-url URL``: record the totals Gradient holds
  now (a CSV/JSON of absolute counts) as acknowledged, so add/subtract can build on them.
  Nothing is sent.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gradient_desktop.cli import EXIT_OK, CliError, _context, _Locked
from gradient_desktop.services.wording import plural


def add_arguments(data: argparse.ArgumentParser) -> None:
    sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    exp = sub.add_parser("export", help="write everything but the keys to a JSON file")
    exp.add_argument("file", type=Path)
    imp = sub.add_parser("import", help="read an export into a fresh data folder")
    imp.add_argument("file", type=Path)
    tot = sub.add_parser(
        "import-totals", help="record the totals Gradient holds now (nothing is sent)"
    )
    tot.add_argument("file", type=Path, help="CSV accountId,serviceId,unitCount (or JSON)")
    target = tot.add_mutually_exclusive_group(required=True)
    target.add_argument("--partner")
    target.add_argument("--base-url", help="the address used with push --base-url (env keys)")


def run_data(args: argparse.Namespace) -> int:
    from gradient_desktop.store.transfer import TransferError

    held = _Locked()
    ctx = _context()
    try:
        if args.data_command == "export":
            return _export(ctx, args.file)
        if args.data_command == "import":
            return _import(ctx, args.file)
        return _import_totals(ctx, args)
    except TransferError as exc:
        raise CliError(str(exc)) from None
    finally:
        ctx.close()
        held.release()


def _staged_files(ctx: Any) -> list[Path]:
    return sorted(Path(ctx.db.path).parent.glob("staged-usage-*.json"))


def _export(ctx: Any, path: Path) -> int:
    from gradient_desktop.store.transfer import write_export

    staged = {}
    for f in _staged_files(ctx):
        try:
            staged[f.name] = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # an unreadable staging file is not worth failing the export for
    try:
        counts = write_export(ctx.db, path, staged)
    except OSError as exc:
        raise CliError(f"Cannot write {path}: {exc.strerror or exc}") from None
    print(
        f"Exported {plural(counts.get('partner', 0), 'partner')} and "
        f"{plural(counts.get('outbox_entry', 0), 'ledger row')} to {path}. No key is in it: keep them in your password manager."
    )
    return EXIT_OK


def _import(ctx: Any, path: Path) -> int:
    from gradient_desktop.store.transfer import import_data, read_export

    doc = read_export(path)
    counts = import_data(ctx.db, doc)
    folder = Path(ctx.db.path).parent
    for name, content in (doc.get("staged") or {}).items():
        if isinstance(name, str) and name.startswith("staged-usage-") and "/" not in name:
            (folder / name).write_text(json.dumps(content), encoding="utf-8")
    print(
        f"Imported {plural(counts.get('partner', 0), 'partner')} and "
        f"{plural(counts.get('outbox_entry', 0), 'ledger row')}. Enter each partner's key again (gradient-desktop partner add NAME, or "
        "the app's wizard); add and subtract continue from the imported totals."
    )
    return EXIT_OK


def _import_totals(ctx: Any, args: argparse.Namespace) -> int:
    from gradient_desktop.cli_push import load_rows, read_input, target_partner
    from gradient_desktop.services.partners import PartnerNotFound

    rows = load_rows(args.file, read_input(args.file))
    if any(r.op != "set" for r in rows):
        raise CliError("Current totals are absolute counts: remove the op column or use set.")
    try:
        partner, _creds = target_partner(ctx, args)
    except (PartnerNotFound, ValueError) as exc:
        raise CliError(str(exc)) from None
    from gradient_desktop.services.count_options import import_current_totals

    # The same service the app's Count settings call.
    print(import_current_totals(ctx, partner, rows))
    return EXIT_OK
