"""Local persistence: the SQLite database, its tables, the push outbox and the instance lock."""

from gradient_desktop.store.db import SCHEMA_VERSION, Database, open_database
from gradient_desktop.store.errors import AlreadyRunning, DatabaseProblem, StoreError
from gradient_desktop.store.lock import InstanceLock
from gradient_desktop.store.outbox import Outbox
from gradient_desktop.store.outbox_rows import (
    EnqueueResult,
    HistoryPoint,
    OutboxItem,
    UnknownTotalError,
)

__all__ = [
    "SCHEMA_VERSION",
    "AlreadyRunning",
    "Database",
    "DatabaseProblem",
    "EnqueueResult",
    "HistoryPoint",
    "InstanceLock",
    "Outbox",
    "OutboxItem",
    "StoreError",
    "UnknownTotalError",
    "open_database",
]
