"""`python -m gradient_desktop.sandbox [--port N --latency-ms N --fail-rate P ...]`.

Runs the sandbox in the foreground; the application CLI (`gradient-desktop sandbox`) calls the
same `run_foreground` with the same options (`server.add_arguments`).
"""

from __future__ import annotations

import argparse

from .server import add_arguments, options_from_args, run_foreground


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gradient_desktop.sandbox",
        description="Run a local emulator of Gradient MSP's Vendor API.",
    )
    add_arguments(parser)
    return run_foreground(options_from_args(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
