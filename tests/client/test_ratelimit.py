"""The client-side token bucket: never more than the limit in any window, shared by threads."""

from __future__ import annotations

import bisect
import random
import threading

import httpx
import pytest

from reconcile.client.http import PACING_FRACTION
from reconcile.client.ratelimit import MirroredBucket, TokenBucket
from reconcile.errors import ConfigError, RateLimitedError
from tests.client.fakes import Script, VirtualClock, error, make_client


def max_in_window(times: list[float], window: float) -> int:
    """The largest number of ``times`` inside any half-open window ``[t, t + window)``."""
    times = sorted(times)
    return max(bisect.bisect_left(times, t + window - 1e-9) - i for i, t in enumerate(times))


def grant_times(bucket: TokenBucket, clock: VirtualClock, n: int) -> list[float]:
    out = []
    for _ in range(n):
        bucket.acquire()
        out.append(clock.now)
    return out


@pytest.mark.parametrize(("rate", "burst"), [(20.0, 1.0), (20.0, 5.0), (20.0, 20.0), (3.5, 2.0), (100.0, 1.0)])
def test_no_window_exceeds_burst_plus_rate(rate: float, burst: float) -> None:
    clock = VirtualClock()
    bucket = TokenBucket(rate, burst, monotonic=clock.monotonic, sleep=clock.sleep)
    times = grant_times(bucket, clock, 500)
    for window in (0.1, 0.5, 1.0, 3.0):
        assert max_in_window(times, window) <= burst + rate * window + 1e-6
    # Sustained rate: 500 grants take (500 - burst) / rate seconds.
    assert times[-1] - times[0] == pytest.approx((500 - burst) / rate)


def test_idle_time_refills_at_most_the_burst() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(10.0, 3.0, monotonic=clock.monotonic, sleep=clock.sleep)
    grant_times(bucket, clock, 10)
    clock.now += 3600.0  # an hour idle
    start = clock.now
    times = grant_times(bucket, clock, 6)
    assert times[:3] == pytest.approx([start] * 3)
    assert times[3:] == pytest.approx([start + 0.1, start + 0.2, start + 0.3])


def test_pause_holds_every_grant_then_resumes_without_burst() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(10.0, 5.0, monotonic=clock.monotonic, sleep=clock.sleep)
    start = clock.now
    bucket.pause(2.0)
    times = grant_times(bucket, clock, 3)
    assert times == pytest.approx([start + 2.0, start + 2.1, start + 2.2])


class SharedVirtualClock:
    """Virtual time for many threads.

    ``sleep(s)`` moves time to at least ``seen + s * factor``, where ``seen`` is the
    time this thread last read and ``factor`` (from ``oversleep``) >= 1 simulates
    threads that wake up late on a busy machine.
    """

    def __init__(self, oversleep: float = 1.0, seed: int = 0) -> None:
        self.now = 0.0
        self.lock = threading.Lock()
        self.seen = threading.local()
        self.oversleep = oversleep
        self.rng = random.Random(seed)

    def monotonic(self) -> float:
        with self.lock:
            self.seen.t = self.now
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            factor = self.rng.uniform(1.0, self.oversleep)
            self.now = max(self.now, getattr(self.seen, "t", self.now) + seconds * factor)


@pytest.mark.parametrize(("burst", "oversleep"), [(1.0, 1.0), (4.0, 1.0), (1.0, 8.0), (4.0, 8.0)])
def test_threads_share_one_limit(burst: float, oversleep: float) -> None:
    clock = SharedVirtualClock(oversleep=oversleep, seed=3)
    bucket = TokenBucket(20.0, burst, monotonic=clock.monotonic, sleep=clock.sleep)
    granted: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            bucket.acquire()
            with lock:
                granted.append(clock.now)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 400
    # Late wakers never bunch up: the window bound holds however late threads wake.
    for window in (0.25, 1.0, 5.0):
        assert max_in_window(granted, window) <= burst + 20.0 * window + 1e-6
    if oversleep == 1.0:
        # The limit is used, not just respected: 400 grants need about (400 - burst) / 20 s.
        assert max(granted) == pytest.approx((400 - burst) / 20.0, rel=0.05)


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (20, 0.5), (20, 21), (0.5, 2)])
def test_invalid_bucket(rate: float, burst: float) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)


def test_client_paces_requests_under_the_service_limit() -> None:
    # N calls in T virtual seconds never exceed rate_limit_tps in any 1-second window.
    clock = VirtualClock()
    sent: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(clock.now)
        return httpx.Response(200, json={})

    client = make_client(Script([handler]), clock, rate_limit_tps=20.0, rate_limit_burst=1.0)
    with client:
        for i in range(200):
            client.get(f"datasets/d{i}")
        stats = client.stats
    assert max_in_window(sent, 1.0) <= 20
    assert max_in_window(sent, 1.0) >= int(20 * PACING_FRACTION)  # and does not crawl
    assert stats.throttled_waits == 199
    assert stats.throttle_wait_s == pytest.approx(199 / (20 * PACING_FRACTION))


def test_server_429_with_retry_after_pauses_the_whole_client() -> None:
    # Call a gives up at once (max_retries=0); call b, e.g. from another thread, must still
    # wait out the server's Retry-After because the bucket is shared.
    clock = VirtualClock()
    sent: list[float] = []
    answers = iter([error(429, retry_after="4")])

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(clock.now)
        return next(answers, httpx.Response(200, json={}))

    with make_client(Script([handler]), clock, max_retries=0) as client:
        with pytest.raises(RateLimitedError):
            client.get("datasets/a")
        client.get("datasets/b")
        stats = client.stats
    assert sent[1] - sent[0] == pytest.approx(4.0)
    assert stats.throttled_waits == 1 and stats.retries == 0


def test_client_rejects_bad_rate() -> None:
    with pytest.raises(ConfigError):
        make_client(Script([httpx.Response(200)]), rate_limit_tps=0)
    with pytest.raises(ConfigError):
        make_client(Script([httpx.Response(200)]), rate_limit_burst=0.2)


def test_a_mirrored_bucket_believes_the_service_and_refills_through_a_pause() -> None:
    # ARM's reads bucket: 250 tokens, 25 per second; sizes past one second's worth are allowed.
    clock = VirtualClock()
    bucket = MirroredBucket(25.0, 250.0, monotonic=clock.monotonic, sleep=clock.sleep)
    start = clock.now
    bucket.report(2)  # the service says two calls are left
    assert grant_times(bucket, clock, 3) == pytest.approx([start, start, start + 0.04])
    bucket.pause(2.0)  # a 429: nothing for 2 s; the service's bucket refills 50 tokens meanwhile
    times = grant_times(bucket, clock, 51)
    assert times[0] == pytest.approx(start + 2.04)
    assert times[49] == pytest.approx(start + 2.04) and times[50] > times[49]
