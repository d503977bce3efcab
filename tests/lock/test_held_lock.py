"""HeldLock's renewal thread: renewal keeps going, failures reach the holder."""

from __future__ import annotations

import threading

import pytest

from reconcile.lock import LockInfo, LockLostError
from reconcile.lock.base import Acquired, Held, LeaseGone, Lock
from tests.lock.helpers import FakeClock, info


class ScriptedLock(Lock[str]):
    """A backend whose renewals follow a script: "ok", "flaky" (transient error) or "gone"."""

    def __init__(self, script: list[str], then: str = "ok", **kw) -> None:
        super().__init__("dev", renew_every=0.01, **kw)
        self.script = list(script)
        self.then = then
        self.released = threading.Event()
        self.calls = 0
        self.handles: list[str] = []

    def current(self) -> LockInfo | None:
        return None

    def break_lock(self) -> LockInfo | None:
        return None

    def where(self) -> str:
        return "memory"

    def _try_acquire(self, info: LockInfo) -> Acquired[str] | Held:
        return Acquired("token", info)

    def _renew(self, handle: str) -> None:
        self.calls += 1
        self.handles.append(handle)
        step = self.script.pop(0) if self.script else self.then
        if step == "flaky":
            raise OSError("connection reset")
        if step == "gone":
            raise LeaseGone("the lease was broken")

    def _release(self, handle: str) -> None:
        self.released.set()


def wait_until(condition, timeout: float = 10.0) -> bool:
    done = threading.Event()
    deadline = threading.Timer(timeout, done.set)
    deadline.start()
    try:
        while not done.is_set():
            if condition():
                return True
            done.wait(0.005)
        return condition()
    finally:
        deadline.cancel()


def test_background_thread_renews_until_released() -> None:
    lock = ScriptedLock([])
    held = lock.acquire(info("alice@box"))
    assert wait_until(lambda: held.renewals >= 3)
    held.release()
    assert lock.released.is_set()
    count = lock.calls
    held.release()  # idempotent
    assert lock.calls == count and not held.lost.is_set()
    assert set(lock.handles) == {"token"}  # renews the lease it acquired, nothing else


def test_renew_after_release_touches_nothing() -> None:
    lock = ScriptedLock([], then="gone")  # renewing a freed lock would find it gone
    held = lock.acquire(info("alice@box"))
    held.release()
    count = lock.calls
    held.renew()  # no error: the lock was released, not lost
    assert lock.calls == count and not held.lost.is_set()


def test_a_manual_renewal_counts_and_restarts_the_failure_clock() -> None:
    mono = FakeClock(0.0)

    class ManualWorks(ScriptedLock):
        """The background thread's renewals fail; a renewal from the test's own thread works."""

        def _renew(self, handle: str) -> None:
            if threading.current_thread() is threading.main_thread():
                return
            super()._renew(handle)

    lock = ManualWorks([], then="flaky", monotonic=mono, duration=30)
    held = lock.acquire(info("alice@box"))
    mono.advance(15)
    held.renew()
    held.renew()
    assert held.renewals == 2
    mono.advance(19)  # 34 s since the start but 19 s since the last renewal: still held
    calls = lock.calls
    assert wait_until(lambda: lock.calls >= calls + 3)
    assert not held.lost.is_set()
    mono.advance(2)
    assert held.lost.wait(10)
    assert "renewal failing for 21 s" in held.lost_reason
    held.release()


def test_a_broken_lease_is_reported_at_once() -> None:
    lock = ScriptedLock(["gone"])
    held = lock.acquire(info("alice@box"))
    assert held.lost.wait(10)
    with pytest.raises(LockLostError, match="the lease was broken"):
        held.check()
    held.release()
    assert not lock.released.is_set()  # never release what is not ours


def test_transient_failures_are_retried_then_reported_before_expiry() -> None:
    mono = FakeClock(0.0)
    lock = ScriptedLock(["flaky", "ok"], then="flaky", monotonic=mono, duration=30)
    held = lock.acquire(info("alice@box"))
    # One flaky renewal then a good one: still held.
    assert wait_until(lambda: held.renewals >= 1)
    assert not held.lost.is_set()
    # Then failures while time runs out: lost once 2/3 of the duration passed without a renewal.
    mono.advance(19)
    assert wait_until(lambda: lock.calls >= 4)
    assert not held.lost.is_set()
    mono.advance(2)
    assert held.lost.wait(10)
    assert "renewal failing for 21 s" in held.lost_reason
    held.release()
