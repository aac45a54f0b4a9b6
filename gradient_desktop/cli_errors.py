"""One sentence for a storage fault met by a headless command (no traceback, exit code 2).

A locked database, a read-only or full disk, a data folder that is a symlink to /dev/null or to
nowhere: each must end a command with one line saying what to do. Counts are never lost by
such a stop: rows not yet acknowledged stay queued (or were never queued), and re-sending an
absolute total is harmless.
"""

from __future__ import annotations

import errno


def storage_message(exc: BaseException) -> str | None:
    """The sentence for ``exc`` when it is a storage fault, else None (a real bug: re-raise)."""
    from gradient_desktop.config import data_dir

    try:
        where = str(data_dir(ensure=False))
    except Exception:
        where = "the data folder"
    text = str(exc).lower()
    code = getattr(exc, "errno", None)
    tail = " Counts not yet acknowledged stay queued; run the command again once fixed."
    if code == errno.ENOSPC or "disk is full" in text or "database or disk is full" in text:
        return f"The disk holding {where} is full. Free some space.{tail}"
    if (
        code in (errno.EROFS, errno.EACCES, errno.EPERM)
        or "readonly" in text
        or "read-only" in text
    ):
        return f"{where} cannot be written (read-only disk or no permission).{tail}"
    if (
        code in (errno.ENOTDIR, errno.EEXIST, errno.ENOENT, errno.ELOOP)
        or "not a directory" in text
    ):
        return (
            f"The data folder {where} is not a usable folder (a file, or a link to nowhere or to "
            "a device). Remove it or point GRADIENT_DESKTOP_HOME elsewhere; nothing was sent."
        )
    if "database is locked" in text or "database is busy" in text:
        return (
            f"The database in {where} is locked by another program. Close it (a database "
            f"viewer, a backup tool) and run the command again.{tail}"
        )
    if "unable to open database" in text or "disk i/o error" in text:
        return f"The database in {where} cannot be opened or written ({exc}).{tail}"
    if isinstance(exc, OSError):
        return f"A file in {where} cannot be used: {exc.strerror or exc}.{tail}"
    return None


def is_storage_error(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return True
    name = type(exc).__name__
    return name in ("OperationalError", "DatabaseError") and storage_message(exc) is not None
