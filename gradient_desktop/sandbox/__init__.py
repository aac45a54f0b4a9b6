"""Gradient sandbox: a real HTTP server emulating Gradient MSP's Vendor API, for demos and tests.

`server.SandboxServer` runs it in a background thread; `server.run_foreground` for the CLI;
`state.SandboxState` is the in-memory model; `seed` builds the deterministic demo data.
The names below are imported lazily so that `import gradient_desktop.sandbox.seed` does not
pay for uvicorn.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SandboxOptions", "SandboxServer", "SandboxState", "create_app", "run_foreground"]


def __getattr__(name: str) -> Any:
    if name in ("SandboxServer", "run_foreground"):
        from . import server

        return getattr(server, name)
    if name == "SandboxOptions":
        from .options import SandboxOptions

        return SandboxOptions
    if name == "SandboxState":
        from .state import SandboxState

        return SandboxState
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
