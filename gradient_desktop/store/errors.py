"""Errors of the local store; each message is a sentence the user can act on."""

from __future__ import annotations

from pathlib import Path


class StoreError(Exception):
    """Base class for problems with the local database or its lock."""


class DatabaseProblem(StoreError):
    """The database cannot be used as it is; a copy was set aside when ``backup_path`` is set.

    ``reason`` is one of ``"corrupt"``, ``"not_sqlite"``, ``"foreign"``, ``"newer_schema"``,
    ``"unreadable"``. The caller offers to start fresh with ``open_database(path,
    start_fresh=True)``; nothing is ever overwritten silently.
    """

    def __init__(
        self, message: str, *, path: Path, reason: str, backup_path: Path | None = None
    ) -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason
        self.backup_path = backup_path


class AlreadyRunning(StoreError):
    """Another Gradient Desktop process holds the single-instance lock."""

    def __init__(self, message: str, *, path: Path, pid: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.pid = pid
