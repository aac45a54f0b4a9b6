"""Amounts of the usage editor: a count typed by a user in a service's unit (MB/GB/TB for
storage, with a suffix), shown back the same way, and bytes turned into the unit (§8)."""

from __future__ import annotations

import re

from gradient_desktop.services import csvio
from gradient_desktop.store.models import PartnerService, UnitType

#: vendor-api.md §8: binary divisors, decimal result, no rounding.
STORAGE_DIVISORS = {"MB": 2**20, "GB": 2**30, "TB": 2**40}
_AMOUNT = re.compile(r"^\s*([0-9][0-9,]*\.?[0-9]*|\.[0-9]+)\s*([a-zA-Z]*)\s*$")


class StagingError(ValueError):
    """An edit that cannot be staged; the message says why and what to do instead."""


def is_storage(service: PartnerService) -> bool:
    return service.unit_type == UnitType.BYTES.value and service.storage_unit in STORAGE_DIVISORS


def bytes_to_units(value: float, service: PartnerService) -> float:
    """Bytes → the service's storage unit (MB/GB/TB); other services are unchanged."""
    if is_storage(service):
        return value / STORAGE_DIVISORS[service.storage_unit or ""]
    return value


def format_amount(value: float | None, service: PartnerService | None = None) -> str:
    if value is None:
        return "—"
    text_ = csvio.format_count(round(value, 6))
    if service is not None and is_storage(service):
        return f"{text_} {service.storage_unit}"
    return text_


def parse_amount(raw: str, service: PartnerService) -> float:
    """A count typed by the user, in the service's unit. Storage services also take a suffix:
    ``B``/``bytes`` (converted per §8), ``MB``, ``GB`` or ``TB``. Decimals are allowed."""
    m = _AMOUNT.match(raw or "")
    if not m:
        raise StagingError(f"{raw!r} is not a number. Type a count such as 12 or 2.5.")
    number = float(m.group(1).replace(",", ""))
    suffix = m.group(2).upper()
    if not suffix:
        return number
    if not is_storage(service):
        raise StagingError(f"{service.name} counts units; type a plain number, not {raw!r}.")
    if suffix in ("B", "BYTE", "BYTES"):
        return bytes_to_units(number, service)
    if suffix in STORAGE_DIVISORS:
        return number * STORAGE_DIVISORS[suffix] / STORAGE_DIVISORS[service.storage_unit or ""]
    raise StagingError(f"Unknown unit {m.group(2)!r}: use B, MB, GB or TB.")
