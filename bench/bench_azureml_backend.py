"""The Azure ML backend's ARM client against the emulator's write bucket (issue 12 item 9, second half).

Starts Azurite and ``reconcile emulator serve --service azureml --latency-ms 50`` in their own
processes, then sends ``--writes`` data-version PUTs through :class:`reconcile.client.arm.ArmClient`
from ``--threads`` threads (what apply does). ARM's write bucket holds 200 and refills 10/s, so the
floor is ``(writes - 200) / 10`` seconds; prints elapsed / floor and the 429s the client received.
Compare numbers from the same run only (the machine is shared).

    .venv/bin/python bench/bench_azureml_backend.py [--writes 300] [--threads 5]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_azureml_emulator import TOKEN, WS, start_azurite  # noqa: E402
from reconcile.client.arm import ArmClient  # noqa: E402
from reconcile.client.auth import BearerAuth  # noqa: E402


class _Cred:
    def get_token(self, scope: str) -> tuple[str, float]:
        return (TOKEN, 4e9)


def start_server(blob_endpoint: str, latency_ms: float):
    import os
    import re
    import subprocess

    proc = subprocess.Popen([sys.executable, "-m", "reconcile", "emulator", "serve", "--service", "azureml",
                             "--port", "0", "--no-tls", "--token", TOKEN, "--blob-endpoint", blob_endpoint,
                             "--latency-ms", str(latency_ms)],
                            cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    match = re.search(r"(http://[\d.]+:\d+)", proc.stderr.readline())
    if not match:
        proc.kill()
        raise SystemExit("the emulator did not start")
    return proc, match.group(1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--writes", type=int, default=300)
    ap.add_argument("--threads", type=int, default=5)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    args = ap.parse_args()
    azurite, blob_endpoint, workdir = start_azurite()
    server, base = start_server(blob_endpoint, args.latency_ms)
    try:
        client = ArmClient(endpoint=base, api_version="2024-04-01", auth=BearerAuth(_Cred(), "bench"))
        body = {"properties": {"dataType": "mltable", "dataUri": "azureml://datastores/workspaceblobstore/paths/b/",
                               "tags": {}, "properties": {}, "isAnonymous": False, "isArchived": False}}
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(lambda i: client.put(f"{WS}/data/bench/versions/{i}", body), range(args.writes)))
        elapsed = time.perf_counter() - t0
        floor = max((args.writes - 200) / 10.0, args.writes * args.latency_ms / 1000.0 / args.threads)
        s = client.stats
        print(f"arm client: {args.writes} PUTs, {args.threads} threads, {args.latency_ms:g} ms latency: "
              f"{elapsed:.2f} s, floor {floor:.2f} s, ratio {elapsed / floor:.3f}, "
              f"429s {s.responses_429}, retries {s.retries}, budget wait {s.budget_wait_s:.2f} s")
        client.close()
    finally:
        server.terminate()
        azurite.terminate()
        server.wait(timeout=10)
        azurite.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
