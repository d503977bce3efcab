"""FileLock: the embedded default's expiring lock file, driven by an injected clock."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from reconcile.errors import ConfigError, LockHeldError
from reconcile.lock import FileLock, LockInfo, LockLostError
from tests.lock.helpers import FakeClock, info


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make(tmp_path: Path, clock: FakeClock, **kw) -> FileLock:
    return FileLock(tmp_path / "locks", "dev", duration=30, clock=clock, **kw)


def test_acquire_writes_holder_and_release_frees(tmp_path: Path, clock: FakeClock) -> None:
    lock = make(tmp_path, clock)
    assert lock.current() is None
    with lock.acquire(info("alice@box", fingerprint="fp-1", run_url="https://gh/o/r/actions/runs/7")) as held:
        on_disk = json.loads(lock.path.read_text())
        assert on_disk["holder"]["who"] == "alice@box"
        assert on_disk["holder"]["fingerprint"] == "fp-1"
        assert on_disk["holder"]["acquired_at"] == "2027-01-15T08:00:00Z"
        assert on_disk["expires_at"] == clock() + 30
        assert lock.current() == held.info
        assert held.info.run_url == "https://gh/o/r/actions/runs/7"
    assert not lock.path.exists()
    assert lock.current() is None


def test_second_acquirer_is_told_who_holds_it(tmp_path: Path, clock: FakeClock) -> None:
    first, second = make(tmp_path, clock), make(tmp_path, clock)
    with first.acquire(info("alice@box", fingerprint="fp-1", run_url="https://gh/o/r/actions/runs/7")) as held:
        for _ in range(6):  # two minutes, renewed as the background thread would
            clock.advance(20)
            held.renew()
        clock.advance(5)
        with pytest.raises(LockHeldError) as caught:
            second.acquire(info("bob@ci"))
    text = str(caught.value)
    assert "alice@box since 2027-01-15T08:00:00Z (2 min ago)" in text
    assert "run https://gh/o/r/actions/runs/7" in text
    assert "plan fingerprint fp-1" in text
    assert "--lock-timeout" in text and "reconcile lock break --env dev --yes" in text
    assert str(first.path) in text


def test_lock_timeout_waits_until_the_holder_releases(tmp_path: Path, clock: FakeClock) -> None:
    waiting, released = threading.Event(), threading.Event()

    def sleep(_seconds: float) -> None:
        waiting.set()
        assert released.wait(10), "the first holder never released"

    first, second = make(tmp_path, clock), make(tmp_path, clock, sleep=sleep)
    held_first = first.acquire(info("alice@box"))
    result: dict[str, object] = {}

    def wait_for_lock() -> None:
        try:
            result["held"] = second.acquire(info("bob@ci"), timeout=60, poll=1)
        except Exception as exc:  # noqa: BLE001 - reported below
            result["error"] = exc

    waiter = threading.Thread(target=wait_for_lock)
    waiter.start()
    assert waiting.wait(10), "the second acquirer never started waiting"
    held_first.release()
    released.set()
    waiter.join(10)
    assert "error" not in result, result.get("error")
    held = result["held"]
    assert held.info.who == "bob@ci"
    assert first.current().who == "bob@ci"
    held.release()


def test_lock_timeout_gives_up_with_the_holder_named(tmp_path: Path, clock: FakeClock) -> None:
    mono = FakeClock(0.0)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        mono.advance(seconds)

    first = make(tmp_path, clock)
    second = make(tmp_path, clock, monotonic=mono, sleep=sleep)
    with first.acquire(info("alice@box")):
        with pytest.raises(LockHeldError) as caught:
            second.acquire(info("bob@ci"), timeout=5, poll=2)
    assert slept == [2, 2, 1]
    assert "still held after waiting 5 s" in str(caught.value)
    assert "alice@box" in str(caught.value)


def test_crashed_holder_expires_and_is_taken_over_only_after_expiry(tmp_path: Path, clock: FakeClock) -> None:
    crashed, other = make(tmp_path, clock), make(tmp_path, clock)
    dead = crashed.acquire(info("alice@box"))  # its renewal thread waits 10 real seconds: never renews here
    clock.advance(29)
    with pytest.raises(LockHeldError):
        other.acquire(info("bob@ci"))
    clock.advance(1)  # now exactly at expires_at
    assert other.current() is None
    taken = other.acquire(info("bob@ci"))
    assert other.current().who == "bob@ci"

    # The old holder finds out at its next renewal and must not touch the new holder's lock.
    with pytest.raises(LockLostError) as caught:
        dead.renew()
    assert "bob@ci" in str(caught.value)
    assert dead.lost.is_set()
    dead.release()
    assert other.current().who == "bob@ci"
    taken.release()
    assert other.current() is None


def test_renew_pushes_expiry_forward(tmp_path: Path, clock: FakeClock) -> None:
    lock, other = make(tmp_path, clock), make(tmp_path, clock)
    with lock.acquire(info("alice@box")) as held:
        clock.advance(20)
        held.renew()
        clock.advance(20)  # 40 s after acquiring, 20 s after the renewal
        with pytest.raises(LockHeldError):
            other.acquire(info("bob@ci"))
        assert held.renewals == 1
        held.check()


def test_break_frees_a_stuck_lock_and_the_holder_notices(tmp_path: Path, clock: FakeClock) -> None:
    stuck, admin = make(tmp_path, clock), make(tmp_path, clock)
    held = stuck.acquire(info("alice@box", fingerprint="fp-9"))
    broken = admin.break_lock()
    assert broken is not None and broken.who == "alice@box" and broken.fingerprint == "fp-9"
    assert admin.current() is None
    with pytest.raises(LockLostError, match="removed"):
        held.renew()
    held.release()  # a lost lock is not released again
    with admin.acquire(info("bob@ci")):
        assert admin.current().who == "bob@ci"
    assert admin.break_lock() is None  # free now


def test_two_concurrent_acquirers_exactly_one_wins(tmp_path: Path, clock: FakeClock) -> None:
    for round_ in range(20):
        barrier = threading.Barrier(2)
        outcomes: list[object] = []

        def contend(who: str) -> None:
            lock = FileLock(tmp_path / "locks", "dev", clock=clock)
            barrier.wait()
            try:
                outcomes.append(lock.acquire(info(who)))
            except LockHeldError as exc:
                outcomes.append(exc)

        threads = [threading.Thread(target=contend, args=(f"w{i}-{round_}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        winners = [o for o in outcomes if not isinstance(o, Exception)]
        assert len(outcomes) == 2 and len(winners) == 1, outcomes
        winners[0].release()


@pytest.mark.parametrize("content", ["not json", "[" * 100_000 + "]" * 100_000, "{" + " " * 70_000 + "}"])
def test_unreadable_lock_file_is_held_by_unknown_until_broken(tmp_path: Path, clock: FakeClock, content: str) -> None:
    lock = make(tmp_path, clock)
    lock.path.parent.mkdir(parents=True)
    lock.path.write_text(content)  # garbage, nested too deep, over lockRecordBytes
    with pytest.raises(LockHeldError, match="unreadable lock file"):
        lock.acquire(info("bob@ci"))
    assert lock.break_lock().who.startswith("unknown")
    lock.acquire(info("bob@ci")).release()


def test_environment_name_and_duration_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot name a lock file"):
        FileLock(tmp_path, "../prod")
    with pytest.raises(ConfigError, match="15-60"):
        FileLock(tmp_path, "dev", duration=300)
    assert FileLock(tmp_path, "dev", duration=15).duration == 15  # both ends of the range are allowed
    assert FileLock(tmp_path, "dev", duration=60).duration == 60
    # Renewing no sooner than the lease lasts would let it lapse between renewals.
    for every in (0, 30):
        with pytest.raises(ConfigError, match="renewal interval"):
            FileLock(tmp_path, "dev", duration=30, renew_every=every)


def test_lock_info_for_current_run_on_github_actions() -> None:
    env = {"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "octocat", "GITHUB_SERVER_URL": "https://github.com",
           "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "42"}
    got = LockInfo.for_current_run("prod", fingerprint="fp", environ=env)
    assert got.who == "github:octocat"
    assert got.run_url == "https://github.com/o/r/actions/runs/42"
    assert LockInfo.from_dict(got.to_dict(), environment="x") == got
    local = LockInfo.for_current_run("dev", environ={})
    assert "@" in local.who and local.run_url is None


def test_a_late_release_by_a_broken_holder_leaves_the_new_holder_alone(tmp_path: Path, clock: FakeClock) -> None:
    first, second = make(tmp_path, clock), make(tmp_path, clock)
    stale = first.acquire(info("alice@box"))
    first.break_lock()
    with second.acquire(info("bob@ci")):
        stale.release()  # alice never renewed, so she does not know yet: her release must not free bob's lock
        holder = first.current()
        assert holder is not None and holder.who == "bob@ci"
