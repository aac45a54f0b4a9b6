"""End to end: a partner with distinctive keys is added, authenticated and pushed to over a real
socket with DEBUG logging, the way the GUI sets logging up; then every file in the log folder is
scanned. Neither key nor the base64 GRADIENT-TOKEN may appear anywhere, while the log does show
the work was done (requests logged) and the log viewer shows the masked text.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any

import httpx
import pytest

from gradient_desktop.config import log_dir
from gradient_desktop.logsetup import MASK, setup_logging
from gradient_desktop.sandbox.seed import VENDOR_KEY
from gradient_desktop.services.context import AppContext
from tests.sandbox.helpers import mapped_accounts

# A distinctive partner key (never seen in a seed); the vendor key is the sandbox's.
PARTNER_KEY = "redaction-e2e-partner-Zq7Xw3Vt9Kp2"
WRONG_KEY = "redaction-e2e-wrong-key-Lm4Nb8Rc1Yd6"


def _token(vendor: str, partner: str) -> str:
    return base64.b64encode(f"{vendor}:{partner}".encode()).decode()


FORBIDDEN = {
    "partner key": PARTNER_KEY,
    "wrong key": WRONG_KEY,
    "vendor key": VENDOR_KEY,
    "token": _token(VENDOR_KEY, PARTNER_KEY),
    "token (unpadded)": _token(VENDOR_KEY, PARTNER_KEY).rstrip("="),
    "wrong token": _token(VENDOR_KEY, WRONG_KEY),
}


@pytest.fixture
def debug_log(clean_logging: None) -> None:
    """The GUI's logging (run_gui -> setup_logging) at DEBUG; undone afterwards."""
    setup_logging("DEBUG", log_dir())


def _scan_logs() -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    files = [p for p in log_dir().rglob("*") if p.is_file()]
    assert files, "no log file was written"
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files)


def _mapped_accounts(base_url: str, n: int) -> tuple[list[str], list[str]]:
    accounts, skus = mapped_accounts(base_url, n, partner_key=PARTNER_KEY, prefix="red-")
    for sku in skus:  # the MSP maps the vendor's SKUs to PSA products (a new org has none)
        r = httpx.post(
            f"{base_url}/_sandbox/map-service", json={"partnerKey": PARTNER_KEY, "serviceId": sku}
        )
        assert r.status_code == 200, r.text
    return accounts, skus


def test_a_debug_push_with_distinctive_keys_leaves_no_key_or_token_in_the_log_folder(
    sandbox: Any, debug_log: None
) -> None:
    from gradient_desktop.api import AuthenticationError
    from gradient_desktop.counts import CountRow
    from gradient_desktop.services.integration import IntegrationService
    from gradient_desktop.services.partners import PartnerDirectory
    from gradient_desktop.services.push import PushService

    sandbox.state.add_organization(
        VENDOR_KEY,
        PARTNER_KEY,
        "Redaction Test MSP",
        clients=[("c-1", "Alpha Ltd"), ("c-2", "Beta GmbH")],
    )
    log = logging.getLogger("gradient_desktop.test_redaction")
    ctx = AppContext.open()
    try:
        directory = PartnerDirectory(ctx)
        profile = directory.save_profile("redaction", sandbox.base_url, VENDOR_KEY)
        partner = directory.add("redaction-msp", profile, PARTNER_KEY, base_url=sandbox.base_url)
        wrong = directory.add("wrong-key-msp", profile, WRONG_KEY, base_url=sandbox.base_url)

        async def flow() -> Any:
            integration = await IntegrationService(ctx).refresh(partner)
            accounts, skus = await asyncio.to_thread(_mapped_accounts, sandbox.base_url, 2)
            service = PushService(ctx)
            rows = [CountRow(skus[0], a, 5.0) for a in accounts]
            batch = service.enqueue(partner, rows, actor="test")
            summary = await service.run(partner, concurrency=4, batch_id=batch)
            try:
                await IntegrationService(ctx).refresh(wrong)
            except AuthenticationError:
                log.exception("authenticating %s failed", wrong.name)
            await ctx.aclose()
            return integration, summary

        integration, summary = asyncio.run(flow())
        assert integration.name == "Redaction Test MSP"
        assert summary.report.ok == 2

        # Careless code paths: keys in a message, its args, a token, an exception's text.
        creds = ctx.credentials(profile, partner)
        log.debug("credentials %s / %s", creds.vendor_key, creds.partner_key)
        log.info(f"GRADIENT-TOKEN: {creds.token()}")
        try:
            raise ValueError(f"rejected key {PARTNER_KEY}")
        except ValueError:
            log.exception("a failure quoting the key")
    finally:
        ctx.close()

    text = _scan_logs()
    leaks = {name: value for name, value in FORBIDDEN.items() if value in text}
    assert not leaks, f"secrets found in the log folder: {sorted(leaks)}"
    # Not vacuous: the push was logged at DEBUG and the careless lines are there, masked.
    assert "HTTP Request: PUT" in text or "HTTP Request: POST" in text
    assert "credentials [redacted] / [redacted]" in text
    assert "a failure quoting the key" in text and "rejected key [redacted]" in text
    assert text.count(MASK) >= 4


@pytest.mark.gui
def test_the_log_viewer_shows_the_same_log_masked(qtbot: Any, debug_log: None) -> None:
    from gradient_desktop.logsetup import register_credentials
    from gradient_desktop.ui.dialogs.log_viewer import LogViewer

    register_credentials(VENDOR_KEY, PARTNER_KEY)
    logging.getLogger("gradient_desktop.test").warning("partner key is %s", PARTNER_KEY)
    viewer = LogViewer()
    qtbot.addWidget(viewer)
    shown = viewer.shown_text()
    assert "partner key is [redacted]" in shown
    assert PARTNER_KEY not in shown and VENDOR_KEY not in shown
