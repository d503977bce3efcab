"""BlobLeaseLock against Azurite: a finite, renewed blob lease with the holder in its metadata."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from reconcile.errors import LockHeldError
from reconcile.lock import BlobLeaseLock, LockLostError, lock_for
from tests.lock.helpers import Config, Storage, info
from tests.lock.test_held_lock import wait_until

pytestmark = pytest.mark.azurite


@pytest.fixture
def container(azurite) -> str:
    return f"locks-{uuid.uuid4().hex[:12]}"


def lock_on(connection_string: str, container: str, **kw) -> BlobLeaseLock:
    from azure.storage.blob import ContainerClient

    return BlobLeaseLock(ContainerClient.from_connection_string(connection_string, container), "dev", **kw)


def make(azurite, container: str, **kw) -> BlobLeaseLock:
    return lock_on(azurite.connection_string, container, duration=15, **kw)


def raw_blob(azurite, container: str):
    from azure.storage.blob import BlobClient

    return BlobClient.from_connection_string(azurite.connection_string, container, ".vision-gitops/locks/dev.lock")


def test_acquire_records_the_holder_and_release_clears_it(azurite, container: str) -> None:
    lock = make(azurite, container)
    assert lock.current() is None  # no container yet: free
    holder = info("alice@box", fingerprint="fp-1", run_url="https://github.com/o/r/actions/runs/7")
    with lock.acquire(holder) as held:
        props = raw_blob(azurite, container).get_blob_properties()
        assert props.lease.state == "leased" and props.lease.duration == "fixed"
        assert props.metadata["who"] == "alice@box"
        assert props.metadata["run_url"] == "https://github.com/o/r/actions/runs/7"
        assert props.metadata["fingerprint"] == "fp-1"
        assert lock.current() == held.info
    props = raw_blob(azurite, container).get_blob_properties()
    assert props.lease.state == "available" and props.metadata == {}
    assert lock.current() is None


def test_second_acquirer_is_told_who_holds_it(azurite, container: str) -> None:
    first, second = make(azurite, container), make(azurite, container)
    with first.acquire(info("alice@box", fingerprint="fp-1", run_url="https://github.com/o/r/actions/runs/7")):
        with pytest.raises(LockHeldError) as caught:
            second.acquire(info("bob@ci"))
    text = str(caught.value)
    assert "held by alice@box since" in text
    assert "run https://github.com/o/r/actions/runs/7" in text and "plan fingerprint fp-1" in text
    assert "reconcile lock break --env dev" in text and "--lock-timeout" in text
    assert f"/{container}/.vision-gitops/locks/dev.lock" in text
    assert "AccountKey" not in text


def test_lock_timeout_waits_until_the_holder_releases(azurite, container: str) -> None:
    waiting, released = threading.Event(), threading.Event()

    def sleep(_seconds: float) -> None:
        waiting.set()
        assert released.wait(10)

    first, second = make(azurite, container), make(azurite, container, sleep=sleep)
    held_first = first.acquire(info("alice@box"))
    result: dict[str, object] = {}
    waiter = threading.Thread(target=lambda: result.update(held=second.acquire(info("bob@ci"), timeout=60, poll=1)))
    waiter.start()
    assert waiting.wait(10)
    held_first.release()
    released.set()
    waiter.join(20)
    assert result["held"].info.who == "bob@ci"
    assert first.current().who == "bob@ci"
    result["held"].release()


def test_break_frees_a_stuck_infinite_lease(azurite, container: str) -> None:
    # A lease taken by another tool (or an old version) with no expiry: the classic stuck lock.
    lock = make(azurite, container)
    lock.acquire(info("setup")).release()  # creates the container and the blob
    blob = raw_blob(azurite, container)
    blob.acquire_lease(lease_duration=-1)
    holder = lock.current()
    assert holder is not None and holder.who.startswith("unknown")
    with pytest.raises(LockHeldError, match="unknown"):
        lock.acquire(info("bob@ci"))
    assert lock.break_lock().who.startswith("unknown")
    assert lock.current() is None
    with lock.acquire(info("bob@ci")):
        assert lock.current().who == "bob@ci"
    assert lock.break_lock() is None


def test_a_broken_holder_notices_and_stops(azurite, container: str) -> None:
    lock, admin = make(azurite, container), make(azurite, container)
    held = lock.acquire(info("alice@box", fingerprint="fp-2"))
    broken = admin.break_lock()
    assert broken.who == "alice@box" and broken.fingerprint == "fp-2"
    with admin.acquire(info("bob@ci")):
        with pytest.raises(LockLostError):
            held.renew()
        held.release()  # must not free bob's lease
        assert admin.current().who == "bob@ci"


def test_two_concurrent_acquirers_exactly_one_wins(azurite, container: str) -> None:
    for round_ in range(5):
        barrier = threading.Barrier(2)
        outcomes: list[object] = []

        def contend(who: str) -> None:
            lock = make(azurite, container)
            barrier.wait()
            try:
                outcomes.append(lock.acquire(info(who)))
            except LockHeldError as exc:
                outcomes.append(exc)

        threads = [threading.Thread(target=contend, args=(f"w{i}-{round_}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        winners = [o for o in outcomes if not isinstance(o, Exception)]
        assert len(outcomes) == 2 and len(winners) == 1, outcomes
        winners[0].release()


def test_non_ascii_holder_round_trips(azurite, container: str) -> None:
    lock = make(azurite, container)
    with lock.acquire(info("jörg@büro")):
        assert lock.current().who == "jörg@büro"


def test_lock_for_azurite_config(azurite, container: str, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TEST_LOCK_CONN", azurite.connection_string)
    config = Config("dev", tmp_path, Storage("azurite", container=container, connection_string_env="TEST_LOCK_CONN"))
    lock = lock_for(config, duration=15)
    with lock.acquire(info("alice@box")):
        assert make(azurite, container).current().who == "alice@box"


@pytest.mark.slow
def test_renewal_keeps_the_lease_past_its_duration(azurite, container: str) -> None:
    """The one slow test (~16 s): a 15 s lease, renewed every 5 s by the background thread."""
    lock, other = make(azurite, container), make(azurite, container)
    start = time.monotonic()
    with lock.acquire(info("alice@box")) as held:
        assert wait_until(lambda: held.renewals >= 3 and time.monotonic() - start > 16, timeout=45)
        assert not held.lost.is_set()
        with pytest.raises(LockHeldError, match="alice@box"):
            other.acquire(info("bob@ci"))
        held.check()
    assert other.current() is None


def test_a_wrong_key_is_an_auth_error_without_the_key(azurite, container: str) -> None:
    from reconcile.errors import AuthError

    wrong_key = "d3Jvbmcta2V5LW5vdC10aGUtcmVhbC1vbmU="
    conn = azurite.connection_string.replace(azurite.connection_string.split("AccountKey=")[1].split(";")[0], wrong_key)
    lock = lock_on(conn, container, duration=15)
    with pytest.raises(AuthError) as caught:
        lock.acquire(info("alice@box"))
    assert wrong_key not in str(caught.value) and "lock blob" in str(caught.value)


def test_every_acquire_takes_a_finite_lease_also_when_the_blob_exists(azurite, container: str) -> None:
    # The first acquire creates the blob; later ones lease the existing blob. An infinite lease
    # there would outlive a cancelled CI job until someone broke it.
    lock = make(azurite, container)
    for who in ("first", "second"):
        with lock.acquire(info(who)):
            lease = raw_blob(azurite, container).get_blob_properties().lease
            assert (lease.state, lease.duration) == ("leased", "fixed"), who


def test_a_lease_being_broken_is_still_held_until_it_is_broken(azurite, container: str) -> None:
    from azure.storage.blob import BlobLeaseClient

    lock = make(azurite, container)
    held = lock.acquire(info("alice@box"))
    # Another tool breaks it slowly: the lease stays until the period (or the lease's own time) ends.
    BlobLeaseClient(raw_blob(azurite, container)).break_lease(lease_break_period=30)
    assert raw_blob(azurite, container).get_blob_properties().lease.state == "breaking"
    assert lock.current().who == "alice@box"
    with pytest.raises(LockHeldError, match="alice@box"):
        make(azurite, container).acquire(info("bob@ci"))
    assert lock.break_lock().who == "alice@box"
    assert lock.current() is None
    held.release()


def test_breaking_the_lock_clears_the_holder_record(azurite, container: str) -> None:
    lock = make(azurite, container)
    held = lock.acquire(info("alice@box"))
    assert lock.break_lock().who == "alice@box"
    assert raw_blob(azurite, container).get_blob_properties().metadata == {}
    held.release()  # broken: frees nothing and raises nothing
