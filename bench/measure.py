"""Measuring helpers the bench scripts share (run as ``python bench/<script>.py``, so this folder is on
``sys.path``)."""

from __future__ import annotations

import resource


def peak_mib() -> float:
    """This process's peak resident memory in MiB (``VmHWM``; ``ru_maxrss`` where /proc is missing)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
