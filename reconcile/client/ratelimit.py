"""Client-side pacing, so that we never cause a 429 ourselves.

The Vision resource allows 20 transactions per second on S1, resource-wide
(REFERENCE.md §5). A reconciler that fires requests from a thread pool would hit
that limit and then depend on retries; pacing every attempt through one bucket
shared by all threads of a client keeps us under it instead (gitops-anchors §2
item 10: "proactive throttling").

The bucket is a GCRA (generic cell rate algorithm), i.e. a token bucket kept as a
single "theoretical arrival time": ``burst`` requests may start at once, then one
every ``1 / rate`` seconds. In any window of ``W`` seconds at most
``burst + rate * W`` requests are granted. A grant is *reserved* under the lock
and waited for outside it, so concurrent callers are served in order and none
busy-waits. :meth:`TokenBucket.pause` pushes every later grant past a server's
``Retry-After`` so that all threads back off together.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """A thread-safe pacing bucket: ``rate`` grants per second, at most ``burst`` at once.

    ``monotonic`` and ``sleep`` are injectable so tests run on a virtual clock.
    Raises ``ValueError`` for a non-positive rate or a burst outside ``1..max(1, rate)``
    (a burst larger than one second's worth would defeat the purpose).
    """

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be > 0 requests per second, got {rate!r}")
        if not 1 <= burst <= max(1.0, rate):
            raise ValueError(f"burst must be between 1 and one second's worth ({max(1.0, rate):g}), got {burst!r}")
        self.rate = float(rate)
        self.burst = float(burst)
        self._interval = 1.0 / self.rate
        self._tolerance = (self.burst - 1.0) * self._interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tat = monotonic()  # theoretical arrival time of the next request

    def reserve(self) -> float:
        """Reserve the next grant; return how many seconds the caller must wait for it (>= 0)."""
        with self._lock:
            now = self._monotonic()
            tat = max(self._tat, now)
            grant = max(now, tat - self._tolerance)
            self._tat = tat + self._interval
            wait = grant - now
            # Float residue of tat arithmetic must not turn a free slot into a 1e-12 s sleep.
            return wait if wait > 1e-9 else 0.0

    def acquire(self) -> float:
        """Wait until a request may start; return the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        """Grant nothing for ``seconds`` from now, then resume at the steady rate (no burst)."""
        if seconds <= 0:
            return
        with self._lock:
            resume = self._monotonic() + seconds
            # The first grant after the pause lands at `resume`; later ones are spaced normally.
            self._tat = max(self._tat, resume + self._tolerance)

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate:g}, burst={self.burst:g})"
