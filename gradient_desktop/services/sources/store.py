"""Saved usage sources (the ``usage_source`` table, secrets in the keyring), their preview, and
the record of every sync run (the ``sync_run`` table)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, select

from gradient_desktop.services.context import AppContext
from gradient_desktop.services.sources.config import (
    SourceConfig,
    SourceError,
    store_secret_advice,
)
from gradient_desktop.services.sources.readers import read_records
from gradient_desktop.services.sources.routing import Directory, Problem, Routed, route
from gradient_desktop.store.models import Partner, SyncRun, UsageSource, utcnow


class SourceStore:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def list(self) -> list[SourceConfig]:
        with self.ctx.db.session() as s:
            rows = s.exec(select(UsageSource).order_by(UsageSource.name)).all()
        return [SourceConfig.from_row(r.name, r.kind, r.config) for r in rows]

    def get(self, name: str) -> SourceConfig:
        for c in self.list():
            if c.name == name:
                return c
        raise SourceError(
            name, "no source of that name; list them with: gradient-desktop source list"
        )

    def save(self, config: SourceConfig, secret: str | None = None) -> SourceConfig:
        """Insert or replace by name. A secret goes to the keyring first, so a saved source that
        needs one never exists without it."""
        config.validate()
        if secret:
            self.ctx.keys.set_source_secret(config.name, secret)
            config.has_secret = True
        with self.ctx.db.write_session() as s:
            row = s.exec(select(UsageSource).where(UsageSource.name == config.name)).first()
            if row is None:
                row = UsageSource(name=config.name, kind=config.kind)
            row.kind, row.config, row.updated_at = config.kind, config.to_json(), utcnow()
            s.add(row)
            s.commit()
        return config

    def remove(self, name: str) -> None:
        config = self.get(name)
        with self.ctx.db.write_session() as s:
            for row in s.exec(select(UsageSource).where(UsageSource.name == name)):
                s.delete(row)
            s.commit()
        if config.has_secret:
            self.ctx.keys.delete_source_secret(name)

    def secret(self, config: SourceConfig) -> str | None:
        if not config.has_secret:
            return None
        value = self.ctx.keys.source_secret(config.name)
        if not value:
            raise SourceError(
                config.name,
                "its password or token is not in the keyring. "
                + store_secret_advice(config.name, "password or token"),
            )
        return value


@dataclass
class Preview:
    """The first rows as read, and every problem found in the whole source."""

    columns: list[str]
    rows: list[tuple[int, dict[str, Any]]]
    total: int
    routed: int
    errors: list[Problem] = field(default_factory=list)
    unmatched: list[Problem] = field(default_factory=list)


async def preview(
    ctx: AppContext, config: SourceConfig, secret: str | None = None, limit: int = 20
) -> Preview:
    """Read the source as a sync would, route it over every partner, keep the first rows."""
    config.validate()
    if secret is None and config.has_secret:
        secret = SourceStore(ctx).secret(config)
    if config.emits_alerts:
        from gradient_desktop.services.alert_sources import preview_alerts

        return await preview_alerts(ctx, config, secret, limit)
    records = await read_records(config, secret)
    with ctx.db.session() as s:
        partners = list(s.exec(select(Partner)))
    routed = Routed()
    route(config, records, Directory(ctx, partners), routed)
    columns: list[str] = []
    for _, rec in records[:limit]:
        columns += [k for k in rec if k not in columns]
    return Preview(
        columns, records[:limit], len(records), routed.total(), routed.errors, routed.unmatched
    )


class RunStore:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def start(self, trigger: str) -> int:
        with self.ctx.db.write_session() as s:
            run = SyncRun(trigger=trigger)
            s.add(run)
            s.commit()
            return run.id or 0

    def finish(self, run_id: int, **fields_: Any) -> None:
        details = fields_.pop("details", None)
        with self.ctx.db.write_session() as s:
            run = s.get(SyncRun, run_id)
            if run is None:
                return
            for k, v in fields_.items():
                setattr(run, k, v)
            if details is not None:
                run.details = json.dumps(details, default=str)
            run.finished_at = utcnow()
            s.add(run)
            s.commit()

    def recent(self, limit: int = 20) -> list[SyncRun]:
        with self.ctx.db.session() as s:
            return list(s.exec(select(SyncRun).order_by(col(SyncRun.id).desc()).limit(limit)))

    def unseen_scheduled(self) -> list[SyncRun]:
        """Scheduled runs the app has not shown yet (oldest first)."""
        with self.ctx.db.session() as s:
            return list(
                s.exec(
                    select(SyncRun)
                    .where(SyncRun.trigger == "schedule", SyncRun.seen == False)  # noqa: E712
                    .order_by(col(SyncRun.id))
                )
            )

    def mark_seen(self, ids: list[int]) -> None:
        with self.ctx.db.write_session() as s:
            for run_id in ids:
                run = s.get(SyncRun, run_id)
                if run is not None:
                    run.seen = True
                    s.add(run)
            s.commit()

    def last_digests(self) -> dict[str, str]:
        """Per "source|partner": the digest recorded by the latest run that queued rows for it
        (see sync.py: add/subtract rows are sent again only when they changed)."""
        out: dict[str, str] = {}
        with self.ctx.db.session() as s:
            runs = s.exec(
                select(SyncRun)
                .where(col(SyncRun.status).in_(("ok", "problems")))
                .order_by(col(SyncRun.id).desc())
                .limit(500)
            )
            for run in runs:
                for key, digest in json.loads(run.details or "{}").get("digests", {}).items():
                    out.setdefault(key, digest)
        return out
