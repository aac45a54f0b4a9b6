"""Test helpers for usage sources and sync (issue #13): two partners connected the way the app
connects them, each with its own accounts mapped and the vendor's services selected, on a live
sandbox; a SQLite usage database the way a vendor's product would keep one, and the SQL source
over it; one sync run; a throw-away user
whose crontab the schedule tests may write; a free loopback port for the database servers."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from gradient_desktop.sandbox.seed import PARTNER_DEMO, PARTNER_SMALL, VENDOR_KEY
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.integration import Customer, IntegrationService
from gradient_desktop.services.mapping import MappingChange, MappingService
from gradient_desktop.services.partners import PartnerDirectory
from gradient_desktop.services.sources import FieldMap, SourceConfig
from gradient_desktop.services.sync import SyncResult, SyncService
from gradient_desktop.store.models import Partner
from tests.usage_helpers import map_and_publish

#: (partner name, partner key, account prefix, accounts)
PARTNERS = (("Contoso", PARTNER_DEMO, "c", 6), ("Fabrikam", PARTNER_SMALL, "f", 4))


async def two_partners(ctx: AppContext, sandbox: Any) -> list[Partner]:
    directory = PartnerDirectory(ctx)
    profile = directory.save_profile("p", sandbox.base_url, VENDOR_KEY)
    out = []
    for name, key, prefix, n in PARTNERS:
        partner = directory.add(name, profile, key)
        customers = [Customer(f"{prefix}-{i}", f"{name} customer {i}") for i in range(n)]
        out.append(await map_and_publish(ctx, sandbox, partner, key, customers))
    return out


def sku_names(sandbox: Any) -> list[str]:
    return [s["name"] for s in sandbox.state.vendor(VENDOR_KEY)["skus"]]


def sku_ids(sandbox: Any) -> list[str]:
    return [s["id"] for s in sandbox.state.vendor(VENDOR_KEY)["skus"]]


#: The columns of the ``usage`` table ``usage_db`` makes (and the database-server tests fill).
USAGE_FIELDS = FieldMap(account="customer", service="product", count="qty")
USAGE_QUERY = "SELECT customer, product, qty FROM usage"


def usage_source(
    url: str, name: str = "product db", query: str = USAGE_QUERY, **kw: Any
) -> SourceConfig:
    """A SQL usage source over such a table at ``url`` (any SQLAlchemy address)."""
    return SourceConfig(name=name, kind="sql", url=url, query=query, mapping=USAGE_FIELDS, **kw)


def sync_once(ctx: AppContext, run_async: Any, **kw: Any) -> SyncResult:
    """One ``SyncService.run(**kw)`` as the CLI makes it: the HTTP clients closed after it."""

    async def go() -> SyncResult:
        try:
            return await SyncService(ctx).run(**kw)
        finally:
            await ctx.aclose()

    result: SyncResult = run_async(go())
    return result


def usage_db(
    path: Path, rows: list[tuple[Any, ...]], schema: str = "customer TEXT, product TEXT, qty REAL"
) -> Path:
    """A vendor's own SQLite database with a ``usage`` table (customer, product, qty unless
    ``schema`` says otherwise)."""
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE usage ({schema})")
    marks = ", ".join("?" * len(schema.split(",")))
    conn.executemany(f"INSERT INTO usage VALUES ({marks})", rows)
    conn.commit()
    conn.close()
    return path


async def demo_partners(ctx: AppContext, accounts: int = 5) -> list[Partner]:
    """Both demo partners, as the demo mode sets them up, with their first ``accounts``
    customers mapped and published and every SKU selected; the demo snapshot saved so another
    process (a scheduled run) finds the same sandbox."""
    from gradient_desktop.services.demo import DEMO_PARTNERS, demo_customers, ensure_demo_partner

    out = []
    for name in DEMO_PARTNERS:
        partner = ensure_demo_partner(ctx, name)
        integration = IntegrationService(ctx)
        await integration.sync_clients(partner)
        client_ids = list(ctx.demo.state.client_names(ctx.demo.partner_key(name)))
        customers = demo_customers(ctx, name)[:accounts]
        MappingService(ctx).apply(
            partner, [MappingChange(c.id, client_ids[i]) for i, c in enumerate(customers)]
        )
        vendor = await integration.fetch_vendor(partner)
        integration.select_services(partner, vendor.skus)
        await integration.publish_accounts(partner)
        await ctx.drop_clients(partner.id or 0)
        out.append(partner)
    ctx.demo.save()
    return out


async def demo_usage_rows(ctx: AppContext) -> list[tuple[str, str, str, int]]:
    """Both demo partners set up with three mapped accounts each (``demo_partners``), the
    context's clients closed; returns one usage row per mapped account: (partner name,
    account id, the partner's first service, a count)."""
    from sqlmodel import select

    from gradient_desktop.store.models import Mapping, PartnerService

    try:
        partners = await demo_partners(ctx, accounts=3)
    finally:
        await ctx.aclose()
    rows = []
    with ctx.db.session() as s:
        for p in partners:
            service = s.exec(
                select(PartnerService).where(PartnerService.partner_id == p.id)
            ).first()
            assert service is not None
            for i, m in enumerate(s.exec(select(Mapping).where(Mapping.partner_id == p.id))):
                rows.append((p.name, m.source_id, service.name, i + 2))
    return rows


def partner_usage_db(path: Path, rows: list[tuple[str, str, str, Any]]) -> Path:
    """A vendor's SQLite database whose ``usage`` rows name their partner (partner, account,
    sku, n): the demo partners share account ids."""
    return usage_db(path, rows, "partner TEXT, account TEXT, sku TEXT, n INTEGER")


def throwaway_user() -> str:
    """A new Linux user for a crontab test (the machine's own crontabs stay untouched, and
    concurrent runs cannot remove each other's entry); skips, saying why, where none can be
    made. The caller removes it (``crontab -u NAME -r``, ``userdel NAME``)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the crontab test runs on Linux")
    if shutil.which("crontab") is None:
        pytest.skip("no crontab program (scripts/test.sh installs the cron package when root)")
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("a throw-away user for the crontab test needs root and useradd")
    name = f"gdsync{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--no-create-home", name], check=True)
    return name


def free_port() -> int:
    """A loopback port nobody listens on (for a database server, or for one that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
