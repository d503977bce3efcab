"""VisionClient against the real emulator over HTTP on 127.0.0.1.

Faults are injected by the emulator (429, 5xx, connections dropped before or after
the write); the client's retries must converge, and with the emulator's 20 TPS
gateway limit and no injected errors the client must never be the cause of a 429.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from reconcile.client import KeyAuth, VisionClient
from reconcile.emulator.faults import FaultConfig
from reconcile.emulator.server import EmulatorServer
from reconcile.errors import AuthError, ConflictError, NotFoundError, PreconditionFailedError

KEY = "test-key"  # the key of the shared `emulator` fixture
API = "2023-04-01-preview"
URI = "https://acct.blob.core.windows.net/labels/train.coco.json"


@pytest.fixture
def srv(emulator: EmulatorServer) -> EmulatorServer:
    """The shared emulator fixture: every answer is also checked against the swagger."""
    assert emulator.key == KEY
    return emulator


def logged(srv: EmulatorServer, n: int, timeout: float = 10.0) -> list:
    """The request log once it holds ``n`` records: the emulator logs a request just after answering it."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while len(srv.request_log) < n:
        assert time.monotonic() < deadline, f"the request log has {len(srv.request_log)} records, expected {n}"
        pause.wait(0.005)
    return srv.request_log.snapshot()


def client_for(srv: EmulatorServer, **overrides: object) -> VisionClient:
    options: dict[str, object] = dict(endpoint=srv.endpoint, api_version=API, auth=KeyAuth(KEY), timeout=10.0)
    options.update(overrides)
    return VisionClient(**options)  # type: ignore[arg-type]


def dataset(kind: str = "imageClassification") -> dict:
    return {"annotationKind": kind, "annotationFileUris": [URI], "authentication": {"kind": "managedIdentity"}}


def test_crud_round_trip(srv: EmulatorServer) -> None:
    with client_for(srv) as c:
        created = c.put("datasets/ds1", dataset())
        assert created["name"] == "ds1" and created["eTag"]
        assert c.get("datasets/ds1")["eTag"] == created["eTag"]
        with pytest.raises(ConflictError) as info:
            c.put("datasets/ds1", dataset())
        assert info.value.status == 409 and info.value.ambiguous_write is False
        patched = c.patch(
            "datasets/ds1", {**dataset(), "customProperties": {"team": "vision"}}, if_match=created["eTag"]
        )
        assert patched["customProperties"] == {"team": "vision"}
        assert patched["eTag"] != created["eTag"]
        with pytest.raises(PreconditionFailedError):
            c.patch("datasets/ds1", dataset(), if_match=created["eTag"])
        with pytest.raises(PreconditionFailedError):
            c.delete("datasets/ds1", if_match=created["eTag"])
        c.delete("datasets/ds1", if_match=patched["eTag"])
        with pytest.raises(NotFoundError) as nf:
            c.get("datasets/ds1")
        assert nf.value.code
        assert [r.status for r in logged(srv, 8)] == [201, 200, 409, 200, 412, 412, 204, 404]


def test_wrong_key_is_auth_error_with_hint(srv: EmulatorServer) -> None:
    with client_for(srv, auth=KeyAuth("not-the-right-key")) as c, pytest.raises(AuthError) as info:
        c.get("datasets")
    assert info.value.status == 401
    assert "not-the-right-key" not in str(info.value)
    assert "Cognitive Services User" in str(info.value)


def test_pagination_over_more_than_30_datasets(srv: EmulatorServer) -> None:
    with client_for(srv, rate_limit_tps=500.0) as c:
        names = [f"ds-{i:03d}" for i in range(67)]
        for name in names:
            c.put(f"datasets/{name}", dataset())
        listed = [d["name"] for d in c.list("datasets")]
        assert sorted(listed) == names
        assert c.stats.pages == 3
        assert len(list(c.list("datasets", page_size=10))) == 67
        assert c.stats.pages == 3 + 7


def create_resolving_ambiguity(c: VisionClient, name: str, body: dict) -> str:
    """What apply does with a create: a 409 on an ambiguous retry is settled by reading the resource."""
    try:
        c.put(f"datasets/{name}", body)
        return "created"
    except ConflictError as exc:
        assert exc.ambiguous_write, f"{name}: a 409 without an earlier unknown outcome"
        live = c.get(f"datasets/{name}")
        assert live["annotationFileUris"] == body["annotationFileUris"]
        return "created-by-earlier-attempt"


def test_injected_faults_converge_with_retries(srv: EmulatorServer) -> None:
    srv.faults = FaultConfig(
        error_rate=0.25,
        error_statuses=(429, 500, 502, 503, 504),
        drop_before_rate=0.1,
        drop_after_rate=0.1,
        seed=7,
        retry_after_seconds=1,
    )
    # Short waits keep the test fast; the Retry-After of 1 s is capped to 20 ms.
    with client_for(
        srv, rate_limit_tps=500.0, backoff_base=0.01, backoff_cap=0.05, max_retry_after=0.02, max_retries=10
    ) as c:
        names = [f"f-{i:02d}" for i in range(40)]
        outcomes = [create_resolving_ambiguity(c, n, dataset()) for n in names]
        for n in names:
            assert c.get(f"datasets/{n}")["name"] == n
        assert sorted(d["name"] for d in c.list("datasets", page_size=7)) == names
        for n in names:
            try:
                c.delete(f"datasets/{n}")
            except NotFoundError as exc:  # our own earlier attempt deleted it
                assert exc.ambiguous_write
        stats = c.stats
    srv.faults = FaultConfig()
    with client_for(srv) as c:
        assert list(c.list("datasets")) == []
    log = srv.request_log.snapshot()
    assert stats.retries > 10
    assert stats.transport_errors > 0 and stats.responses_5xx > 0 and stats.responses_429 > 0
    assert any(r.status == 0 for r in log)  # connections really were dropped
    # seed 7 drops at least one PUT after it was committed: the ambiguity path ran.
    assert "created-by-earlier-attempt" in outcomes


def test_client_causes_no_429_at_the_service_tps_limit(srv: EmulatorServer) -> None:
    srv.faults = FaultConfig(tps_limit=20)
    with client_for(srv, rate_limit_tps=20.0) as c, ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: c.put(f"datasets/t-{i:03d}", dataset()), range(45)))
        list(pool.map(lambda i: c.get(f"datasets/t-{i:03d}"), range(45)))
        stats = c.stats
    log = logged(srv, 90)
    assert len(log) == 90
    assert sum(1 for r in log if r.status == 429) == 0
    assert stats.responses_429 == 0 and stats.retries == 0
    assert stats.throttled_waits > 0  # the client, not the service, did the limiting


def test_without_pacing_the_same_load_is_throttled_by_the_service(srv: EmulatorServer) -> None:
    # Control for the test above: the emulator's limit is real, so pacing is what avoided the 429s.
    srv.faults = FaultConfig(tps_limit=20, retry_after_seconds=1)
    with client_for(srv, rate_limit_tps=10_000.0, rate_limit_burst=9_000.0, max_retries=0) as c:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda i: _status_of(c, f"datasets/u-{i:03d}"), range(60)))
    assert results.count(429) > 0


def _status_of(c: VisionClient, path: str) -> int:
    try:
        c.get(path)
        return 200
    except Exception as exc:  # noqa: BLE001 - the status is what is measured
        return getattr(exc, "status", None) or -1


def test_debug_log_lines_never_contain_the_key(srv: EmulatorServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="reconcile.client")
    with client_for(srv) as c:
        c.put("datasets/log1", dataset())
        c.get("datasets/log1")
    lines = [r.getMessage() for r in caplog.records if r.name == "reconcile.client"]
    assert any(line.startswith("PUT datasets/log1 -> 201") for line in lines)
    assert KEY not in caplog.text
