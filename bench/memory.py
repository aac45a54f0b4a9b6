"""A child process's own peak resident memory.

``ru_maxrss`` (from ``getrusage`` or the parent's ``wait4``) is wrong for a benchmark child on
Linux: ``subprocess`` starts children with ``vfork`` + ``exec``, and the kernel carries the
parent's high-water mark over the ``exec`` (``setmax_mm_hiwater_rss``), so every child of a
bench process that had grown to 220 MB (after the grid benchmark) reported at least 220 MB,
the bare baseline too. ``VmHWM`` in ``/proc/self/status`` is the high-water mark of the
process's own address space, made new at ``exec``. Where there is no ``/proc`` (macOS),
``ru_maxrss`` is the best there is (bytes there, KiB on Linux).
"""

from __future__ import annotations

import sys


def own_peak_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024
