"""The setup's steps, their titles and the step map (which step follows which), the errors
and the small value types the step handlers share."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

log = logging.getLogger(__name__)


DRAFT_NAME = "New partner"
WHERE_THE_KEY_IS = (
    "The MSP creates this key in Synthesize: Integrations → your integration's card → Connect "
    "→ Generate API Tokens, and sends it to you."
)
RECORD_KEY_REASON = (
    "Gradient's Vendor API only answers when your vendor key is paired with a partner key, so "
    "paste one here (the seed-account key Gradient's vendor support issued at kick-off, or this "
    "MSP's key) to read and edit your vendor record and services; it is kept in memory only."
)


class Step(IntEnum):
    VENDOR = 1
    PRODUCT = 2
    PARTNER_KEY = 3
    AUTHENTICATE = 4
    MAP_CLIENTS = 5
    ACTIVATE = 6
    DONE = 99


STEP_TITLES = {
    Step.VENDOR: "Vendor",
    Step.PRODUCT: "Product",
    Step.PARTNER_KEY: "Partner key",
    Step.AUTHENTICATE: "Authenticate",
    Step.MAP_CLIENTS: "Map clients",
    Step.ACTIVATE: "Activate",
    Step.DONE: "Done",
}
#: The navigation map: which step follows which (Back is the inverse).
NEXT_STEP: dict[Step, Step] = {
    Step.VENDOR: Step.PRODUCT,
    Step.PRODUCT: Step.PARTNER_KEY,
    Step.PARTNER_KEY: Step.AUTHENTICATE,
    Step.AUTHENTICATE: Step.MAP_CLIENTS,
    Step.MAP_CLIENTS: Step.ACTIVATE,
    Step.ACTIVATE: Step.DONE,
}


class SetupError(RuntimeError):
    """A step cannot go on; the message says why and what to do."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class MappingSummary:
    accounts: int
    mapped: int
    clients: int
    services: int

    @property
    def unmapped(self) -> int:
        return self.accounts - self.mapped


def normalize_exact(name: str) -> str:
    """Case and spacing folded, nothing else: "exact" name matching."""
    return " ".join(name.casefold().split())
