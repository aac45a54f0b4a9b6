"""Whether scheduled syncs will reach the keys they need (issue #13: "where no keyring is usable
in that context, ``schedule set`` says so and what to do").

"That context" is the job's, not the app's: cron starts a job with a bare environment and no
desktop session, where the Secret Service keyring does not answer although it does in the
terminal that ran ``schedule set``. So for cron this installation's own ``selfcheck`` is run in
the environment cron will give the job, and its answer is what counts.
"""

from __future__ import annotations

import getpass
import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from gradient_desktop.secrets import SecretStore, SecretStoreError
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.schedule import Cron, command_line, job_environment
from gradient_desktop.services.sources import SourceStore
from gradient_desktop.store.models import Partner

#: ``selfcheck``'s exit code for "the installation is whole but no keyring is usable" (cli.py).
_NO_KEYRING = 3


def keys_needed(ctx: AppContext) -> list[str]:
    """Who needs a key from the keyring in a sync: partners off the demo, sources with a
    password or token. Read on the caller's thread (the store is not shared across threads)."""
    with ctx.db.session() as s:
        names = [p.name for p in s.exec(select(Partner)) if not ctx.is_demo_url(p.base_url)]
    return names + [f"source {c.name!r}" for c in SourceStore(ctx).list() if c.has_secret]


def cron_env() -> dict[str, str]:
    """What cron gives a job (cron(8)), plus what the job line itself sets."""
    env = {
        "HOME": str(Path.home()),
        "LOGNAME": getpass.getuser(),
        "PATH": "/usr/bin:/bin",
        "SHELL": "/bin/sh",
    }
    return env | job_environment()


def keyring_in_job(timeout: float = 60.0) -> bool | None:
    """Does the keyring answer where cron runs the job? None when that could not be told."""
    argv = [*command_line()[:-3], "selfcheck"]  # this installation, as the job runs it
    try:
        done = subprocess.run(
            argv, env=cron_env(), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return {0: True, _NO_KEYRING: False}.get(done.returncode)


def advice(needs: list[str], secrets: SecretStore, backend: object | None = None) -> str | None:
    """What to do when scheduled runs may not reach the keys of ``needs``; None when they can.
    May start a process (the cron probe): call it off the UI thread."""
    if not needs:
        return None  # demo partners and sources without secrets need no keyring
    who = ", ".join(needs[:5]) + (f" and {len(needs) - 5} more" if len(needs) > 5 else "")
    try:
        secrets.check_backend()
    except SecretStoreError as exc:
        # str(exc) already says how to get a working keyring on this OS.
        return f"Warning: scheduled runs will not be able to read the keys of {who}. {exc}"
    if isinstance(backend, Cron) and sys.platform.startswith("linux"):
        if keyring_in_job() is False:
            return (
                f"Warning: cron starts scheduled runs outside your desktop session, where the "
                f"system keyring does not answer, so they cannot read the keys of {who}. "
                "Set the schedule again from your logged-in desktop (its keyring then answers "
                "while you are logged in), or leave the app open: it runs the scheduled syncs "
                "itself."
            )
    if sys.platform.startswith("linux"):
        return (
            f"Keys are read from {secrets.backend_name()}, which opens with your login: "
            "scheduled runs work while you are logged in. A run while you are logged out fails, "
            "and the app shows why the next time you open it."
        )
    return None


def keyring_advice(ctx: AppContext, backend: object | None = None) -> str | None:
    """``advice`` for this data folder (blocking: for the command line)."""
    return advice(keys_needed(ctx), ctx.secrets, backend)
