"""The lock contract shared by the blob-lease and file backends.

A lock is *finite*: every holder keeps it alive by renewing it from a background
thread, so a crashed or cancelled run frees it within one lease duration instead
of leaving it stuck (the Terraform-on-azurerm pain with infinite leases). A holder
that cannot renew is told through :attr:`HeldLock.lost` / :meth:`HeldLock.check`
and must stop writing, because another run may take the lock once it expires.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar

from reconcile.errors import ConfigError, LockHeldError
from reconcile.lock.info import LockInfo, held_error

log = logging.getLogger("reconcile.lock")

MIN_DURATION = 15.0
MAX_DURATION = 60.0
DEFAULT_DURATION = 30.0
DEFAULT_POLL = 2.0

H = TypeVar("H")


class LockLostError(LockHeldError):
    """The lock could not be renewed and may now belong to another run: stop writing."""


class LeaseGone(Exception):
    """Raised by a backend's renew when the lock is definitely no longer ours (broken, taken over)."""


@dataclass(frozen=True)
class Acquired(Generic[H]):
    """A backend's try-acquire succeeded; ``handle`` is what renew/release need."""

    handle: H
    info: LockInfo


@dataclass(frozen=True)
class Held:
    """A backend's try-acquire found the lock taken; ``holder`` is None when nothing is recorded."""

    holder: LockInfo | None


class Lock(ABC, Generic[H]):
    """One environment's apply lock.

    ``clock`` is wall-clock seconds (lock expiry and holder times are compared
    across processes); ``monotonic`` and ``sleep`` drive waiting and renewal
    bookkeeping. All three are injectable so tests need no real waiting.
    ``renew_every`` defaults to a third of ``duration``.
    """

    def __init__(
        self,
        environment: str,
        *,
        duration: float = DEFAULT_DURATION,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
        renew_every: float | None = None,
    ) -> None:
        if not MIN_DURATION <= duration <= MAX_DURATION:
            raise ConfigError(
                f"lock duration {duration:g} s is out of range",
                hint=f"use {MIN_DURATION:g}-{MAX_DURATION:g} seconds (default {DEFAULT_DURATION:g})",
            )
        self.environment = environment
        self.duration = float(duration)
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        # A third of the duration, so two renewals may fail before the lease expires.
        self.renew_every = float(renew_every) if renew_every is not None else self.duration / 3
        if not 0 < self.renew_every < self.duration:
            raise ConfigError(f"lock renewal interval {self.renew_every:g} s must be between 0 and the "
                              f"duration ({self.duration:g} s)", hint="leave it unset: a third of the duration")

    # --- public contract ---------------------------------------------------------

    def acquire(self, metadata: LockInfo, *, timeout: float = 0, poll: float = DEFAULT_POLL) -> "HeldLock[H]":
        """Take the lock, waiting up to ``timeout`` seconds (polling every ``poll`` s) if it is held.

        Returns a :class:`HeldLock` (a context manager) whose background thread renews
        the lock until it is released. Raises :class:`LockHeldError` naming the holder
        when the lock is still taken after ``timeout``; storage failures surface as the
        backend's classified errors (never a raw SDK exception).
        """
        start = self._monotonic()
        while True:
            stamped = metadata.with_acquired_at(self._now())
            outcome = self._try_acquire(stamped)
            if isinstance(outcome, Acquired):
                return HeldLock(self, outcome.handle, outcome.info)
            waited = self._monotonic() - start
            remaining = timeout - waited
            if remaining <= 0:
                raise held_error(outcome.holder, environment=self.environment, where=self.where(),
                                 waited=round(waited, 1), now=self._now())
            self._sleep(min(max(poll, 0.01), remaining))

    @abstractmethod
    def current(self) -> LockInfo | None:
        """The live holder, or None when the lock is free (an expired lock counts as free)."""

    @abstractmethod
    def break_lock(self) -> LockInfo | None:
        """Free the lock whoever holds it; return the holder it had, or None if it was free.

        Only for a holder known to be dead: the broken holder notices at its next
        renewal (its ``lost`` event is set) and stops writing.
        """

    @abstractmethod
    def where(self) -> str:
        """Where the lock lives (blob URL without credentials, or file path), for messages."""

    # --- backend hooks -------------------------------------------------------------

    @abstractmethod
    def _try_acquire(self, info: LockInfo) -> Acquired[H] | Held:
        """One attempt, no waiting."""

    @abstractmethod
    def _renew(self, handle: H) -> None:
        """Extend the lock; raise :class:`LeaseGone` if it is no longer ours, anything else if unsure."""

    @abstractmethod
    def _release(self, handle: H) -> None:
        """Free the lock if it is still ours; never free another holder's lock."""

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), timezone.utc)


class HeldLock(Generic[H]):
    """A lock this process holds. Use as a context manager; writers call :meth:`check` between writes."""

    def __init__(self, lock: Lock[H], handle: H, info: LockInfo) -> None:
        self.lock = lock
        self.info = info
        self.lost = threading.Event()
        self.lost_reason: str | None = None
        self.renewals = 0
        self._handle = handle
        self._stop = threading.Event()
        self._released = False
        self._state = threading.Lock()  # serializes renew vs release
        self._last_ok = lock._monotonic()
        self._thread = threading.Thread(
            target=self._renew_loop, name=f"lock-renew-{lock.environment}", daemon=True
        )
        self._thread.start()

    @property
    def interval(self) -> float:
        """Seconds between renewals (the lock's ``renew_every``)."""
        return self.lock.renew_every

    def check(self) -> None:
        """Raise :class:`LockLostError` if the lock was lost; call before each write."""
        if self.lost.is_set():
            raise LockLostError(
                f"the apply lock of environment '{self.lock.environment}' was lost "
                f"({self.lost_reason}); stopped before writing more (lock: {self.lock.where()})",
                hint="another run may hold it now; run plan again to see what is left to do",
            )

    def renew(self) -> None:
        """Renew once now (the background thread does this on its own); raises if the lock is lost."""
        with self._state:
            if not self._released and not self.lost.is_set():
                try:
                    self.lock._renew(self._handle)
                except LeaseGone as exc:
                    self._mark_lost(str(exc))
                else:
                    self.renewals += 1
                    self._last_ok = self.lock._monotonic()
        self.check()

    def release(self) -> None:
        """Stop renewing and free the lock. Idempotent.

        A failed release is logged, not raised: the lock then expires by itself
        within one duration, and raising here would hide the caller's own error.
        """
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        with self._state:
            if self._released:
                return
            self._released = True
            if self.lost.is_set():
                return
            try:
                self.lock._release(self._handle)
            except Exception as exc:  # noqa: BLE001 - see docstring
                log.warning("could not release the apply lock (%s); it expires within %g s", exc, self.lock.duration)

    def __enter__(self) -> "HeldLock[H]":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # --- renewal thread ------------------------------------------------------------

    def _renew_loop(self) -> None:
        wait = self.interval
        while not self._stop.wait(wait):
            wait = self.interval
            with self._state:
                if self._released or self.lost.is_set():
                    return
                try:
                    self.lock._renew(self._handle)
                except LeaseGone as exc:
                    self._mark_lost(str(exc))
                    return
                except Exception as exc:  # noqa: BLE001 - transient until the safety margin is used up
                    unrenewed = self.lock._monotonic() - self._last_ok
                    # Give up with a third of the duration left, so we stop writing before
                    # another run can possibly take the expired lock.
                    if unrenewed >= self.lock.duration * 2 / 3:
                        self._mark_lost(f"renewal failing for {unrenewed:.0f} s: {exc}")
                        return
                    log.warning("renewing the apply lock failed (%s); retrying", exc)
                    wait = min(self.interval, 1.0)
                else:
                    self.renewals += 1
                    self._last_ok = self.lock._monotonic()

    def _mark_lost(self, reason: str) -> None:
        self.lost_reason = reason
        self.lost.set()
        log.error("lost the apply lock of environment '%s': %s", self.lock.environment, reason)
