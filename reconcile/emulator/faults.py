"""Fault injection: latency, a TPS rate limit, error answers and dropped connections.

All off by default. Decisions are reproducible: request number ``n`` (counted from
the last :meth:`FaultInjector.reset`) draws from ``random.Random(f"{seed}:{n}")``,
so the same seed and the same request sequence give the same faults.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class FaultConfig:
    """Mutable fault settings; change them on a running server (``srv.faults.error_rate = 0.2``)."""

    latency_ms: float = 0.0
    """Added to every API answer."""
    tps_limit: float | None = None
    """Transactions per second above which the gateway answers 429 (the S1 tier allows 20)."""
    error_rate: float = 0.0
    """Share of requests answered with one of ``error_statuses`` instead of being handled."""
    error_statuses: tuple[int, ...] = field(default=(429, 500, 503))
    drop_before_rate: float = 0.0
    """Share of requests whose connection is closed before anything is done."""
    drop_after_rate: float = 0.0
    """Share of requests handled (writes committed) whose connection is then closed without an answer."""
    seed: int = 0
    retry_after_seconds: int = 1
    """Retry-After sent with injected 429/503 answers."""

    def validate(self) -> "FaultConfig":
        """Raise ``ValueError`` naming the first bad setting; return self."""
        for name in ("error_rate", "drop_before_rate", "drop_after_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1 (got {value})")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        if self.tps_limit is not None and self.tps_limit <= 0:
            raise ValueError("tps_limit must be > 0 (or unset)")
        bad = [s for s in self.error_statuses if s not in (429, 500, 502, 503, 504)]
        if bad or not self.error_statuses:
            raise ValueError("error_statuses must be a non-empty subset of 429, 500, 502, 503, 504")
        return self

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["error_statuses"] = list(self.error_statuses)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FaultConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        values = dict(data)
        if "error_statuses" in values:
            values["error_statuses"] = tuple(int(s) for s in values["error_statuses"])
        return cls(**values).validate()


@dataclass(frozen=True, slots=True)
class Decision:
    rate_limited_for: int | None = None
    """Seconds to tell a rate-limited client to wait (``None``: not rate limited)."""
    error_status: int | None = None
    drop_before: bool = False
    drop_after: bool = False
    latency: float = 0.0


class FaultInjector:
    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = config or FaultConfig()
        self._lock = threading.Lock()
        self._n = 0
        self._window = 0
        self._window_count = 0

    def reset(self) -> None:
        with self._lock:
            self._n = 0
            self._window_count = 0

    def decide(self) -> Decision:
        c = self.config
        with self._lock:
            if c.tps_limit is not None:
                now = time.monotonic()
                window = math.floor(now)
                if window != self._window:
                    self._window, self._window_count = window, 0
                if self._window_count >= c.tps_limit:
                    return Decision(rate_limited_for=max(1, math.ceil(window + 1 - now)))
                self._window_count += 1
            if not (c.error_rate or c.drop_before_rate or c.drop_after_rate):
                return Decision(latency=c.latency_ms / 1000.0)
            n = self._n
            self._n += 1
        rng = random.Random(f"{c.seed}:{n}")
        r_error, r_before, r_after, r_status = rng.random(), rng.random(), rng.random(), rng.random()
        if r_before < c.drop_before_rate:
            return Decision(drop_before=True, latency=c.latency_ms / 1000.0)
        if r_error < c.error_rate:
            status = c.error_statuses[int(r_status * len(c.error_statuses)) % len(c.error_statuses)]
            return Decision(error_status=status, latency=c.latency_ms / 1000.0)
        return Decision(drop_after=r_after < c.drop_after_rate, latency=c.latency_ms / 1000.0)
