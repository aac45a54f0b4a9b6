"""One run of the big-file benchmark: ``python -m bench.bigfile_child MODE FILE URL VKEY PKEY``.

``MODE`` ``app``: what a user runs, ``gradient-desktop push FILE --partner Bench`` (the CLI's
``main``), in a fresh home whose partner ``Bench`` points at the benchmark sandbox (its keys in
an in-memory keyring: this process only). ``MODE`` ``bare``: the baseline, Python's ``csv``
module reading the same file into a list of tuples, nothing else. The parent measures the peak
resident memory (the child's own, printed as its last line: ``bench/memory.py``) and, for
``app``, when the sandbox saw the first request.
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile


def run_app(path: str, url: str, vkey: str, pkey: str) -> int:
    import keyring

    from tests.keyring_backend import MemoryKeyring

    keyring.set_keyring(MemoryKeyring())
    os.environ["GRADIENT_DESKTOP_HOME"] = tempfile.mkdtemp(prefix="gradient-bench-bigfile-")
    from gradient_desktop.cli import main as cli_main
    from gradient_desktop.services.context import AppContext
    from gradient_desktop.services.partners import PartnerDirectory

    ctx = AppContext.open()
    try:
        directory = PartnerDirectory(ctx)
        directory.add("Bench", directory.save_profile("bench", url, vkey), pkey)
    finally:
        ctx.close()
    print("ready", flush=True)
    return cli_main(["push", path, "--partner", "Bench"])


def run_bare(path: str) -> int:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [tuple(r) for r in csv.reader(fh)]
    print(f"rows {len(rows)}", flush=True)
    return 0


def main(argv: list[str]) -> int:
    from bench.memory import own_peak_mb

    mode, path = argv[0], argv[1]
    try:
        return run_bare(path) if mode == "bare" else run_app(path, *argv[2:5])
    finally:
        print(f"peak_mb {own_peak_mb():.1f}", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
