"""Helpers for the GUI tests of the setup wizard, the Partners view and the check page: a fresh
AppContext per "app start", waiting on the qasync loop, and optional screenshots.

Set ``GRADIENT_DESKTOP_SCREENSHOTS=docs/screenshots`` to write the screenshots the docs show.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from gradient_desktop.services.context import AppContext
from tests.setup_helpers import open_ctx as open_ctx  # one definition, shared

W = TypeVar("W")


def run(loop: Any, coro: Any) -> Any:
    """``loop.run_until_complete`` without its final ``processEvents`` pass: qasync runs that
    pass after it has cleared the running loop, so a request step landing there fails with
    "no running event loop". ``run_forever`` + ``stop`` has no such pass."""
    future = asyncio.ensure_future(coro, loop=loop)
    future.add_done_callback(lambda _f: loop.stop())
    loop.run_forever()
    return future.result()


def wait_until(loop: Any, predicate: Callable[[], Any], timeout: float = 30.0) -> None:
    """Run the qasync loop (and with it Qt) until ``predicate()`` is true."""

    async def waiter() -> None:
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")
            await asyncio.sleep(0.02)
        # Let stragglers of the work just finished (anyio's happy-eyeballs helpers, cancelled
        # requests) end inside the running loop: pytest-qt processes Qt events between a test
        # and its teardown, and an asyncio step taken there would find no running loop.
        await asyncio.sleep(0.05)

    run(loop, waiter())


def in_loop(loop: Any, action: Callable[[], Any]) -> Any:
    """Call ``action`` while the loop runs, as a click in the running app would be."""

    async def call() -> Any:
        return action()

    return run(loop, call())


def settle(loop: Any, seconds: float = 0.05) -> None:
    run(loop, asyncio.sleep(seconds))


def shown(qtbot: Any, loop: Any, widget: W, width: int, height: int) -> W:
    """``widget`` registered with qtbot (closed and deleted after the test), sized, shown, and
    its first events handled."""
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    settle(loop)
    return widget


def screenshot(widget: Any, name: str) -> Path | None:
    folder = os.environ.get("GRADIENT_DESKTOP_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    target = path / name
    widget.grab().save(str(target))
    return target


def close_ctx(loop: Any, ctx: AppContext) -> None:
    """What the app does on quit: cancel pending work, close HTTP pools, stop the demo."""
    settle(loop)
    # Let work finish on its own first: a task waiting on a worker thread (the mapping grid's
    # suggestions) that is cancelled leaves the thread to deliver its result later through a
    # queued Qt signal, after this loop is gone.
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if pending:
        run(loop, asyncio.wait(pending, timeout=10))
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        run(loop, asyncio.gather(*pending, return_exceptions=True))
    run(loop, ctx.aclose())
    ctx.close()


# -- the Sync page's source editor --------------------------------------------------------------

#: The query over ``sync_helpers.partner_usage_db``'s table, and the columns it names.
PARTNER_USAGE_QUERY = "SELECT partner, account, sku, n FROM usage"


def sync_page(qtbot: Any, loop: Any, ctx: AppContext, height: int = 800) -> Any:
    """A Sync page on its own, shown at 1100 × ``height`` and settled."""
    from gradient_desktop.ui.sync.page import SyncPage

    page = SyncPage(ctx)
    qtbot.addWidget(page)
    page.resize(1100, height)
    page.show()
    settle(loop)
    return page


def type_sql_source(editor: Any, name: str, url: str) -> None:
    """What a user types first for a SQL source: its name, the kind, the database address."""
    editor.name.setText(name)
    editor.kind.setCurrentIndex(editor.kind.findData("sql"))
    editor.url.setText(url)


def type_partner_usage_columns(editor: Any) -> None:
    """The query over a ``partner_usage_db`` table and which column holds what."""
    editor.query.setPlainText(PARTNER_USAGE_QUERY)
    for field, value in (
        (editor.account, "account"),
        (editor.service, "sku"),
        (editor.count, "n"),
        (editor.partner, "partner"),
    ):
        field.setText(value)
