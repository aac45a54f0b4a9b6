"""The log file is an audit trail: activation, pushes (to whom, how many, the outcome),
disconnect and reconnect are logged at INFO; a user's own mistake (a refused key, an empty
name) is one WARNING line without a traceback, while a real bug keeps its traceback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.api import AuthenticationError
from gradient_desktop.logsetup import setup_logging
from gradient_desktop.services.context import DEMO_PROFILE, SANDBOX_URL
from gradient_desktop.services.integration import IntegrationService
from gradient_desktop.services.setup import SetupFlow
from tests.setup_helpers import open_ctx, run_demo_setup


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = setup_logging("INFO", tmp_path / "logs")
    yield path
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "baseFilename", None) == str(path):
            root.removeHandler(handler)
            handler.close()


def _lines(path: Path) -> list[str]:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return path.read_text(encoding="utf-8").splitlines()


def test_activation_push_disconnect_and_reconnect_are_logged(log_file: Path) -> None:
    ctx = open_ctx()

    async def go() -> str:
        flow = await run_demo_setup(ctx)  # activates, then the first usage sync pushes
        partner = flow.partner
        assert partner is not None
        await IntegrationService(ctx).disconnect(partner)
        again = SetupFlow.reconnect(ctx, partner.id or 0)
        again.save_vendor(DEMO_PROFILE, SANDBOX_URL)
        vendor = await again.load_vendor()
        again.choose_services([s for s in vendor.skus if s.id in again.data["service_ids"]])
        again.set_partner(partner.name, again.demo_new_key())
        await again.authenticate()
        await ctx.aclose()
        return partner.name

    try:
        name = asyncio.run(go())
    finally:
        ctx.close()
    lines = _lines(log_file)

    def one(*words: str) -> str:
        hits = [line for line in lines if all(w in line for w in words)]
        assert hits, f"no log line with {words}:\n" + "\n".join(lines[-40:])
        return hits[0]

    assert " INFO " in one("activated", name, "status active")
    sending = one("push to", name, "sending")
    assert " INFO " in sending and "queued count" in sending
    finished = one("push to", name, "finished")
    assert (
        " INFO " in finished and "counts landed" in finished and "billing rebuilt once" in finished
    )
    assert " INFO " in one("disconnected", name, "inactive", "key kept")
    assert " INFO " in one("reconnect of", name, "started")
    assert " INFO " in one("reconnected", name, "status pending")
    assert not any("sandbox-partner" in line for line in lines)  # keys never reach the log


@pytest.mark.gui
def test_user_errors_are_warnings_without_traceback_and_bugs_keep_theirs(
    qloop: Any, log_file: Path
) -> None:
    from gradient_desktop.services.partners import PartnerExists
    from gradient_desktop.ui.tasks import TaskRunner
    from tests.gui_helpers import settle

    async def refused() -> None:
        raise AuthenticationError("The partner key was refused by Gradient.", status=401)

    async def empty_name() -> None:
        raise PartnerExists("Enter a name for the partner.")

    async def bug() -> None:
        raise KeyError("a bug")

    runner = TaskRunner()
    for coro in (refused(), empty_name(), bug()):
        runner.start(coro, on_error=lambda _e: None)
    settle(qloop, 0.1)
    text = "\n".join(_lines(log_file))
    refused_line = next(line for line in text.splitlines() if "AuthenticationError" in line)
    assert " WARNING " in refused_line and "background task failed" in refused_line
    empty_line = next(line for line in text.splitlines() if "Enter a name" in line)
    assert " WARNING " in empty_line
    errors = [line for line in text.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "background task failed" in errors[0]
    assert text.count("Traceback") == 1 and "KeyError: 'a bug'" in text  # the bug's, only
