"""Push a count file in little memory: checked whole first, then queued in parts while sent.

The promise of ``push FILE`` is kept as it was: the file is validated whole before anything
is queued or sent (``CountFile.check``: a streaming pass in constant memory; one bad row and
nothing happens), it is queued before it is sent, and a file is queued once (by its SHA-256).
What changed is that the queueing no longer has to finish before the sending starts:

* a file of absolute counts (``set`` rows only, the usual case) is queued in parts of
  ``PART`` rows, each part one outbox transaction, by a producer thread, while
  ``PushService.run`` sends the parts already queued (services/push_windows.py). The file's
  SHA-256 is recorded with the first part; a run killed between parts is resumed by the next
  run of the same file at the first row not yet queued (``Outbox.source_progress``).
  A stopped push (Ctrl-C) still lets the producer queue the rest of the file, so every row of
  the file is queued for the next push, as when the file was queued whole;
* a file with add/subtract rows is queued whole in one transaction, as before: each change is
  resolved against the totals before it, and refused whole when one cell's total is unknown.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.count_file import CountFile, FileCheck
from gradient_desktop.services.push import PushService, PushSummary
from gradient_desktop.services.push_windows import Feed
from gradient_desktop.store.models import Partner
from gradient_desktop.store.outbox import new_batch_id

#: Rows per outbox transaction of a streamed file: the first part is queued (and its first
#: request sent) within a few hundredths of a second; 40 commits for 200,000 rows.
PART = 5000
#: The first part is small: the push starts sending as soon as it is queued.
FIRST_PART = 500


@dataclass
class FilePush:
    """What ``push_file`` did: the push, how many of the file's rows this run queued, and
    whether the file had been queued before (``repeat``: whole; ``continued``: in part)."""

    summary: PushSummary
    queued: int = 0
    repeat: bool = False
    continued: bool = False
    floored: list[tuple[str, str, float]] = field(default_factory=list)


async def push_file(
    ctx: AppContext,
    partner: Partner,
    file: CountFile,
    check: FileCheck,
    *,
    actor: str,
    again: bool = False,
    **run_args: Any,
) -> FilePush:
    """Queue ``file`` (already ``check``-ed clean) for ``partner`` and send it; ``again``
    queues a file pushed before a second time. ``run_args`` go to ``PushService.run``."""
    service = PushService(ctx)
    partner_id = partner.id or 0
    source = None if again else f"sha256:{check.digest}"
    label = file.path.name
    if check.has_deltas:
        rows = [row for part in file.parts(max(1, check.rows)) for row in part]
        queued = service.enqueue(partner, rows, actor, source=source, source_label=label)
        summary = await service.run(partner, batch_id=queued.batch_id, **run_args)
        return FilePush(summary, queued.rows, queued.repeat, floored=queued.floored)
    earlier = ctx.outbox.source_progress(partner_id, source) if source is not None else None
    if earlier is not None and earlier[1] >= check.rows:
        summary = await service.run(partner, batch_id=earlier[0], **run_args)
        return FilePush(summary, repeat=True)
    batch, skip = earlier if earlier is not None else (new_batch_id(), 0)
    feed = Feed(check.rows - skip)
    stop = threading.Event()
    queued_rows = [0]

    def produce() -> None:
        try:
            start = skip
            for part in file.parts(PART, skip, first=FIRST_PART):
                if stop.is_set():
                    return
                ctx.outbox.enqueue(
                    partner_id,
                    part,
                    actor,
                    source=source,
                    source_label=label,
                    batch_id=batch,
                    start=start,
                )
                start += len(part)
                queued_rows[0] += len(part)
                feed.queued(len(part))
        finally:
            feed.finish()

    producer = asyncio.ensure_future(asyncio.to_thread(produce))
    try:
        summary = await service.run(partner, batch_id=batch, feed=feed, **run_args)
    except BaseException:
        stop.set()  # a failed push: queue no more (what is queued stays, and is resumed)
        await asyncio.wait([producer])
        raise
    # A push stopped early (Ctrl-C, a refused key) lets the producer finish: every row of the
    # file is then queued for the next push, as when the file was queued whole.
    await producer  # raises what stopped the producer (the file changed, the disk is full)
    ctx.state.touch(partner_id)
    return FilePush(summary, queued_rows[0], continued=earlier is not None)
