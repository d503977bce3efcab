"""Thread-safe call counters of a client, read as a frozen stats dataclass (``ClientStats``, ``ArmStats``)."""

from __future__ import annotations

import threading
from typing import Any, Generic, TypeVar

S = TypeVar("S")


class Counters(Generic[S]):
    """One counter per field of the dataclass ``stats``; fields ending in ``_s`` are seconds (floats),
    the others counts (ints)."""

    __slots__ = ("_lock", "_stats", "_values")

    def __init__(self, stats: type[S]) -> None:
        self._stats = stats
        self._lock = threading.Lock()
        self._values: dict[str, float] = dict.fromkeys(stats.__dataclass_fields__, 0)  # type: ignore[attr-defined]

    def add(self, **deltas: float) -> None:
        """Add to the named counters (KeyError for a name the stats type does not have)."""
        with self._lock:
            for name, delta in deltas.items():
                self._values[name] += delta

    def snapshot(self) -> S:
        with self._lock:
            v = dict(self._values)
        values: dict[str, Any] = {k: (float(x) if k.endswith("_s") else int(x)) for k, x in v.items()}
        return self._stats(**values)
