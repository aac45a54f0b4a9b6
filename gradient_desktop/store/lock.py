"""Single-instance lock: one Gradient Desktop per data folder.

Two copies writing the same outbox would send every pending row twice, so the app and the
CLI's write commands take an OS file lock on ``<data dir>/gradient-desktop.lock`` first. The
OS drops the lock when the process dies, so a crash never leaves a stale lock behind; the
file itself is left in place (deleting it would race with a starting second instance) and
only carries the owner's PID for the error message.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import TracebackType
from typing import Self

from gradient_desktop.store.errors import AlreadyRunning

if sys.platform == "win32":  # pragma: no cover - exercised on Windows CI only
    import msvcrt

    # Lock a byte past the PID text so another process can still read who holds the lock
    # (Windows byte-range locks are mandatory: a locked byte cannot even be read).
    _LOCK_OFFSET = 4096

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        # flock (not lockf/fcntl record locks): it belongs to the open file, so even a second
        # InstanceLock inside the same process is refused, and it is not shared across exec.
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class InstanceLock:
    """Exclusive, non-blocking lock on a file; ``acquire`` raises ``AlreadyRunning`` if taken."""

    def __init__(self, path: Path | str | None = None) -> None:
        if path is None:
            from gradient_desktop.config import lock_path

            path = lock_path()
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> Self:
        if self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(fd):
            owner = _read_pid(fd)
            os.close(fd)
            who = f" (process {owner})" if owner else ""
            raise AlreadyRunning(
                f"Gradient Desktop is already running{who} with the data folder "
                f"{self.path.parent}. Switch to that window, or close it and try again. To run a "
                "separate copy, point GRADIENT_DESKTOP_HOME at a different folder.",
                path=self.path,
                pid=owner,
            )
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __del__(self) -> None:
        # The OS frees the lock at exit anyway; this only tidies up a forgotten object.
        fd = getattr(self, "_fd", None)  # absent when __init__ failed (no data folder)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


def _read_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None
