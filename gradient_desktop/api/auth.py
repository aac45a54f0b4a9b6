"""Vendor API credentials and the ``GRADIENT-TOKEN`` header built from them.

The keys are secrets: nothing in this module (repr, str, errors) ever shows them.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import NoReturn

#: Header name Gradient reads the token from (HTTP header names are case-insensitive).
TOKEN_HEADER = "GRADIENT-TOKEN"

_REDACTED = "Credentials(vendor_key=<redacted>, partner_key=<redacted>)"


@dataclass(frozen=True, repr=False)
class Credentials:
    """The vendor API key and the partner API key of one vendor ↔ partner integration.

    Keys pasted from the Synthesize UI often carry stray whitespace, so both are stripped.
    A vendor key containing ``:`` would make the token ambiguous ("v:p" is split at the first
    colon), so it is refused. Error messages never quote the keys.
    """

    vendor_key: str
    partner_key: str
    # The token is computed once: it is read on every request of a 100k-row push.
    _token: str = field(init=False, compare=False, hash=False, default="")

    def __post_init__(self) -> None:
        vendor = self.vendor_key.strip() if isinstance(self.vendor_key, str) else None
        partner = self.partner_key.strip() if isinstance(self.partner_key, str) else None
        if not vendor:
            raise ValueError("The vendor API key is empty.")
        if not partner:
            raise ValueError("The partner API key is empty.")
        if ":" in vendor:
            raise ValueError("The vendor API key must not contain ':'.")
        object.__setattr__(self, "vendor_key", vendor)
        object.__setattr__(self, "partner_key", partner)
        raw = f"{vendor}:{partner}".encode()
        object.__setattr__(self, "_token", base64.b64encode(raw).decode("ascii"))

    def token(self) -> str:
        """Standard Base64 (with padding) of ``"<vendor_key>:<partner_key>"``."""
        return self._token

    def headers(self) -> dict[str, str]:
        """The authentication header to send on every request."""
        return {TOKEN_HEADER: self._token}

    def fingerprint(self) -> str:
        """A short, non-reversible id of these keys, safe for logs and cache keys."""
        return hashlib.sha256(self._token.encode()).hexdigest()[:12]

    def secrets(self) -> tuple[str, ...]:
        """Every string that must be scrubbed from text shown to users or logged."""
        return (self._token, self.vendor_key, self.partner_key)

    def __repr__(self) -> str:
        return _REDACTED

    __str__ = __repr__

    def __copy__(self) -> Credentials:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, object]) -> Credentials:
        return self

    def __reduce__(self) -> NoReturn:  # pragma: no cover - defensive
        # Pickling would write the keys to wherever the pickle goes (multiprocessing,
        # caches); secrets are passed explicitly instead.
        raise TypeError("Credentials cannot be pickled.")
