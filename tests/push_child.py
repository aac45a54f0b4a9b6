"""Run by tests/services/test_push_crash_resume.py as a real subprocess: open an AppContext on the same
GRADIENT_DESKTOP_HOME (the test's database) and push the partner's queued rows, as the app would.
The test kills it with SIGKILL mid-push. Keys come from the environment (the test's keyring is
in its own process)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keyring

from tests.keyring_backend import MemoryKeyring


def main() -> int:
    keyring.set_keyring(MemoryKeyring())
    from gradient_desktop.services.context import AppContext
    from gradient_desktop.services.partners import PartnerDirectory
    from gradient_desktop.services.push import PushService

    ctx = AppContext.open()
    ctx.secrets.set_vendor_key(os.environ["CHILD_PROFILE"], os.environ["CHILD_VENDOR_KEY"])
    ctx.secrets.set_partner_key(os.environ["CHILD_PARTNER"], os.environ["CHILD_PARTNER_KEY"])
    partner = PartnerDirectory(ctx).get(os.environ["CHILD_PARTNER"])

    async def push() -> None:
        try:
            summary = await PushService(ctx).run(partner, concurrency=4)
            print(summary.text(), flush=True)
        finally:
            await ctx.aclose()

    print("pushing", flush=True)
    asyncio.run(push())
    ctx.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
