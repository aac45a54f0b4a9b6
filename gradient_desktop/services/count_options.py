"""How a partner's counts are written, as the command line and the app both change it:
"import current totals" and the legacy count routes switch. Qt-free.

* **Current totals.** Add and Subtract are sent as the absolute total they produce, computed
  from the ledger's last acknowledged total of the cell (README, "Exactly once"). A cell the app
  never pushed has no known total, so an add there is refused. Importing the totals Gradient
  holds now (a file of ``accountId,serviceId,unitCount``) records them as acknowledged sets:
  nothing is sent, and later adds start from them. ``gradient-desktop data import-totals`` and
  the app's *Count settings* both call :func:`import_current_totals`.
* **Legacy count routes.** Off unless a user turns it on (the built-in demo does): add/subtract
  on a cell with no known total then use Gradient's undocumented PATCH routes (vendor-api.md
  §2.10), whose retry after a lost answer may apply the change twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gradient_desktop.counts import CountRow
from gradient_desktop.services.csvio import CountFileError, parse_counts
from gradient_desktop.services.push import PushService
from gradient_desktop.services.wording import plural, verb
from gradient_desktop.store.models import Partner

if TYPE_CHECKING:
    from gradient_desktop.services.context import AppContext

log = logging.getLogger(__name__)


class TotalsFileError(ValueError):
    """The file cannot be used as current totals; the message says why and what to do."""


@dataclass(frozen=True)
class TotalsFile:
    """The totals read from a file, checked whole (nothing is recorded yet)."""

    rows: list[CountRow]
    #: Rows naming an account or service this partner does not have (recorded all the same:
    #: the ledger keys them by id, and they count once the account or service is added).
    unknown_cells: int = 0

    def describe(self, partner_name: str) -> str:
        text = f"{plural(len(self.rows), 'current total')} for {partner_name}"
        if self.unknown_cells:
            text += (
                f" ({plural(self.unknown_cells, 'row')} {verb(self.unknown_cells, 'names')} "
                "an account or service "
                "this partner does not have yet)"
            )
        return text


def read_totals(
    data: bytes, filename: str, known: tuple[set[str], set[str]] | None = None
) -> TotalsFile:
    """Parse and check a totals file (CSV or JSON, as for a push). Every row must be an
    absolute count; any problem refuses the whole file (nothing half-recorded)."""
    try:
        parsed = parse_counts(data, filename=filename)
    except CountFileError as exc:
        raise TotalsFileError(f"{filename}: {exc}") from None
    if not parsed.ok:
        raise TotalsFileError(
            f"{filename} has problems; nothing was recorded:\n{parsed.error_text()}"
        )
    if not parsed.rows:
        raise TotalsFileError(f"{filename} has a header but no rows; nothing to record.")
    if any(r.op != "set" for r in parsed.rows):
        raise TotalsFileError(
            "Current totals are absolute counts: remove the op column or use set on every row."
        )
    rows = parsed.rows
    unknown = 0
    if known is not None:
        accounts, services = known
        unknown = sum(
            1 for r in rows if r.account_id not in accounts or r.service_id not in services
        )
    return TotalsFile(rows, unknown)


def known_cells(ctx: AppContext, partner: Partner) -> tuple[set[str], set[str]]:
    """The partner's account ids and chosen service ids (to flag rows naming others)."""
    from sqlmodel import col, select

    from gradient_desktop.store.models import PartnerService, VendorAccount

    with ctx.db.session() as s:
        accounts = set(
            s.exec(
                select(VendorAccount.account_id).where(col(VendorAccount.partner_id) == partner.id)
            )
        )
        services = set(
            s.exec(
                select(PartnerService.service_id).where(
                    col(PartnerService.partner_id) == partner.id
                )
            )
        )
    return accounts, services


def import_current_totals(ctx: AppContext, partner: Partner, rows: list[CountRow]) -> str:
    """Record ``rows`` as the totals Gradient holds now for ``partner``; nothing is sent.
    Returns the sentence to show."""
    ctx.outbox.record_known_totals(partner.id or 0, rows)
    ctx.state.touch(partner.id)
    # The audit trail: from here on add/subtract on these cells start from these totals.
    log.info("recorded %s for %s; nothing sent", plural(len(rows), "current total"), partner.name)
    return (
        f"Recorded {plural(len(rows), 'current total')} for {partner.name}; nothing was sent. "
        "Add and Subtract on these cells now start from them."
    )


def legacy_routes(ctx: AppContext, partner: Partner) -> bool:
    """Whether the partner's add/subtract may use the legacy routes (see module docstring)."""
    return PushService(ctx).legacy_routes(partner)


def set_legacy_routes(ctx: AppContext, partner: Partner, on: bool) -> str:
    """Turn the legacy count routes on or off for ``partner``; returns the sentence to show."""
    PushService(ctx).set_legacy_routes(partner, on)
    ctx.state.touch(partner.id)
    log.info("legacy count routes %s for %s", "on" if on else "off", partner.name)
    if on:
        return (
            f"Legacy count routes are on for {partner.name}: Add and Subtract on a cell with no "
            "known total are sent as changes."
        )
    return (
        f"Legacy count routes are off for {partner.name}: Add and Subtract need a known total "
        "(set an absolute count first, or import the current totals)."
    )


__all__ = [
    "TotalsFile",
    "TotalsFileError",
    "import_current_totals",
    "known_cells",
    "legacy_routes",
    "read_totals",
    "set_legacy_routes",
]
