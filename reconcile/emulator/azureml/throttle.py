"""ARM's request throttling: token buckets per (principal, operation kind) (REFERENCE §7).

Since 2024 ARM meters each principal with one bucket per kind: reads (250, refilling
25/s), writes (200, 10/s) and deletes (200, 10/s). Every answer carries the
remaining budget in ``x-ms-ratelimit-remaining-subscription-<kind>``; an empty
bucket answers 429 with ``Retry-After``. Buckets run on real (monotonic) time: they
meter the client's request rate, which the emulated clock has nothing to do with.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

READS, WRITES, DELETES = "reads", "writes", "deletes"


@dataclass(frozen=True, slots=True)
class BucketSize:
    capacity: float
    refill_per_second: float


@dataclass(frozen=True, slots=True)
class ThrottleConfig:
    """Bucket sizes per operation kind; ``enabled=False`` meters (headers) without refusing."""

    reads: BucketSize = BucketSize(250, 25)
    writes: BucketSize = BucketSize(200, 10)
    deletes: BucketSize = BucketSize(200, 10)
    enabled: bool = True

    def size(self, kind: str) -> BucketSize:
        return {READS: self.reads, WRITES: self.writes, DELETES: self.deletes}[kind]


def kind_of(method: str) -> str:
    """ARM counts GET/HEAD as reads, DELETE as deletes, and every other verb (PUT, PATCH, POST) as writes."""
    method = method.upper()
    if method in ("GET", "HEAD"):
        return READS
    if method == "DELETE":
        return DELETES
    return WRITES


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    remaining: int
    retry_after: int = 0
    """Whole seconds until one token is back (only when refused)."""


class _Bucket:
    __slots__ = ("tokens", "stamp")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp


class Throttle:
    """Thread-safe buckets keyed by (principal, kind); ``now`` is injectable for tests."""

    def __init__(self, config: ThrottleConfig | None = None, now: Callable[[], float] = time.monotonic) -> None:
        self.config = config or ThrottleConfig()
        self._now = now
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()
        self.refused = 0
        """How many requests were answered 429 by the buckets (benchmarks read it)."""

    def take(self, principal: str, kind: str) -> Verdict:
        size = self.config.size(kind)
        now = self._now()
        with self._lock:
            bucket = self._buckets.get((principal, kind))
            if bucket is None:
                bucket = self._buckets[(principal, kind)] = _Bucket(size.capacity, now)
            bucket.tokens = min(size.capacity, bucket.tokens + (now - bucket.stamp) * size.refill_per_second)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return Verdict(True, int(bucket.tokens))
            if not self.config.enabled:
                return Verdict(True, 0)
            self.refused += 1
            wait = (1.0 - bucket.tokens) / size.refill_per_second
            return Verdict(False, 0, max(1, math.ceil(wait)))

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
            self.refused = 0
