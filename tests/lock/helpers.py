"""Test doubles shared by the lock tests: a settable clock and a config stand-in."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from reconcile.lock import LockInfo


class FakeClock:
    """Wall/monotonic clock that only moves when the test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def info(who: str, env: str = "dev", **kw: str) -> LockInfo:
    return LockInfo(environment=env, who=who, **kw)


@dataclass(frozen=True)
class Storage:
    kind: str
    container: str | None = None
    connection_string_env: str | None = None
    account_url: str | None = None


@dataclass(frozen=True)
class Config:
    """The slice of ``reconcile.specs.config.EnvironmentConfig`` that ``lock_for`` reads."""

    name: str
    state_dir: Path
    storage: Storage = field(default_factory=lambda: Storage("local"))
    root: Path = Path(".")
    is_embedded: bool = True
