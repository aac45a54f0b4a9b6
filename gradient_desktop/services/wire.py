"""The wire policy of a count, in one place: what request an outbox row becomes.

Gradient documents one count write, the absolute set (``POST /service/{id}/count``), and it is
naturally idempotent; so every row whose resulting total is known goes out as that set, first
attempt and every re-send alike. Only a row with no known total (an add/subtract on a cell the
ledger never saw set) may go out as a delta, and only through the undocumented PATCH routes of
vendor-api.md §2.10 when the partner turned on "legacy count routes"; without them such a row
cannot be sent at all (``None``).

The idempotency key goes along as a courtesy and is never relied on: an absolute set keeps its
row's key; a set standing for an add/subtract gets a key of its own (``<key>-set``), so a
server that does honour keys never sees one key for two different requests.
"""

from __future__ import annotations

from gradient_desktop.counts import CountRow, Op
from gradient_desktop.store import OutboxItem

NO_KNOWN_TOTAL = (
    "The current total of this account and service is not known, so the change cannot be "
    "sent as an absolute count. Set an absolute count first, or import the current totals."
)


def wire_row(item: OutboxItem, *, legacy_routes: bool = False) -> CountRow | None:
    """The request for ``item``, or None when it cannot be sent (see the module docstring)."""
    absolute = item.absolute
    if absolute is not None:
        key = item.idempotency_key if item.op == Op.SET else f"{item.idempotency_key}-set"
        return CountRow(item.service_id, item.account_id, absolute, Op.SET, key)
    if legacy_routes:
        # A delta: its key is the only thing a retry has; kept for the seed demo's legacy flow.
        return CountRow(
            item.service_id, item.account_id, item.unit_count, Op(item.op), item.idempotency_key
        )
    return None
