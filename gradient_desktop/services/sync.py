"""Sync every partner in one run: read the usage sources, route each row to its partner, keep
only what changed since the ledger's last known totals, and push each partner through the
outbox, partners concurrently (each partner's token has its own request budget, so running them
side by side costs no partner any of its rate).

Safety rules:

* A source that cannot be read whole, or whose data has errors (bad numbers, duplicates), stops
  the run before anything is queued: nothing is half-pushed.
* Rows that match no partner or service are listed in the run record, never dropped silently.
* An add/subtract row says "this much more"; sent on every run it would count again and again.
  So such rows are sent only when their source's content changed since the last successful run
  for that partner (a run that queued rows records a digest per source × partner; a run
  limited to some partners or sources leaves the others' digests as they were).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select

from gradient_desktop.api import ApiError, ProgressEvent
from gradient_desktop.counts import CountRow, Op
from gradient_desktop.secrets import SecretStoreError
from gradient_desktop.services import sync_alerts
from gradient_desktop.services.context import AppContext, MissingKeyError
from gradient_desktop.services.sources.config import SourceConfig, SourceError
from gradient_desktop.services.sources.readers import Record, read_records
from gradient_desktop.services.sources.routing import Directory, Problem, Routed, RoutedRow, route
from gradient_desktop.services.sources.store import RunStore, SourceStore
from gradient_desktop.services.sync_push import (
    CountsRefused,
    PartnerPush,
    known_totals,
    push_partner,
)
from gradient_desktop.services.wording import figures, plural, verb
from gradient_desktop.store.backups import backup_after_push
from gradient_desktop.store.models import Partner

log = logging.getLogger(__name__)

#: Partners pushed at once. Each runs its own client and limiter; the bound keeps CPU and
#: sockets in check with hundreds of partners (one loop, one core does the HTTP work).
MAX_PARALLEL_PARTNERS = 64
_EPS = 1e-9

ProgressFn = Callable[[str, int, int], None]


@dataclass
class PartnerResult:
    name: str
    changed: int = 0
    skipped_same: int = 0
    push: PartnerPush | None = None
    error: str | None = None
    #: ``error`` needs the user (no key, no keyring, counts refused): a retry will not help
    needs_user: bool = False

    @property
    def key_problem(self) -> bool:
        return self.needs_user or bool(self.push and self.push.key_refused)

    def as_json(self) -> dict[str, Any]:
        p = self.push
        return {
            "name": self.name,
            "changed": self.changed,
            "unchanged": self.skipped_same,
            "landed": p.landed if p else 0,
            "unmapped": p.unmapped if p else 0,
            "failed": (p.failed + p.unknown + p.not_sent) if p else 0,
            "rebuilt": p.rebuilt if p else False,
            "message": self.error or (p.message if p else ""),
            "problems": [list(x) for x in (p.problems[:200] if p else [])],
        }


@dataclass
class SyncResult:
    run_id: int
    status: str  # ok | problems | failed | dry-run
    message: str
    read: int = 0
    partners: list[PartnerResult] = field(default_factory=list)
    unmatched: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    #: per "source|partner id", a digest of that partner's add/subtract rows of that source
    digests: dict[str, str] = field(default_factory=dict)
    #: the alert sources' part of the run (sync_alerts.AlertSyncResult), None without any
    alerts: Any = None

    @property
    def changed(self) -> int:
        return sum(p.changed for p in self.partners)

    @property
    def landed(self) -> int:
        return sum(p.push.landed for p in self.partners if p.push)

    @property
    def unmapped(self) -> int:
        """Counts Gradient refused because the MSP has not mapped that account or service."""
        return sum(p.push.unmapped for p in self.partners if p.push)

    @property
    def failed(self) -> int:
        """Counts that did not land for another reason, plus partners that could not push."""
        return sum(
            (p.push.failed + p.push.unknown + p.push.not_sent) if p.push else 0
            for p in self.partners
        ) + sum(1 for p in self.partners if p.error)

    def exit_code(self) -> int:
        """As ``push``: 0 all landed, 1 some row did not (or was unmatched), 2 a source or a
        partner's key is wrong (nothing, or nothing for that partner, was sent)."""
        alerts = self.alerts.exit_code() if self.alerts is not None else 0
        if self.status == "failed" or any(p.key_problem for p in self.partners):
            return 2
        if self.failed or self.unmapped or self.unmatched:
            return max(1, alerts)
        return alerts


class SyncService:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.sources = SourceStore(ctx)
        self.runs = RunStore(ctx)

    def partners(self, names: list[str] | None = None) -> list[Partner]:
        with self.ctx.db.session() as s:
            partners = list(s.exec(select(Partner).order_by(Partner.name)))
        if not names:
            return partners
        wanted = {n.lower() for n in names}
        found = [p for p in partners if p.name.lower() in wanted]
        missing = wanted - {p.name.lower() for p in found}
        if missing:
            raise LookupError(f"No partner named {', '.join(sorted(missing))}.")
        return found

    async def run(
        self,
        *,
        partners: list[str] | None = None,
        sources: list[str] | None = None,
        dry_run: bool = False,
        full: bool = False,
        trigger: str = "manual",
        on_progress: ProgressFn | None = None,
    ) -> SyncResult:
        run_id = self.runs.start(trigger)
        try:
            result = await self._run(run_id, partners, sources, dry_run, full, on_progress)
        except (SourceError, LookupError, SecretStoreError) as exc:
            result = SyncResult(run_id, "failed", f"{exc} Nothing was sent.")
        except asyncio.CancelledError:
            self.runs.finish(run_id, status="failed", message="Stopped before the end.")
            raise
        except Exception as exc:
            # The record must not stay "running" (a scheduled run is read back by the app).
            self.runs.finish(
                run_id, status="failed", message=f"Unexpected error ({type(exc).__name__})."
            )
            raise
        await sync_alerts.attach(
            self.ctx, result, partners=partners, sources=sources, dry_run=dry_run
        )
        self._record(result)
        return result

    async def _run(
        self,
        run_id: int,
        partner_names: list[str] | None,
        source_names: list[str] | None,
        dry_run: bool,
        full: bool,
        on_progress: ProgressFn | None,
    ) -> SyncResult:
        configs = (
            [self.sources.get(n) for n in source_names] if source_names else self.sources.list()
        )
        configs = [c for c in configs if not c.emits_alerts]  # those: sync_alerts.py
        if not configs:
            if sync_alerts.alert_configs(self.ctx, source_names):
                return SyncResult(run_id, "ok", "")  # only alert sources: the alert half runs
            raise LookupError("No usage source is set up yet: add one first.")
        partners = self.partners(partner_names)
        if not partners:
            raise LookupError("No partner is connected yet: connect one first.")
        # Every source is read to the end (no reader left running), then the first failure
        # stops the run.
        results = await asyncio.gather(*(self._read(c) for c in configs), return_exceptions=True)
        for outcome in results:
            if isinstance(outcome, BaseException):
                raise outcome
        records: list[list[Record]] = results  # type: ignore[assignment]
        routed = Routed()
        directory = Directory(self.ctx, self.partners())  # route over all, keep the selected
        for config, recs in zip(configs, records, strict=True):
            route(config, recs, directory, routed)
        digests = _digests(routed, [c.name for c in configs], partners)
        result = SyncResult(run_id, "ok", "", read=routed.read, unmatched=routed.unmatched)
        result.errors = routed.errors + _cross_source_duplicates(routed)
        if result.errors:
            result.status = "failed"
            result.message = (
                f"{plural(len(result.errors), 'row')} of the sources {verb(len(result.errors), 'has')} "
                "errors; nothing was sent. "
                f"First: {result.errors[0]}"
            )
            return result
        previous = self.runs.last_digests()
        plans = [
            self._plan(p, routed.rows.get(p.id or 0, []), full, digests, previous) for p in partners
        ]
        result.partners = [pr for pr, _ in plans]
        if dry_run:
            result.status = "dry-run"
            result.message = (
                f"Dry run: {plural(result.changed, 'count')} would be sent; nothing was sent."
            )
            return result
        gate = asyncio.Semaphore(MAX_PARALLEL_PARTNERS)
        refused: set[int] = set()

        async def one(partner: Partner, pr: PartnerResult, counts: list[CountRow]) -> None:
            def progress(ev: ProgressEvent) -> None:
                if on_progress is not None:
                    on_progress(partner.name, ev.done, ev.total)

            async with gate:
                if on_progress is not None:
                    on_progress(partner.name, 0, len(counts))
                try:
                    pr.push = await push_partner(
                        self.ctx, partner, counts, actor=f"sync run {run_id}", on_progress=progress
                    )
                except CountsRefused as exc:
                    pr.error, pr.needs_user = str(exc), True
                    refused.add(partner.id or 0)  # nothing queued: its adds stay to be sent
                except (MissingKeyError, SecretStoreError) as exc:
                    pr.error, pr.needs_user = str(exc), True  # queued; sent once the key is back
                except ApiError as exc:
                    pr.error = str(exc)  # this partner only; its rows stay queued
                except Exception as exc:  # a bug must not take the other partners down
                    log.exception("sync of %s failed", partner.name)
                    pr.error = f"Unexpected error ({type(exc).__name__}); see the log."
                if on_progress is not None:
                    done = pr.push.sent if pr.push else 0
                    on_progress(partner.name, done, max(done, len(counts)))

        queued = self._queued(partners)
        pushing = [
            (p, pr, counts)
            for p, (pr, counts) in zip(partners, plans, strict=True)
            if counts or queued.get(p.id or 0)
        ]
        self._open_clients([p for p, _, _ in pushing])
        await asyncio.gather(*(one(p, pr, counts) for p, pr, counts in pushing))
        if any(p.push is not None and p.push.sent for p in result.partners):
            # One copy of the ledger for the whole run (each partner's push skipped its own).
            backup_after_push(self.ctx.db, self.ctx.settings.backup_keep_days)
        trouble = result.failed or result.unmapped or result.unmatched
        result.status = "problems" if trouble else "ok"
        result.message = _summary(result)
        result.digests = {
            k: v for k, v in digests.items() if int(k.rsplit("|", 1)[1]) not in refused
        }
        return result

    def _open_clients(self, partners: list[Partner]) -> None:
        """Every partner's client before the first push starts, so their keys join the log's
        redaction in one go (the mask is rebuilt once, not once per partner as each push
        started). A partner whose client cannot be made fails in its own push, as before."""
        for partner in partners:
            try:
                self.ctx.client_for(partner)
            except Exception:  # reported by that partner's push (missing key, keyring)
                log.debug("client of %s not opened ahead", partner.name)

    def _queued(self, partners: list[Partner]) -> dict[int, int]:
        return {p.id or 0: self.ctx.outbox.pending_count(p.id or 0) for p in partners}

    async def _read(self, config: SourceConfig) -> list[Record]:
        secret = self.sources.secret(config)
        records = await read_records(config, secret)
        log.info("source %s: %s read", config.name, plural(len(records), "record"))
        return records

    def _plan(
        self,
        partner: Partner,
        rows: list[Any],
        full: bool,
        digests: dict[str, str],
        previous: dict[str, str],
    ) -> tuple[PartnerResult, list[CountRow]]:
        """The counts to send for one partner: sets that differ from the known total (all of
        them with ``full``), and adds/subtracts whose rows changed since the last run."""
        pr = PartnerResult(partner.name)
        totals = known_totals(self.ctx, partner) if rows and not full else {}
        counts = []
        for r in rows:
            if r.row.op == Op.SET:
                known = totals.get(r.row.cell)
                if not full and known is not None and abs(known - r.row.unit_count) <= _EPS:
                    pr.skipped_same += 1
                    continue
            elif previous.get(_key(r)) == digests.get(_key(r)):
                # Even with ``full``: re-sending an add would count it twice.
                pr.skipped_same += 1
                continue
            counts.append(r.row)
        pr.changed = len(counts)
        return pr, counts

    def _record(self, result: SyncResult) -> None:
        # The redacted log file holds what a scheduled run did, next to its run record.
        log.info("sync run %d (%s): %s", result.run_id, result.status, result.message)
        for p in result.partners:
            push = p.push
            trouble = push is not None and (push.failed or push.unmapped or push.unknown)
            if p.error or trouble:
                text = p.error or (push.message if push else "")
                log.warning("sync run %d: %s: %s", result.run_id, p.name, text)
        for problem in result.errors[:50] + result.unmatched[:50]:
            log.warning("sync run %d: %s", result.run_id, problem)
        details = {
            "partners": [p.as_json() for p in result.partners],
            "unmatched": [str(p) for p in result.unmatched[:500]],
            "errors": [str(p) for p in result.errors[:500]],
            "digests": result.digests,
            "alerts": result.alerts.as_json() if result.alerts is not None else None,
        }
        self.runs.finish(
            result.run_id,
            status=result.status,
            rows_read=result.read,
            changed=result.changed,
            landed=result.landed,
            unmatched=len(result.unmatched),
            unmapped=result.unmapped,
            failed=result.failed,
            message=result.message,
            details=details,
        )


def _key(row: RoutedRow) -> str:
    return f"{row.source}|{row.partner_id}"


def _digests(routed: Routed, sources: list[str], partners: list[Partner]) -> dict[str, str]:
    """For each source × selected partner: a digest of its add/subtract rows (what they add)."""
    out = {}
    for p in partners:
        rows = routed.rows.get(p.id or 0, [])
        for name in sources:
            deltas = sorted(
                # (account, service, ...) as before: the digests of earlier runs stay valid.
                (r.row.account_id, r.row.service_id, r.row.op, r.row.unit_count)
                for r in rows
                if r.source == name and r.row.op != Op.SET
            )
            body = json.dumps(deltas).encode()
            out[f"{name}|{p.id}"] = hashlib.sha256(body).hexdigest()
    return out


def _cross_source_duplicates(routed: Routed) -> list[Problem]:
    """The same partner × account × service from two sources: which one is right is unknown."""
    seen: dict[tuple[int, str, str], Any] = {}
    out = []
    for rows in routed.rows.values():
        for r in rows:
            key = (r.partner_id, *r.row.cell)
            if key in seen and seen[key].source != r.source:
                first = seen[key]
                out.append(
                    Problem(
                        r.source,
                        r.line,
                        f"account {r.row.account_id!r} × service {r.row.service_id!r} also comes from "
                        f"source {first.source!r} (row {first.line}); keep it in one source",
                    )
                )
            seen.setdefault(key, r)
    return out


def _summary(result: SyncResult) -> str:
    parts = [
        f"{plural(result.read, 'row')} read",
        f"{result.changed} changed",
        f"{result.landed} landed",
    ]
    parts += figures(
        (len(result.unmatched), f"{len(result.unmatched)} matched no partner or service"),
        (result.unmapped, f"{result.unmapped} not mapped by the MSP yet"),
        (result.failed, f"{result.failed} did not land"),
    )
    return ", ".join(parts) + "."
