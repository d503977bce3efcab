"""The Azure ML emulator: request throughput, ARM write-bucket pacing, and training time at test sizes.

Runs ``reconcile emulator serve --service azureml`` in its own process (client and
server do not share a GIL) and Azurite for the datastore. Prints one line per
measurement; compare numbers from the same run only (the machine is shared).

    .venv/bin/python bench/bench_azureml_emulator.py [--seconds 3] [--writes 300]

* throughput: GET job / PUT data version with throttling off, 1 and 4 client threads;
* write bucket: ``--writes`` PUTs against ARM's write bucket (200, +10/s), paced by the
  ``x-ms-ratelimit-remaining-subscription-writes`` header; the floor the bucket allows
  is ``(writes - 200) / 10`` seconds; prints elapsed / floor and the 429s received;
* training: an AutoML job of each task on 12 / 48 tiny images with the emulator's default learner (the
  shared ``reconcile.learn``), submission to stored outcome.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TOKEN = "bench-token"
WS = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/vision-gitops/providers/"
      "Microsoft.MachineLearningServices/workspaces/vision-gitops-ws")
PARAMS = {"api-version": "2024-04-01"}
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_azurite() -> tuple[subprocess.Popen, str, str]:
    port, workdir = free_port(), tempfile.mkdtemp(prefix="bench-azurite-")
    proc = subprocess.Popen([str(ROOT / "node_modules/.bin/azurite-blob"), "--blobHost", "127.0.0.1", "--blobPort",
                             str(port), "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry",
                             "--silent"], cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}/devstoreaccount1", workdir


def start_server(blob_endpoint: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "reconcile", "emulator", "serve", "--service", "azureml",
                             "--port", "0", "--no-tls", "--token", TOKEN, "--blob-endpoint", blob_endpoint],
                            cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    match = re.search(r"(http://[\d.]+:\d+)", proc.stderr.readline())
    if not match:
        proc.kill()
        raise SystemExit("the emulator did not start")
    return proc, match.group(1)


def rate(url: str, method: str, seconds: float, threads: int, body: dict | None = None) -> float:
    counts = [0] * threads
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        with httpx.Client(headers=HEADERS, params=PARAMS) as c:
            n = 0
            while time.perf_counter() < stop:
                target = url.format(i=i, n=n)
                r = c.request(method, target, json=body)
                assert r.status_code < 300, r.text
                n += 1
            counts[i] = n

    ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(counts) / (time.perf_counter() - t0)


def paced_writes(base: str, n: int) -> tuple[float, int]:
    """PUT ``n`` data versions, waiting only when the remaining-writes header says the bucket is empty."""
    throttled = 0
    body = {"properties": {"dataType": "mltable", "dataUri": "azureml://datastores/workspaceblobstore/paths/b/"}}
    t0 = time.perf_counter()
    with httpx.Client(headers=HEADERS, params=PARAMS) as c:
        i = 0
        while i < n:
            r = c.put(f"{base}{WS}/data/paced/versions/{i}", json=body)
            if r.status_code == 429:
                throttled += 1
                time.sleep(float(r.headers["retry-after"]))
                continue
            i += 1
            if int(r.headers["x-ms-ratelimit-remaining-subscription-writes"]) < 1:
                time.sleep(0.1)  # one token comes back every 1/10 s
    return time.perf_counter() - t0, throttled


def training_times() -> None:
    """In-process: submission -> stored outcome for each task at the tests' sizes (Azurite-backed)."""
    from reconcile.emulator.azureml.datastore import BlobConfig
    from reconcile.emulator.azureml.server import start_azureml_emulator
    from tests.fixtures.azureml import (
        automl_job_body, classification_rows, detection_rows, register_data, arm, write_mltable,
    )
    from tests.fixtures.azurite import ACCOUNT, ACCOUNT_KEY

    azurite, endpoint, workdir = start_azurite()
    try:
        srv = start_azureml_emulator(blob=BlobConfig(endpoint, ACCOUNT, ACCOUNT_KEY), token="test-token")
        with srv, arm(srv) as c:
            for n in (12, 48):
                per = n // 3
                cases = {
                    "ImageClassification": classification_rows({"red": per, "blue": per, "green": per}),
                    "ImageClassificationMultilabel": [r.__class__(r.image, [r.label]) for r in
                                                      classification_rows({"red": per, "blue": per, "green": per})],
                    "ImageObjectDetection": detection_rows({"red": per, "blue": per, "green": per}),
                }
                for task, rows in cases.items():
                    name = f"{task.lower()}-{n}"
                    uri = write_mltable(srv, f"bench/{name}", rows)
                    register_data(c, name, "1", uri)
                    t0 = time.perf_counter()
                    c.put(f"/jobs/{name}", json=automl_job_body(srv, task, f"{srv.workspace.scope}/data/{name}/versions/1"))
                    srv.wait_for_training(timeout=300)
                    elapsed = time.perf_counter() - t0
                    outcome = srv.store.get("job", name).job.outcome
                    print(f"training  {task:31s} {n:3d} images  {elapsed * 1000:7.0f} ms  "
                          f"({outcome.status}, {outcome.trials[0].metrics if outcome.trials else outcome.error_message})")
    finally:
        azurite.terminate()
        azurite.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--writes", type=int, default=300)
    args = parser.parse_args()
    azurite, blob, workdir = start_azurite()
    proc, base = start_server(blob)
    try:
        admin = httpx.Client(base_url=base, headers=HEADERS)
        admin.put("/_emulator/throttle", json={"enabled": False, "reads": {"capacity": 1, "refill_per_second": 1},
                                               "writes": {"capacity": 1, "refill_per_second": 1},
                                               "deletes": {"capacity": 1, "refill_per_second": 1}})
        body = {"properties": {"dataType": "mltable", "dataUri": "azureml://datastores/workspaceblobstore/paths/x/"}}
        with httpx.Client(headers=HEADERS, params=PARAMS) as c:
            c.put(f"{base}{WS}/data/d/versions/0", json=body)
        for threads in (1, 4):
            get = rate(f"{base}{WS}/data/d/versions/0", "GET", args.seconds, threads)
            put = rate(base + WS + "/data/t{i}/versions/{n}", "PUT", args.seconds, threads, body)
            print(f"throughput  {threads} thread(s): GET data version {get:7.0f} req/s   PUT data version {put:7.0f} req/s")
        admin.put("/_emulator/throttle", json={"enabled": True})  # ARM's sizes again
        elapsed, throttled = paced_writes(base, args.writes)
        floor = max(0, args.writes - 200) / 10
        print(f"write bucket  {args.writes} PUTs: {elapsed:.2f} s, floor {floor:.1f} s, ratio "
              f"{elapsed / floor if floor else float('nan'):.3f}, 429 answers {throttled}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        azurite.terminate()
        azurite.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    training_times()


if __name__ == "__main__":
    main()
