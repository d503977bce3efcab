"""Emulated time.

Every lifecycle state is a pure function of ``clock.now()`` (unix seconds), so the
clock is the only thing that moves models and evaluations forward:

* :class:`ManualClock` for tests: time stands still until ``advance(seconds)``.
* :class:`SpeedClock` for users: ``speed`` emulated seconds pass per real second.
  Its anchor (real epoch, emulated epoch) is persisted by the store, so a restarted
  emulator continues the same timeline instead of jumping back.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

#: 2023-07-01T00:00:00Z: a fixed start keeps ManualClock runs reproducible.
MANUAL_EPOCH = 1688169600.0


@runtime_checkable
class Clock(Protocol):
    """Anything with ``now() -> float`` (unix seconds, emulated)."""

    def now(self) -> float: ...


class ManualClock:
    """A clock that moves only when told to. Thread-safe."""

    def __init__(self, start: float = MANUAL_EPOCH) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (>= 0) and return the new time."""
        if seconds < 0:
            raise ValueError("a clock only moves forward: seconds must be >= 0")
        with self._lock:
            self._now += float(seconds)
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now!r})"


class SpeedClock:
    """Emulated time running ``speed`` times faster than real time.

    ``now() = emulated_epoch + (time.time() - real_epoch) * speed``. Both epochs
    default to the real time of creation; :meth:`anchor` re-anchors it (used when a
    persisted timeline is resumed).
    """

    def __init__(self, speed: float, *, real_epoch: float | None = None, emulated_epoch: float | None = None) -> None:
        if not speed > 0:
            raise ValueError("speed must be > 0 (emulated seconds per real second)")
        now = time.time()
        self.speed = float(speed)
        self.real_epoch = now if real_epoch is None else float(real_epoch)
        self.emulated_epoch = self.real_epoch if emulated_epoch is None else float(emulated_epoch)

    def now(self) -> float:
        return self.emulated_epoch + (time.time() - self.real_epoch) * self.speed

    def anchor(self, real_epoch: float, emulated_epoch: float) -> None:
        """Continue a timeline that was at ``emulated_epoch`` at real time ``real_epoch``."""
        self.real_epoch = float(real_epoch)
        self.emulated_epoch = float(emulated_epoch)

    def advance(self, seconds: float) -> float:
        """Jump forward by ``seconds`` of emulated time (the admin surface uses this too)."""
        if seconds < 0:
            raise ValueError("a clock only moves forward: seconds must be >= 0")
        self.emulated_epoch += float(seconds)
        return self.now()

    def __repr__(self) -> str:
        return f"SpeedClock(speed={self.speed!r})"
