"""The partner row behind ``push FILE --base-url URL`` (keys from the environment).

A scheduled run has no partner added with ``partner add``, but it must share the outbox and
ledger of the GUI and of ``--partner`` pushes: that is what makes a killed run, simply run
again, land every count exactly once, and what gives add/subtract a known total. So each
(base URL, partner key) gets a partner row of its own, named after the host and a short
fingerprint of the partner key (a SHA-256 prefix: it names the key without revealing it; the
key itself is never stored). A rotated partner key therefore starts a new ledger: import the
current totals (or set them) before adding to them.
"""

from __future__ import annotations

import hashlib

import httpx

from gradient_desktop.api import Credentials
from gradient_desktop.services.context import AppContext
from gradient_desktop.services.partners import PartnerDirectory, PartnerNotFound, check_base_url
from gradient_desktop.store.models import Partner

#: Prefix of the partner and profile rows made for scheduled runs.
SCHEDULED = "scheduled"


def key_fingerprint(partner_key: str) -> str:
    return hashlib.sha256(partner_key.encode("utf-8")).hexdigest()[:12]


def scheduled_partner(ctx: AppContext, base_url: str, creds: Credentials) -> Partner:
    """The partner row for this address and partner key, created on first use."""
    root = check_base_url(base_url)
    host = httpx.URL(root).netloc.decode("ascii", "replace")
    name = f"{SCHEDULED} {host} {key_fingerprint(creds.partner_key)}"
    directory = PartnerDirectory(ctx)
    try:
        return directory.get(name)
    except PartnerNotFound:
        pass
    profile_name = f"{SCHEDULED} {root}"
    profile = directory.profile(profile_name) or directory.save_profile(profile_name, root)
    return directory.add(name, profile, None, base_url=root)
