"""Client-side pacing, so that we never cause a 429 ourselves.

The Vision resource allows 20 transactions per second on S1, resource-wide
(docs/service-api.md §5). A reconciler that fires requests from a thread pool would hit
that limit and then depend on retries; pacing every attempt through one bucket
shared by all threads of a client keeps us under it instead (gitops-anchors §2
item 10: "proactive throttling").

A classic token bucket: it holds at most ``burst`` tokens, refills at ``rate``
per second, and a request takes one. In any window of ``W`` seconds at most
``burst + rate * W`` requests start. The check is made at the moment a caller
actually proceeds, not when it started waiting: a thread that wakes late (a busy
CPU, the GIL) re-checks and cannot start together with the callers after it, so
late wakers never bunch up into a burst at the service. :meth:`TokenBucket.pause`
holds every caller back until a server's ``Retry-After`` has passed, and then
resumes at the steady rate without a burst.

:class:`MirroredBucket` is the same bucket used as our estimate of a *service's*
bucket (ARM's, :mod:`reconcile.client.arm`): any size, told what is left by the
service's answers, and refilling through a pause as the service's own does.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import ClassVar


class TokenBucket:
    """A thread-safe pacing bucket: ``rate`` grants per second, at most ``burst`` at once.

    ``monotonic`` and ``sleep`` are injectable so tests run on a virtual clock.
    Raises ``ValueError`` for a non-positive rate or a burst outside ``1..max(1, rate)``
    (a burst larger than one second's worth would defeat the purpose).
    """

    MAX_BURST_SECONDS: ClassVar[float] = 1.0
    """The largest burst allowed, in seconds' worth of ``rate`` (at least 1 token)."""

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
        if not 1 <= burst <= max(1.0, rate * self.MAX_BURST_SECONDS):
            raise ValueError(f"burst must be between 1 and one second's worth ({max(1.0, rate):g}), got {burst!r}")
        self.rate = float(rate)
        self.burst = float(burst)
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._last = monotonic()
        self._paused_until = float("-inf")
        self._granted = 0

    def _take(self) -> tuple[float, int]:
        """Take a token if one is there (return 0 and the grant's number), else return how long until one
        may be (and 0)."""
        with self._lock:
            now = self._monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if now < self._paused_until:
                return self._paused_until - now, 0
            # The tolerance absorbs float residue, so a due token is not missed by 1e-16.
            if self._tokens >= 1.0 - 1e-9:
                self._tokens -= 1.0
                self._granted += 1
                return 0.0, self._granted
            return (1.0 - self._tokens) / self.rate, 0

    def acquire(self) -> float:
        """Wait until a request may start; return the seconds waited."""
        return self.acquire_ticket()[0]

    def acquire_ticket(self) -> tuple[float, int]:
        """Like :meth:`acquire`, also returning the grant's ticket (its place among all grants so far)."""
        waited = 0.0
        while True:
            wait, ticket = self._take()
            if wait <= 0:
                return waited, ticket
            self._sleep(wait)
            waited += wait

    def pause(self, seconds: float) -> None:
        """Grant nothing for ``seconds`` from now, then resume at the steady rate (no burst)."""
        if seconds <= 0:
            return
        with self._lock:
            now = self._monotonic()
            resume = now + seconds
            if resume <= self._paused_until:
                return
            self._paused_until = resume
            # Refilling until `resume` must leave exactly one token: one grant, then 1/rate spacing.
            self._tokens = min(self._tokens, 1.0 - self.rate * seconds)
            self._last = now

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate:g}, burst={self.burst:g})"


class MirroredBucket(TokenBucket):
    """Our estimate of a bucket the service keeps (size ``burst``, refill ``rate`` per second).

    :meth:`acquire` waits only when the estimate (last reported remaining, plus refill
    since, minus calls sent since) is below one token, so we cause no 429 ourselves and
    do not slow down while there is room. Thread-safe; clock and sleep injectable.
    """

    MAX_BURST_SECONDS = math.inf  # the service sizes its bucket; we only mirror it

    def report(self, remaining: int, ticket: int | None = None) -> None:
        """The service says ``remaining`` tokens were left after the call holding ``ticket``: never believe
        we have more. Calls granted after that one may not have reached the service when it counted, so
        they are taken off what it reported (else concurrent callers overdraw the bucket and meet a 429)."""
        with self._lock:
            later = self._granted - ticket if ticket is not None else 0
            self._tokens = min(self._tokens, float(remaining) - later)

    def pause(self, seconds: float) -> None:
        """Grant nothing for ``seconds`` from now. The service's bucket refills meanwhile,
        so what it refilled may be spent at once when the pause ends."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._monotonic() + seconds)
            self._tokens = min(self._tokens, 0.0)

    def __repr__(self) -> str:
        return f"MirroredBucket(rate={self.rate:g}, burst={self.burst:g})"
