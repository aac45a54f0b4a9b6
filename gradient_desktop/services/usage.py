"""Manual usage editing for one partner, Qt-free: staged edits (set / add / subtract per account
× service), their validation and persistence, import/export of count files, "same count for all
mapped clients", drift against a fresh source, and the hand-over of staged edits to the outbox.

Nothing is lost on a crash:

* Staged edits live in a small JSON file next to the database, rewritten atomically (temp file +
  ``os.replace``) on every change, so a closed or crashed app finds them again.
* Queuing them (``commit``) first writes a *commit token* into that file, then enqueues the rows
  in one outbox transaction whose ``actor`` carries the token, then clears the file. A crash
  between the two steps is detected on the next ``load``: if rows with the token exist the
  staged edits were already queued and are dropped (an ``add`` is never queued twice),
  otherwise they stay staged.
* Queued rows are the outbox's: ``PushService.run`` resumes them, and add/subtract stay
  exactly-once through their stored idempotency key and expected total (store/outbox.py).

"Same count for all mapped clients" stages one ``set`` per mapped account rather than calling
the legacy ``/count/all`` route: every account then has its own ledger row (history, drift,
last totals), resumes and retries per row, and an unmapped account is reported by name; the
legacy route is an unconfirmed shape (vendor-api.md §2.10) whose effect the ledger could not
see.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import math
import os
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from sqlmodel import select

from gradient_desktop.api import ProgressEvent
from gradient_desktop.counts import Cell, CountRow, Op
from gradient_desktop.services import csvio
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.push import PushService, PushSummary
from gradient_desktop.services.usage_types import (
    AccountRef,
    CellInfo,
    DriftRow,
    ImportResult,
    Snapshot,
    StagedEdit,
)
from gradient_desktop.services.usage_units import (
    STORAGE_DIVISORS,
    StagingError,
    bytes_to_units,
    format_amount,
    is_storage,
    parse_amount,
)
from gradient_desktop.services.wording import plural
from gradient_desktop.store.models import (
    GradientClient,
    Mapping,
    MappingKind,
    Partner,
    PartnerService,
    VendorAccount,
)

# Re-exported: the Usage page imports the editor's names from here.
__all__ = [
    "STORAGE_DIVISORS",
    "AccountRef",
    "CellInfo",
    "DriftRow",
    "ImportResult",
    "Snapshot",
    "StagedEdit",
    "StagingError",
    "UsageService",
    "bytes_to_units",
    "format_amount",
    "is_storage",
    "parse_amount",
]


# -- the service ----------------------------------------------------------------------------------------


class UsageService:
    """Staging, import/export and drift for one partner; pushing goes through PushService."""

    def __init__(self, ctx: AppContext, partner: Partner) -> None:
        self.ctx, self.partner = ctx, partner
        self.partner_id = partner.id or 0
        self.staged: dict[Cell, StagedEdit] = {}
        self.path = Path(ctx.db.path).parent / f"staged-usage-{self.partner_id}.json"
        self._refs: Snapshot | None = None
        self.load()

    # -- reading ---------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """Mapped accounts, the integration's services and every cell's ledger state."""
        with self.ctx.db.session() as s:
            mapped = {
                m.source_id: m.target_id
                for m in s.exec(
                    select(Mapping).where(
                        Mapping.partner_id == self.partner_id,
                        Mapping.kind == MappingKind.ACCOUNT.value,
                    )
                )
            }
            clients = {
                c.client_id: c.name
                for c in s.exec(
                    select(GradientClient).where(GradientClient.partner_id == self.partner_id)
                )
            }
            accounts = [
                AccountRef(a.account_id, a.name, clients.get(mapped.get(a.account_id, ""), ""))
                for a in s.exec(
                    select(VendorAccount)
                    .where(VendorAccount.partner_id == self.partner_id)
                    .order_by(VendorAccount.name)
                )
                if a.account_id in mapped or a.is_mapped_remote
            ]
            services = list(
                s.exec(
                    select(PartnerService)
                    .where(PartnerService.partner_id == self.partner_id)
                    .order_by(PartnerService.name)
                )
            )
        latest = self.ctx.outbox.latest_states(self.partner_id)
        totals = self.ctx.outbox.last_totals(self.partner_id)
        projected = self.projected_totals(totals)
        cells: dict[Cell, CellInfo] = {}
        for cell in set(latest) | set(totals):
            total, at = totals.get(cell, (None, None))
            state, error = latest.get(cell, (None, None))
            cells[cell] = CellInfo(total, at, state, error, projected.get(cell, total))
        self._refs = Snapshot(accounts, services, cells)
        return self._refs

    def projected_totals(
        self, totals: dict[Cell, tuple[float, datetime | None]] | None = None
    ) -> dict[Cell, float | None]:
        """``{(service, account): total}`` once every queued row has landed."""
        return PushService(self.ctx).projected_totals(self.partner_id, totals)

    def refs(self) -> Snapshot:
        return self._refs or self.snapshot()

    def _service(self, service_id: str) -> PartnerService:
        for s in self.refs().services:
            if s.service_id == service_id:
                return s
        raise StagingError(f"Service {service_id!r} is not part of this integration.")

    def _names(self, cell: Cell) -> str:
        service_id, account_id = cell
        acc = next((a.name for a in self.refs().accounts if a.account_id == account_id), account_id)
        svc = next((s.name for s in self.refs().services if s.service_id == service_id), service_id)
        return f"{acc} × {svc}"

    # -- staging ---------------------------------------------------------------------------

    def make_edit(
        self,
        cell: Cell,
        op: str,
        amount: float,
        source: str = "manual",
        base: dict[Cell, float | None] | None = None,
    ) -> StagedEdit | None:
        """The staged edit ``cell`` (service, account) ends up with once this change is added
        to what is staged already (None: the changes cancel out). Raises StagingError when it
        cannot be staged."""
        try:
            op = Op(op)
        except ValueError:
            raise StagingError(f"Unknown operation {op!r}; use set, add or subtract.") from None
        if not math.isfinite(amount) or amount < 0:
            raise StagingError(f"{format_amount(amount)} is not a count: use a number ≥ 0.")
        if op != Op.SET and amount == 0:
            raise StagingError(f"{op.capitalize()} 0 changes nothing; type an amount above 0.")
        service_id, account_id = cell
        if base is None:
            base = self.projected_totals()
        old = base.get(cell)
        prev = self.staged.get(cell)

        def edit(op: Op, count: float) -> StagedEdit:
            return StagedEdit(CountRow(service_id, account_id, count, op), old, source)

        if op == Op.SET:
            return edit(Op.SET, amount)
        sign = 1.0 if op == Op.ADD else -1.0
        if prev is not None and prev.row.op == Op.SET:
            new = prev.row.unit_count + sign * amount
            self._check_floor(cell, new, prev.row.unit_count, amount)
            return edit(Op.SET, new)
        delta = sign * amount + (prev.signed() if prev is not None else 0.0)
        if abs(delta) < 1e-12:
            return None
        if old is None and not PushService(self.ctx).legacy_routes(self.partner):
            # Gradient only has the absolute set: a change is sent as "known total ± amount".
            verb = "add to" if delta > 0 else "subtract from"
            raise StagingError(
                f"Cannot {verb} {self._names(cell)}: the app does not know its current total "
                "yet. Set an absolute count first, or import the current totals."
            )
        if delta < 0:
            if old is None:
                raise StagingError(
                    f"Cannot subtract from {self._names(cell)}: no count has been pushed for it "
                    "yet, so the result cannot be checked. Set an absolute count first."
                )
            self._check_floor(cell, old + delta, old, -delta)
        return edit(Op.ADD if delta > 0 else Op.SUBTRACT, abs(delta))

    def _check_floor(self, cell: Cell, new: float, current: float, amount: float) -> None:
        if new < -1e-9:
            raise StagingError(
                f"Cannot subtract {format_amount(amount)} from {self._names(cell)}: the count "
                f"would drop below zero (it is {format_amount(current)}). Subtract at most "
                f"{format_amount(current)}, or set the count instead."
            )

    def put(
        self, edits: Iterable[tuple[Cell, StagedEdit | None]]
    ) -> list[tuple[Cell, StagedEdit | None]]:
        """Replace the staged edit of each cell (None unstages); returns the inverse (undo)."""
        inverse = []
        for key, edit in edits:
            inverse.append((key, self.staged.get(key)))
            if edit is None:
                self.staged.pop(key, None)
            else:
                self.staged[key] = edit
        self.save()
        inverse.reverse()
        return inverse

    def stage(self, edits: Iterable[StagedEdit | tuple[Cell, None]]) -> list:
        return self.put((e.cell, e) if isinstance(e, StagedEdit) else e for e in edits)

    def stage_all_clients(self, service_id: str, amount: float) -> list[StagedEdit]:
        """One ``set`` per mapped account (see the module docstring for why)."""
        self._service(service_id)
        base = self.projected_totals()
        out = []
        for a in self.refs().accounts:
            edit = self.make_edit((service_id, a.account_id), Op.SET, amount, "all clients", base)
            if edit is not None:
                out.append(edit)
        return out

    # -- persistence -----------------------------------------------------------------------

    def save(self, commit_token: str | None = None) -> None:
        doc = {
            "partner_id": self.partner_id,
            "commit_token": commit_token,
            "edits": [e.as_json() for e in self.staged.values()],
        }
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def load(self) -> None:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            edits = [StagedEdit.from_json(e) for e in doc.get("edits", [])]
        except FileNotFoundError:
            return
        except (ValueError, TypeError, KeyError, OSError):
            # An unreadable file must not stop the app; keep it aside for a look.
            self.path.replace(self.path.with_suffix(".bad"))
            return
        self.staged = {e.cell: e for e in edits}
        token = doc.get("commit_token")
        if token:
            if self.ctx.outbox.queued_by(self.partner_id, token):
                # crashed after queuing: they are in the outbox already
                self.staged.clear()
            self.save()

    # -- queuing and pushing ----------------------------------------------------------------

    def push_rows(self) -> list[CountRow]:
        return [e.row for e in self.staged.values()]

    def commit(self, who: str | None = None) -> str | None:
        """Move the staged edits into the outbox (one transaction); returns the batch id."""
        rows = self.push_rows()
        if not rows:
            return None
        token = uuid.uuid4().hex[:16]
        self.save(commit_token=token)
        queued = PushService(self.ctx).enqueue(
            self.partner, rows, actor=f"{who or _user()} · usage editor {token}"
        )
        self.staged.clear()
        self.save()
        return queued.batch_id

    async def push(
        self,
        *,
        on_progress: Callable[[ProgressEvent], None] | None = None,
        cancel: asyncio.Event | None = None,
        concurrency: int | None = None,
        batch_id: str | None = None,
    ) -> PushSummary:
        """Queue what is staged (unless the caller just did: ``batch_id`` is the batch its own
        ``commit`` returned, so the commit happens once), then send every unfinished row of
        the partner (one rebuild)."""
        batch = batch_id if batch_id is not None else self.commit()
        return await PushService(self.ctx).run(
            self.partner,
            concurrency=concurrency,
            on_progress=on_progress,
            cancel=cancel,
            batch_id=batch,
        )

    def pending(self) -> int:
        """Rows of this partner queued and not yet acknowledged."""
        return PushService(self.ctx).pending(self.partner)

    def unfinished(self) -> str | None:
        """A sentence about rows left by an earlier session, or None when there are none."""
        items = self.ctx.outbox.list_resumable(self.partner_id)
        if not items:
            return None
        ops: dict[str, int] = {}
        for i in items:
            ops[i.op] = ops.get(i.op, 0) + 1
        unsure = sum(1 for i in items if i.needs_resolution)
        what = ", ".join(f"{n} {op}" for op, n in sorted(ops.items()))
        text_ = f"Finishing {plural(len(items), 'count')} queued by an earlier push ({what})"
        if unsure:
            text_ += (
                f"; {unsure} were in flight when it stopped and are checked without counting twice"
            )
        return text_ + "."

    # -- import / export -----------------------------------------------------------------------

    def _resolvers(self) -> tuple[Callable[[str], str | None], Callable[[str], str | None]]:
        refs = self.refs()
        by_name: dict[str, str] = {}
        for a in refs.accounts:
            by_name.setdefault(a.client_name.strip().lower(), a.account_id)
        for a in refs.accounts:  # the vendor's own name wins over the client's
            by_name[a.name.strip().lower()] = a.account_id
        services = {s.name.strip().lower(): s.service_id for s in refs.services}
        return (lambda n: by_name.get(n.strip().lower())), (
            lambda n: services.get(n.strip().lower())
        )

    def import_file(
        self, data: bytes, filename: str = "", *, bytes_in_file: bool = False
    ) -> ImportResult:
        """Staged edits from a count file; every problem comes back with its row number.
        ``bytes_in_file``: counts of storage services are bytes, converted per §8."""
        accounts, services = self._resolvers()
        parsed = csvio.parse_counts(
            data, filename=filename, account_resolver=accounts, service_resolver=services
        )
        result = ImportResult(
            errors=list(parsed.errors), rows=len(parsed.rows) + len(parsed.errors)
        )
        refs = self.refs()
        known_accounts = {a.account_id for a in refs.accounts}
        by_service = {s.service_id: s for s in refs.services}
        base = self.projected_totals()
        # Rows of one cell merge with each other and with what is staged, on a working copy.
        original = self.staged
        self.staged = dict(original)
        try:
            for line, row in zip(parsed.lines, parsed.rows, strict=True):
                service = by_service.get(row.service_id)
                if row.account_id not in known_accounts:
                    result.errors.append(
                        csvio.RowError(
                            line,
                            f"account {row.account_id!r} is not mapped to a client of this partner",
                        )
                    )
                    continue
                if service is None:
                    result.errors.append(
                        csvio.RowError(
                            line, f"service {row.service_id!r} is not part of this integration"
                        )
                    )
                    continue
                amount = (
                    bytes_to_units(row.unit_count, service) if bytes_in_file else row.unit_count
                )
                try:
                    edit = self.make_edit(row.cell, row.op, amount, "import", base)
                except StagingError as exc:
                    result.errors.append(csvio.RowError(line, str(exc)))
                    continue
                if edit is None:
                    self.staged.pop(row.cell, None)
                else:
                    self.staged[row.cell] = edit
            current = {k: v for k, v in self.staged.items() if original.get(k) != v}
        finally:
            self.staged = original
        result.edits = list(current.values())
        result.errors.sort(key=lambda e: e.line)
        return result

    def export_csv(self) -> str:
        """Last acknowledged counts, with names for people reading the file."""
        refs = self.snapshot()
        names = {a.account_id: a.name for a in refs.accounts}
        svc = {s.service_id: s.name for s in refs.services}
        # The file's columns keep their documented order: accountId, serviceId, unitCount.
        rows = [
            (
                acc,
                sid,
                c.total,
                names.get(acc, ""),
                svc.get(sid, ""),
                c.at.isoformat() if c.at else "",
            )
            for (sid, acc), c in sorted(refs.cells.items(), key=lambda kv: kv[0][::-1])
            if c.total is not None
        ]
        return csvio.export_counts(rows, ("accountName", "serviceName", "pushedAt"))

    # -- drift -------------------------------------------------------------------------------

    def drift(self, source: dict[Cell, float]) -> list[DriftRow]:
        """Cells whose fresh ``{(service, account): count}`` differs from the last push
        (listed by account, then service, as the grid shows them)."""
        totals = self.ctx.outbox.last_totals(self.partner_id)
        out = []
        for (sid, acc), value in sorted(source.items(), key=lambda kv: kv[0][::-1]):
            pushed = totals.get((sid, acc), (None, None))[0]
            if pushed is None or abs(pushed - value) > 1e-9:
                out.append(DriftRow(sid, acc, pushed, value))
        return out

    def drift_from_file(
        self, data: bytes, filename: str = ""
    ) -> tuple[list[DriftRow], list[csvio.RowError]]:
        result = self.import_file(data, filename)
        absolute = [e.row for e in result.edits if e.row.op == Op.SET]
        errors = result.errors + [
            csvio.RowError(
                0, f"{self._names(e.cell)}: a drift source needs absolute counts, not {e.row.op}"
            )
            for e in result.edits
            if e.row.op != Op.SET
        ]
        return self.drift({r.cell: r.unit_count for r in absolute}), errors

    def drift_from_demo_sandbox(self) -> list[DriftRow]:
        """Demo only: the embedded sandbox's stored counts. The Vendor API has no GET for counts
        (vendor-api.md §2.7), so against the real Gradient drift needs a file source."""
        if not self.ctx.is_demo_url(self.partner.base_url):
            raise StagingError(
                "Gradient has no way to read counts back, so drift can only be checked against a "
                "file here. Import the counts your system holds now as the drift source."
            )
        key = self.ctx.demo.partner_key(self.partner.name)
        known = {a.account_id for a in self.refs().accounts}
        counts = self.ctx.demo.state.counts(key)
        return self.drift(
            {(s, a): float(v["unitCount"]) for (s, a), v in counts.items() if a in known}
        )

    def drift_edits(self, rows: Iterable[DriftRow]) -> list[StagedEdit]:
        """Stage the differences: an absolute set of each source value."""
        base = self.projected_totals()
        return [
            e
            for r in rows
            if (e := self.make_edit((r.service_id, r.account_id), Op.SET, r.source, "drift", base))
        ]


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "user"
