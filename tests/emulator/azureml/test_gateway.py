"""ARM throttling, request ids and injected faults of the Azure ML emulator (REFERENCE §1.1, §7)."""

from __future__ import annotations

import httpx
import pytest

from reconcile.emulator.azureml.throttle import BucketSize, Throttle, ThrottleConfig, kind_of
from reconcile.emulator.faults import FaultConfig
from tests.fixtures.azureml import arm, start_validated


class _Time:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_buckets_hold_arm_sizes_and_refill_per_second():
    clock = _Time()
    throttle = Throttle(now=clock)
    verdicts = [throttle.take("me", "writes") for _ in range(201)]
    assert [v.allowed for v in verdicts].count(True) == 200
    assert verdicts[0].remaining == 199 and verdicts[199].remaining == 0
    assert not verdicts[200].allowed and verdicts[200].retry_after == 1
    clock.t = 0.5  # 10/s: five writes are back after half a second
    assert [throttle.take("me", "writes").allowed for _ in range(6)] == [True] * 5 + [False]
    assert throttle.take("someone-else", "writes").allowed  # buckets are per principal
    assert throttle.take("me", "reads").remaining == 249  # ... and per operation kind
    assert throttle.refused == 2


def test_operation_kinds_follow_arm():
    assert [kind_of(m) for m in ("GET", "HEAD", "PUT", "PATCH", "POST", "DELETE")] == \
        ["reads", "reads", "writes", "writes", "writes", "deletes"]


def test_a_disabled_throttle_meters_without_refusing():
    throttle = Throttle(ThrottleConfig(writes=BucketSize(1, 1), enabled=False), now=_Time())
    assert [throttle.take("me", "writes").allowed for _ in range(3)] == [True, True, True]


@pytest.mark.azurite
def test_an_empty_bucket_answers_429_with_retry_after_and_the_remaining_budget(azurite):
    srv, watch = start_validated(azurite, throttle=ThrottleConfig(reads=BucketSize(3, 0.5)))
    try:
        with arm(srv) as c:
            answers = [c.get("/data") for _ in range(4)]
        assert [r.status_code for r in answers] == [200, 200, 200, 429]
        assert [r.headers["x-ms-ratelimit-remaining-subscription-reads"] for r in answers] == ["2", "1", "0", "0"]
        assert answers[3].json()["error"]["code"] == "TooManyRequests"
        assert answers[3].headers["retry-after"] == "2"
        assert answers[0].headers["x-ms-request-id"] != answers[1].headers["x-ms-request-id"]
        assert srv.throttle.refused == 1
        # Outside ARM nothing is metered by ARM's buckets.
        assert httpx.get(srv.endpoint + "/discovery").status_code == 200
    finally:
        srv.stop()
    assert not watch.violations


@pytest.mark.azurite
def test_injected_faults_are_seeded_and_arm_shaped(azurite):
    srv, _ = start_validated(azurite, faults=FaultConfig(error_rate=0.5, error_statuses=(500, 503), seed=7))
    try:
        with arm(srv) as c:
            first = [c.get("/data").status_code for _ in range(20)]
        srv.faults = FaultConfig(error_rate=0.5, error_statuses=(500, 503), seed=7)  # same seed, same faults
        with arm(srv) as c:
            again = [c.get("/data").status_code for _ in range(20)]
            assert first == again and {500, 503} & set(first) and 200 in first
            srv.faults = FaultConfig(error_rate=1.0, error_statuses=(503,))
            r = c.get("/data")
            assert r.json()["error"]["code"] == "ServiceUnavailable" and r.headers["retry-after"] == "1"
            srv.faults = FaultConfig(drop_before_rate=1.0)
            with pytest.raises(httpx.TransportError):
                c.get("/data")
    finally:
        srv.stop()


@pytest.mark.azurite
def test_a_write_whose_answer_is_dropped_still_happened(azurite):
    srv, _ = start_validated(azurite)
    try:
        with arm(srv) as c:
            srv.faults = FaultConfig(drop_after_rate=1.0)
            body = {"properties": {"dataType": "mltable", "dataUri": "azureml://datastores/workspaceblobstore/paths/x/"}}
            with pytest.raises(httpx.TransportError):
                c.put("/data/d/versions/1", json=body)
            srv.faults = FaultConfig()
            assert c.put("/data/d/versions/1", json=body).status_code == 200  # the retry finds it: idempotent
        assert srv.request_log.count(method="PUT", status=0) == 1
    finally:
        srv.stop()


@pytest.mark.azurite
def test_settings_change_at_runtime_through_the_admin_surface(azurite):
    srv, _ = start_validated(azurite)
    try:
        admin = httpx.Client(base_url=srv.endpoint, headers={"Authorization": "Bearer test-token"})
        changed = admin.put("/_emulator/settings", json={"quota_exceeded": True, "pending_status": "Scheduled"})
        assert changed.status_code == 200 and changed.json()["quota_exceeded"] is True
        assert srv.settings.pending_status == "Scheduled"
        bad = admin.put("/_emulator/settings", json={"quota_exceeded": "yes"})
        assert bad.status_code == 400 and "quota_exceeded" in bad.json()["error"]["message"]
        assert admin.put("/_emulator/settings", json={"nope": 1}).status_code == 400
        assert admin.put("/_emulator/settings", json={"lro_retry_after": 1}).json()["lro_retry_after"] == 1
        throttle = admin.put("/_emulator/throttle", json={"writes": {"capacity": 5, "refill_per_second": 1}})
        assert throttle.json()["writes"] == {"capacity": 5.0, "refill_per_second": 1.0}
    finally:
        srv.stop()
