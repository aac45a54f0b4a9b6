"""The setup flow of one partner as a Qt-free state machine (Electrum's wizard shape): the steps,
which step follows which, the work each step does, and the non-secret choices made so far.

Progress is saved in ``Partner.setup_step`` / ``Partner.setup_data`` after every step, so a
setup stopped half-way (window closed, app quit, machine restarted) resumes where it stopped.
A partner row exists from the end of step 1 on (a *draft* named "New partner" until step 3
names it); keys go to the keyring (demo keys stay with the demo sandbox), never into
``setup_data``. The Qt wizard (``ui/wizard``) only renders these steps.

The Vendor API answers only when a vendor key is paired with a partner key, so the vendor
record (step 1) and the SKU catalogue (step 2) are read with a *record key*: the partner key
Gradient's vendor support issues at kick-off (entered on step 1, kept in memory only), else the
key of another partner of the same vendor profile, else this partner's key once step 3 has it.

Layout: ``steps`` (the step map, titles, errors), ``base`` (shared state, saving progress), one
handler module per step pair (``step_vendor``, ``step_partner``, ``step_map``,
``step_activate``) and ``flow`` (``SetupFlow``: starting a flow, ``next_step``).
"""

from gradient_desktop.services.setup.flow import HANDLERS, SetupFlow
from gradient_desktop.services.setup.steps import (
    DRAFT_NAME,
    NEXT_STEP,
    RECORD_KEY_REASON,
    STEP_TITLES,
    WHERE_THE_KEY_IS,
    MappingSummary,
    SetupError,
    Step,
    normalize_exact,
    now_iso,
)

__all__ = [
    "DRAFT_NAME",
    "HANDLERS",
    "NEXT_STEP",
    "RECORD_KEY_REASON",
    "STEP_TITLES",
    "WHERE_THE_KEY_IS",
    "MappingSummary",
    "SetupError",
    "SetupFlow",
    "Step",
    "normalize_exact",
    "now_iso",
]
