"""Throughput of the Vision API emulator: requests/s for GET and PUT, and CLI start-up time.

Runs ``reconcile emulator serve`` in its own process (so client and server do not
share a GIL) and drives it with httpx from 1 and 4 threads. Prints one line per
measurement; compare numbers from the same run only (the machine is shared).

    .venv/bin/python bench/bench_emulator.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key-123456"
VERSION = "2023-04-01-preview"
BODY = {"annotationKind": "imageClassification", "annotationFileUris": ["https://a.blob.core.windows.net/c/x.json"]}


def start_server(state_dir: str | None) -> tuple[subprocess.Popen, str, float]:
    args = [sys.executable, "-m", "reconcile", "emulator", "serve", "--port", "0", "--key", KEY]
    if state_dir:
        args += ["--state", state_dir]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ})
    line = proc.stderr.readline()
    ready = time.perf_counter() - t0
    match = re.search(r"(http://[\d.]+:\d+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"emulator did not start: {line!r}")
    return proc, match.group(1), ready


def run(endpoint: str, kind: str, threads: int, seconds: float) -> float:
    counts = [0] * threads
    stop = time.perf_counter() + seconds
    errors: list[str] = []

    def worker(i: int) -> None:
        with httpx.Client(base_url=endpoint + "/computervision", params={"api-version": VERSION},
                          headers={"Ocp-Apim-Subscription-Key": KEY}, verify=False) as c:
            n = 0
            while time.perf_counter() < stop:
                if kind == "GET":
                    r = c.get("/datasets/seed")
                    ok = r.status_code == 200
                else:
                    r = c.put(f"/datasets/put-{threads}-{i}-{n}", json=BODY)
                    ok = r.status_code == 201
                if not ok:
                    errors.append(f"{r.status_code} {r.text[:100]}")
                    return
                n += 1
            counts[i] = n

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"{kind} failed: {errors[0]}")
    return sum(counts) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    import tempfile

    for label, state in (("memory", None), ("sqlite", tempfile.mkdtemp(prefix="emu-bench-"))):
        proc, endpoint, ready = start_server(state)
        try:
            print(f"[{label}] reconcile emulator serve ready in {ready:.2f} s")
            with httpx.Client(verify=False) as c:
                c.put(endpoint + "/computervision/datasets/seed", params={"api-version": VERSION},
                      headers={"Ocp-Apim-Subscription-Key": KEY}, json=BODY).raise_for_status()
            results = {}
            for kind in ("GET", "PUT"):
                for threads in (1, 4):
                    results[(kind, threads)] = rate = run(endpoint, kind, threads, args.seconds)
                    print(f"[{label}] {kind:<4} {threads} client thread(s): {rate:8.0f} requests/s")
            print(f"[{label}] PUT/GET ratio (4 threads): {results[('PUT', 4)] / results[('GET', 4)]:.2f}")
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
