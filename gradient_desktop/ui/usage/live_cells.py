"""The Usage page's grid and list as views of the ledger, kept current without blocking the loop.

Issue 16: during a push the page re-read the whole ledger on the event loop every refresh and
rebuilt both models (a reset: every row recomputed, the selection dropped), blocking the window
0.1-0.4 s each time. Here a read of the ledger runs on a worker thread (the store is
thread-safe: a connection per session), requests arriving meanwhile coalesce into one more
read, and the models update only the cells that changed (``GridModel.update``); a model is
reset only when the accounts or services themselves changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from gradient_desktop.services.usage import Snapshot, StagedEdit, UsageService
from gradient_desktop.ui.usage.models import FlatModel, GridModel, structure


class LiveCells:
    """Shows the ledger of ``usage()`` in ``grid`` and ``flat``; ``on_new_shape`` runs when the
    accounts or services changed (the page sizes its columns then)."""

    def __init__(
        self,
        usage: Callable[[], UsageService | None],
        grid: GridModel,
        flat: FlatModel,
        on_new_shape: Callable[[], None],
    ) -> None:
        self._usage, self.grid, self.flat = usage, grid, flat
        self._on_new_shape = on_new_shape
        self._shape: tuple[Any, ...] | None = None
        # Reads are numbered: one that lands after a newer one was shown is dropped.
        self._reads = self._shown = 0
        self._task: asyncio.Task[None] | None = None
        self._wanted = False

    def clear(self) -> None:
        self.grid.clear()
        self.flat.clear()
        self._shape = None

    def reload(self) -> None:
        """Read the ledger now, on this thread (a user's action waits for its result)."""
        usage = self._usage()
        if usage is not None:
            self._reads += 1
            self._show(usage.snapshot(), usage.staged, self._reads)

    def refresh(self) -> None:
        """Read the ledger on a worker thread, then update the cells that changed. Without a
        running event loop (a caller outside the app's loop) it reads at once."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.reload()
            return
        self._wanted = True
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._read())

    def staged(self, snap: Snapshot, staged: dict[tuple[str, str], StagedEdit]) -> None:
        """Only the staged edits changed: the cells they touch follow, no read needed."""
        self.grid.update(snap, staged)
        self.flat.update(snap, staged)

    async def _read(self) -> None:
        while self._wanted:
            self._wanted = False
            usage = self._usage()
            if usage is None:
                return
            self._reads += 1
            read = self._reads
            snap = await asyncio.to_thread(usage.snapshot)
            if usage is not self._usage():
                return  # another partner was selected meanwhile
            self._show(snap, usage.staged, read)

    def _show(self, snap: Snapshot, staged: dict[tuple[str, str], StagedEdit], read: int) -> None:
        if read < self._shown:
            return
        self._shown = read
        self.grid.update(snap, staged)
        self.flat.update(snap, staged)
        shape = structure(snap)
        if shape != self._shape:
            self._shape = shape
            self._on_new_shape()
