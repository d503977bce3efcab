"""State survives restarts (SQLite under state_dir); a speed clock keeps its timeline; concurrent PUTs."""

from __future__ import annotations

import threading

import httpx

from reconcile.emulator.clock import ManualClock, SpeedClock
from reconcile.emulator.server import start_emulator
from reconcile.emulator.trainer import make_trainer
from tests.fixtures.emulator import FILE_ROOTS, api, classification_coco, raw, start_validated, write_coco

BODY = {"annotationKind": "imageClassification", "annotationFileUris": ["https://a.blob.core.windows.net/c/x.json"]}


def test_state_survives_a_restart(tmp_path):
    clock = ManualClock()
    uri = write_coco(tmp_path / "train.json", classification_coco({"cat": 3, "dog": 3}))
    srv, watch = start_validated(state_dir=tmp_path / "state", clock=clock)
    with srv, api(srv) as c:
        etag = c.put("/datasets/ds", json={**BODY, "annotationFileUris": [uri]}).json()["eTag"]
        c.put("/models/m", json={"trainingParameters": {"trainingDatasetName": "ds", "timeBudgetInHours": 1}})
        clock.advance(60)
        assert c.get("/models/m").json()["status"] == "training"
    srv2, watch2 = start_validated(state_dir=tmp_path / "state", clock=clock)
    with srv2, api(srv2) as c:
        assert c.get("/datasets/ds").json()["eTag"] == etag
        assert c.put("/datasets/ds", json=BODY).status_code == 409
        clock.advance(3600)
        done = c.get("/models/m").json()
    assert done["status"] == "succeeded" and "modelPerformance" in done
    assert not watch.violations and not watch2.violations


def test_in_memory_state_starts_empty(tmp_path):
    with start_emulator() as a, api(a) as c:
        c.put("/datasets/ds", json=BODY)
    with start_emulator() as b, api(b) as c:
        assert c.get("/datasets/ds").status_code == 404


def test_speed_clock_timeline_survives_restarts(tmp_path):
    state = tmp_path / "state"
    with start_emulator(state_dir=state, speed=1000.0) as srv:
        assert isinstance(srv.clock, SpeedClock)
        srv.advance_clock(7 * 24 * 3600)  # a week ahead of real time
        before = srv.clock.now()
    with start_emulator(state_dir=state, speed=1000.0) as srv:
        # The same timeline: not reset to real time, never going backwards.
        assert srv.clock.now() >= before
        assert srv.clock.now() - before < 7 * 24 * 3600


def test_speed_clock_trains_in_real_time(tmp_path):
    uri = write_coco(tmp_path / "t.json", classification_coco({"cat": 2, "dog": 2}))
    with start_emulator(speed=1e6, trainer=make_trainer("prior"), file_roots=FILE_ROOTS) as srv, api(srv) as c:
        c.put("/datasets/ds", json={**BODY, "annotationFileUris": [uri]})
        c.put("/models/m", json={"trainingParameters": {"trainingDatasetName": "ds", "timeBudgetInHours": 4}})
        status = None
        for _ in range(1000):  # a bounded poll on a condition, not a sleep
            status = c.get("/models/m").json()["status"]
            if status in ("succeeded", "failed"):
                break
    assert status == "succeeded"


def _race(srv, path, body, n=2):
    barrier = threading.Barrier(n)
    results: list[int] = []
    lock = threading.Lock()

    def worker():
        with httpx.Client(headers={"Ocp-Apim-Subscription-Key": srv.key}, params={"api-version": "2023-04-01-preview"},
                          verify=False) as client:
            barrier.wait()
            status = client.put(srv.endpoint + "/computervision" + path, json=body).status_code
        with lock:
            results.append(status)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return sorted(results)


def test_simultaneous_puts_of_one_name_give_one_201_and_one_409(emulator):
    model = {"trainingParameters": {"trainingDatasetName": "ds", "timeBudgetInHours": 1}}
    for i in range(8):
        assert _race(emulator, f"/datasets/race{i}", BODY) == [201, 409]
        assert _race(emulator, f"/models/race{i}", model) == [201, 409]
    assert _race(emulator, "/datasets/many", BODY, n=6) == [201] + [409] * 5


def test_concurrent_patches_each_get_a_distinct_etag(emulator):
    with api(emulator) as c:
        etag = c.put("/datasets/p", json=BODY).json()["eTag"]
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def worker():
        barrier.wait()
        r = raw("PATCH", emulator.endpoint + "/computervision/datasets/p", params={"api-version": "2023-04-01-preview"},
                headers={"Ocp-Apim-Subscription-Key": emulator.key, "If-Match": etag}, json=BODY)
        statuses.append(r.status_code)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # Optimistic concurrency: exactly one writer holding the old eTag wins.
    assert sorted(statuses) == [200, 412, 412, 412]
