"""Retry, backoff, Retry-After, deadline and write-ambiguity behaviour of VisionClient."""

from __future__ import annotations

import random
from email.utils import format_datetime
from datetime import datetime, timezone

import httpx
import pytest

from reconcile.client.retry import RetryPolicy, parse_retry_after
from reconcile.errors import (
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    RateLimitedError,
    ReconcileError,
    ServiceUnavailableError,
)
from tests.client.fakes import MaxRandom, Script, VirtualClock, error, make_client

OK = httpx.Response(200, json={"name": "d1"})
CREATED = httpx.Response(201, json={"name": "d1"})


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_status_is_retried_then_succeeds(status: int) -> None:
    script = Script([error(status), error(status), OK])
    with make_client(script) as client:
        assert client.get("datasets/d1") == {"name": "d1"}
        assert len(script.requests) == 3
        assert client.stats.retries == 2
        assert client.stats.requests == 3
        assert client.stats.calls == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 412, 422, 501])
def test_other_statuses_are_not_retried(status: int) -> None:
    script = Script([error(status), OK])
    with make_client(script) as client, pytest.raises(ReconcileError):
        client.get("datasets/d1")
    assert len(script.requests) == 1


def test_backoff_is_exponential_full_jitter_capped() -> None:
    # An rng that always returns the upper bound exposes the ceilings: base * 2**(n-1), capped.
    clock = VirtualClock()
    script = Script([error(503)])
    client = make_client(script, clock, rng=MaxRandom(), max_retries=6, backoff_base=0.5, backoff_cap=8.0)
    with client, pytest.raises(ServiceUnavailableError) as info:
        client.get("datasets/d1")
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert len(script.requests) == 7
    assert info.value.attempts == 7
    assert info.value.status == 503


def test_jitter_draws_uniformly_below_the_ceiling() -> None:
    clock = VirtualClock()
    client = make_client(Script([error(500)]), clock, rng=random.Random(42), max_retries=6)
    with client, pytest.raises(ServiceUnavailableError):
        client.get("datasets/d1")
    expected_rng = random.Random(42)
    expected = [expected_rng.uniform(0, min(8.0, 0.5 * 2 ** n)) for n in range(6)]
    assert clock.sleeps == pytest.approx(expected)
    ceilings = [0.5, 1, 2, 4, 8, 8]
    assert all(0 <= w <= c for w, c in zip(clock.sleeps, ceilings, strict=True))
    # Jitter, not a fixed schedule: the waits are not the ceilings.
    assert clock.sleeps != ceilings


def test_retry_after_seconds_is_honoured() -> None:
    clock = VirtualClock()
    script = Script([error(429, "429", "Rate limit is exceeded.", retry_after="3"), OK])
    with make_client(script, clock) as client:
        client.get("datasets/d1")
    # The retry wait is exactly Retry-After; the paused bucket adds no second wait.
    assert clock.sleeps == [3.0]


def test_retry_after_http_date_is_relative_to_wallclock() -> None:
    clock = VirtualClock()
    when = datetime.fromtimestamp(1_700_000_000 + 5, tz=timezone.utc)
    script = Script([error(503, retry_after=format_datetime(when, usegmt=True)), OK])
    with make_client(script, clock, wallclock=lambda: 1_700_000_000.0) as client:
        client.get("datasets/d1")
    assert clock.sleeps == [5.0]


def test_retry_after_is_capped() -> None:
    clock = VirtualClock()
    script = Script([error(429, retry_after="3600"), OK])
    with make_client(script, clock, max_retry_after=20.0) as client:
        client.get("datasets/d1")
    assert clock.sleeps == [20.0]


def test_apim_try_again_message_is_a_retry_hint() -> None:
    clock = VirtualClock()
    script = Script([error(429, "429", "Rate limit is exceeded. Try again in 2 seconds."), OK])
    with make_client(script, clock) as client:
        client.get("datasets/d1")
    assert clock.sleeps == [2.0]


def test_429_exhausted_raises_rate_limited_with_retry_after() -> None:
    script = Script([error(429, "429", "slow down", retry_after="1")])
    with make_client(script, max_retries=2) as client, pytest.raises(RateLimitedError) as info:
        client.get("datasets/d1")
    assert info.value.retry_after == 1.0
    assert info.value.attempts == 3
    assert client.stats.responses_429 == 3


def test_deadline_stops_retrying_before_waiting_past_it() -> None:
    clock = VirtualClock()
    script = Script([error(503, retry_after="10")])
    with make_client(script, clock, deadline=25.0, max_retries=50) as client:
        with pytest.raises(ServiceUnavailableError) as info:
            client.get("datasets/d1")
    # 10 + 10 = 20 s elapsed; a third wait would end at 30 s > 25 s, so it gives up.
    assert clock.sleeps == [10.0, 10.0]
    assert info.value.attempts == 3


def test_zero_retries_means_one_attempt() -> None:
    script = Script([error(503), OK])
    with make_client(script, max_retries=0) as client, pytest.raises(ServiceUnavailableError):
        client.get("datasets/d1")
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
    ],
)
def test_transport_failures_are_retried(exc: Exception) -> None:
    script = Script([exc, OK])
    with make_client(script) as client:
        assert client.get("datasets/d1") == {"name": "d1"}
        assert client.stats.transport_errors == 1


def test_transport_failure_exhausted_is_service_unavailable() -> None:
    script = Script([httpx.ReadTimeout("read timed out")])
    with make_client(script, max_retries=1) as client, pytest.raises(ServiceUnavailableError) as info:
        client.get("datasets/d1")
    assert "timed out" in str(info.value)
    assert info.value.status is None
    assert info.value.__cause__ is None


def test_request_id_is_stable_across_retries_and_new_per_call() -> None:
    script = Script([error(503), OK, OK])
    with make_client(script) as client:
        client.get("datasets/d1")
        client.get("datasets/d1")
    ids = [r.headers["x-ms-client-request-id"] for r in script.requests]
    assert ids[0] == ids[1]
    assert ids[2] != ids[0]


# --- writes: retried, and ambiguity reported to the caller ----------------------------


def test_retried_create_that_answers_409_is_marked_ambiguous() -> None:
    # First PUT reached the service but the response was lost; the retry sees the name taken.
    script = Script([httpx.ReadTimeout("lost"), error(409, "DatasetAlreadyExists")])
    with make_client(script) as client, pytest.raises(ConflictError) as info:
        client.put("datasets/d1", {"annotationKind": "imageClassification"})
    assert info.value.ambiguous_write is True
    assert info.value.attempts == 2
    assert "earlier attempt may have been applied" in str(info.value)
    # Both attempts carried the same body.
    assert script.requests[0].content == script.requests[1].content


def test_plain_409_is_not_ambiguous() -> None:
    script = Script([error(409, "DatasetAlreadyExists")])
    with make_client(script) as client, pytest.raises(ConflictError) as info:
        client.put("datasets/d1", {"annotationKind": "imageClassification"})
    assert info.value.ambiguous_write is False


def test_retried_patch_412_after_5xx_is_ambiguous_and_keeps_if_match() -> None:
    script = Script([error(502), error(412, "PreconditionFailed")])
    with make_client(script) as client, pytest.raises(PreconditionFailedError) as info:
        client.patch("datasets/d1", {"annotationKind": "imageClassification"}, if_match="etag1")
    assert info.value.ambiguous_write is True
    assert [r.headers["If-Match"] for r in script.requests] == ["etag1", "etag1"]


def test_retried_delete_404_after_dropped_connection_is_ambiguous() -> None:
    script = Script([httpx.RemoteProtocolError("Server disconnected"), error(404, "NotFound")])
    with make_client(script) as client, pytest.raises(NotFoundError) as info:
        client.delete("datasets/d1")
    assert info.value.ambiguous_write is True


def test_write_retried_after_connect_error_or_429_is_not_ambiguous() -> None:
    # A refused connection and a 429 mean the request was never applied.
    script = Script([httpx.ConnectError("refused"), error(429), error(409, "DatasetAlreadyExists")])
    with make_client(script) as client, pytest.raises(ConflictError) as info:
        client.put("datasets/d1", {"annotationKind": "imageClassification"})
    assert info.value.ambiguous_write is False
    assert info.value.attempts == 3


def test_write_that_exhausts_retries_on_timeouts_is_ambiguous() -> None:
    script = Script([httpx.ReadTimeout("lost")])
    with make_client(script, max_retries=2) as client, pytest.raises(ServiceUnavailableError) as info:
        client.post("models/m1:cancel")
    assert info.value.ambiguous_write is True


def test_read_is_never_ambiguous() -> None:
    script = Script([httpx.ReadTimeout("lost"), error(404, "NotFound")])
    with make_client(script) as client, pytest.raises(NotFoundError) as info:
        client.get("datasets/d1")
    assert info.value.ambiguous_write is False


def test_retried_create_that_succeeds_returns_the_body() -> None:
    script = Script([error(500), CREATED])
    with make_client(script) as client:
        assert client.put("datasets/d1", {"annotationKind": "imageClassification"}) == {"name": "d1"}


# --- RetryPolicy / parse_retry_after units ---------------------------------------------


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ValueError):
        RetryPolicy(deadline=0)


@pytest.mark.parametrize(
    ("headers", "message", "expected"),
    [
        ({"retry-after": "7"}, None, 7.0),
        ({"retry-after": "1.5"}, None, 1.5),
        ({"retry-after-ms": "250"}, None, 0.25),
        ({"x-ms-retry-after-ms": "1200", "retry-after": "9"}, None, 1.2),
        ({"retry-after": "Tue, 14 Nov 2023 22:13:30 GMT"}, None, 10.0),
        ({"retry-after": "Tue, 14 Nov 2023 22:13:00 GMT"}, None, 0.0),
        ({"retry-after": "soon"}, None, None),
        ({}, "Rate limit is exceeded. Try again in 12 seconds.", 12.0),
        ({}, "nothing useful", None),
        ({}, None, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], message: str | None, expected: float | None) -> None:
    # 1_700_000_000 is 2023-11-14T22:13:20Z.
    got = parse_retry_after(httpx.Headers(headers), message, now=lambda: 1_700_000_000.0)
    assert got == (pytest.approx(expected) if expected is not None else None)
