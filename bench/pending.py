"""Rows of issue #16 whose subject is not measured yet: printed as missed, with the reason.

A figure the issue asks for must never silently vanish from the table; while its benchmark is
not written (or its subject is being rebuilt by another change), it shows here as ``pending``.
"""

from __future__ import annotations

from .common import Config, Goal, Row

PENDING = [
    (
        "reconnect: reload 200 clients",
        "first load of the same 200 clients",
        "same as the first load (~1×); the reconnect path is being redesigned (#11): "
        "measured once that lands",
    ),
]


def bench(cfg: Config) -> list[Row]:
    return [
        Row(name, "pending", baseline, None, Goal("pending"), note=f"NOT MEASURED: {why}")
        for name, baseline, why in PENDING
    ]
