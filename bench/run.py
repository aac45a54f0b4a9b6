"""Run the performance suite and print one table: ``python -m bench [--quick] [--only NAMES]``.

Each benchmark returns rows (see ``bench.common.Row``); the table shows what was measured, the
baseline measured beside it in the same run, their ratio and the goal. ``--quick`` is the
reduced-size suite CI runs (about a minute and a half on 2 cores); ``--json`` also writes the
rows, with the raw samples, to a file.

Exit status: 0 when every benchmark ran (goals missed or not: this is a benchmark, not a test),
1 when one of them failed to run, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from .common import Config, Goal, Row, log

Bench = Callable[[Config], list[Row]]


def _push(cfg: Config) -> list[Row]:
    from . import push

    return push.bench(cfg)


def _paging(cfg: Config) -> list[Row]:
    from . import paging

    return paging.bench(cfg)


def _ledger(cfg: Config) -> list[Row]:
    from . import ledger

    return ledger.bench(cfg)


def _cli(cfg: Config) -> list[Row]:
    from . import cli_start

    return cli_start.bench(cfg)


def _cold(cfg: Config) -> list[Row]:
    from . import cold_start

    return cold_start.bench(cfg)


def _match(cfg: Config) -> list[Row]:
    from . import match

    return match.bench(cfg)


def _grid(cfg: Config) -> list[Row]:
    from . import grid

    return grid.bench(cfg)


def _syncall(cfg: Config) -> list[Row]:
    from . import syncall

    return syncall.bench(cfg)


def _guipush(cfg: Config) -> list[Row]:
    from . import gui_push

    return gui_push.bench(cfg)


def _guiloop(cfg: Config) -> list[Row]:
    from . import gui_loop

    return gui_loop.bench(cfg)


def _adaptive(cfg: Config) -> list[Row]:
    from . import adaptive

    return adaptive.bench(cfg)


def _appsh(cfg: Config) -> list[Row]:
    from . import app_script

    return app_script.bench(cfg)


def _bigfile(cfg: Config) -> list[Row]:
    from . import bigfile

    return bigfile.bench(cfg)


def _reconnect(cfg: Config) -> list[Row]:
    from . import reconnect

    return reconnect.bench(cfg)


# Order of the table; cheap ones first so a broken environment shows up fast.
BENCHMARKS: dict[str, Bench] = {
    "cli": _cli,
    "coldstart": _cold,
    "appsh": _appsh,
    "ledger": _ledger,
    "paging": _paging,
    "match": _match,
    "grid": _grid,
    "push": _push,
    "syncall": _syncall,
    "guipush": _guipush,
    "guiloop": _guiloop,
    "adaptive": _adaptive,
    "bigfile": _bigfile,
    "reconnect": _reconnect,
}


def render_table(rows: list[Row]) -> str:
    """A Markdown table: readable in a terminal and pasteable into the README as is."""
    head = ["benchmark", "measured", "baseline", "ratio", "goal", "met"]
    body = []
    for r in rows:
        met = {True: "yes", False: "**NO**", None: "—"}[r.met]
        body.append([r.name, r.measured, r.baseline, r.ratio_text(), str(r.goal), met])
    widths = [
        max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)
    ]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(b) for b in body]
    return "\n".join(out)


def render_notes(rows: list[Row]) -> str:
    return "\n".join(f"- {r.name}: {r.note}" for r in rows if r.note)


def parse_only(value: str | None) -> list[str]:
    if not value:
        return list(BENCHMARKS)
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise ValueError(
            f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}"
        )
    return [n for n in BENCHMARKS if n in names]  # table order, whatever the order given


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Gradient Desktop performance suite."
    )
    parser.add_argument("--quick", action="store_true", help="reduced sizes (what CI runs)")
    parser.add_argument("--only", metavar="NAMES", help=f"comma-separated: {','.join(BENCHMARKS)}")
    parser.add_argument("--reps", type=int, help="repetitions per baseline/subject pair")
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write the rows as JSON")
    parser.add_argument(
        "--plot",
        metavar="PNG",
        type=Path,
        help="where to draw the push curve (default: docs/bench_push_curve.png for a full run, "
        "a temporary file for --quick, so CI never rewrites the committed one)",
    )
    args = parser.parse_args(argv)
    try:
        names = parse_only(args.only)
    except ValueError as exc:
        parser.error(str(exc))
    if args.reps is not None and args.reps < 1:
        parser.error("--reps must be at least 1")
    cfg = Config(
        quick=args.quick,
        reps=args.reps or 3,
        explicit_reps=args.reps is not None,
        plot=args.plot,
    )

    # The benchmarks start children (sandbox, CLI, GUI); none may touch the user's own data.
    os.environ.setdefault("GRADIENT_DESKTOP_HOME", str(Path(_scratch_home())))

    rows: list[Row] = []
    failed: list[str] = []
    started = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        log(f"{name}: start")
        try:
            rows.extend(BENCHMARKS[name](cfg))
        except Exception as exc:
            traceback.print_exc()
            failed.append(name)
            rows.append(
                Row(name, "error", "—", None, Goal("info"), note=f"{type(exc).__name__}: {exc}")
            )
        log(f"{name}: done in {time.perf_counter() - t0:.1f} s")
    total = time.perf_counter() - started

    command = (
        "python -m bench"
        + (" --quick" if args.quick else "")
        + (f" --only {','.join(names)}" if args.only else "")
    )
    print(f"$ {command}")
    print(
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs; {'quick' if cfg.quick else 'full'} suite, "
        f"median of {cfg.reps} interleaved runs; {total:.0f} s in all"
    )
    if cfg.quick:
        print("Quick sizes: a smoke run. Fixed costs weigh more at these sizes; goals are judged")
        print("on the full suite (python -m bench).")
    print()
    print(render_table(rows))
    notes = render_notes(rows)
    if notes:
        print()
        print(notes)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "command": command,
                    "quick": cfg.quick,
                    "reps": cfg.reps,
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    "seconds": total,
                    "rows": [r.as_json() for r in rows],
                },
                indent=2,
            )
        )
    return 1 if failed else 0


def _scratch_home() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="gradient-bench-home-")


if __name__ == "__main__":
    sys.exit(main())
