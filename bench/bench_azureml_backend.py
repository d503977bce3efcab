"""An apply of 300 resources against the emulator's ARM write bucket (issue 12 item 9, second half).

Starts Azurite and ``reconcile emulator serve --service azureml --latency-ms 50`` (HTTPS, ARM's
buckets enforced: writes 200 refilling 10/s) in their own processes, then:

1. **apply**: a project of ``--datasets`` datasets is planned (not timed) and applied with
   ``run_apply`` (timed: observe, label checks, uploads, per dataset a data-version PUT and the data
   container PUT that mirrors it, the inventory); the executor runs ``maxConcurrency`` changes at once;
2. **client**: ``--writes`` data-version PUTs straight through
   :class:`reconcile.client.arm.ArmClient` from ``--threads`` threads (the transport alone).

Each prints elapsed, the floor the write bucket allows for the ARM writes sent,
``max((writes - 200) / 10, writes × latency / concurrency)`` seconds, the ratio (target ≤ 1.1)
and the 429 answers received (target 0). Compare numbers from the same run only (shared machine).
Measured 2026-11-30 (shared 2-core machine under load): apply of 300 datasets 11.22–11.38 s, floor
10.00 s, ratio 1.12–1.14 (writes span 10.25 s; 0.6 s before the first, 0.35 s after the last), 300
writes + 8 reads, 0 answers 429 (31.4 s before each shared label file was hashed and uploaded once per
apply and the closing observe trusted the PUT answers); client alone 10.20–10.57 s, ratio 1.02–1.06.
With the container mirrors (one more write per dataset; they let a no-op plan skip the per-dataset version
lists), one run each, same session: before 11.27 s, 300 writes + 8 reads, floor 10.00 s, ratio 1.127 (first
write at 0.60 s, 0.36 s after the last); after 41.24 s, 600 writes + 8 reads, floor 40.00 s, ratio 1.031
(first write at 0.49 s, 0.38 s after the last), 0 answers 429 both times.

    .venv/bin/python bench/bench_azureml_backend.py [--datasets 300] [--writes 300] [--threads 5]
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


def floor_s(writes: int, latency_ms: float, concurrency: int) -> float:
    """The least time ``writes`` ARM writes can take: the bucket (200, +10/s) or the latency, whichever binds."""
    return max((writes - 200) / 10.0, writes * latency_ms / 1000.0 / concurrency)


def bench_apply(blob_endpoint: str, datasets: int, latency_ms: float, concurrency: int) -> None:
    import os
    import re
    import ssl
    import subprocess
    import tempfile

    import httpx

    import reconcile.client.auth as auth
    from bench.bench_azureml_noop_plan import write_project
    from reconcile.session import open_session
    from reconcile.specs.config import load_config
    from reconcile.workflow import load_desired, make_plan, run_apply

    auth._default_credential = lambda: _Cred()  # the emulator's token; no Azure account
    tmp = Path(tempfile.mkdtemp(prefix="bench-azureml-apply-"))
    proc = subprocess.Popen([sys.executable, "-m", "reconcile", "emulator", "serve", "--service", "azureml",
                             "--port", "0", "--tls", "--state", str(tmp / "emu"), "--token", TOKEN,
                             "--blob-endpoint", blob_endpoint, "--latency-ms", str(latency_ms)],
                            cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        match = re.search(r"(https://[\d.]+:\d+)", proc.stderr.readline())
        if not match:
            raise SystemExit("the emulator did not start")
        endpoint = match.group(1)
        cert = next(p for p in (tmp / "emu" / "tls").iterdir() if "cert" in p.name)
        verify = ssl.create_default_context(cafile=str(cert))
        os.environ["AZURE_STORAGE_CONNECTION_STRING"] = (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OU"
            f"zFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint={blob_endpoint};")
        cfg = write_project(tmp / "project", endpoint, "azureml-apply-bench", datasets, 0)
        cfg.write_text(cfg.read_text().replace("maxConcurrency: 8", f"maxConcurrency: {concurrency}"))
        config = load_config(cfg)
        with open_session(config, client_options={"verify": verify}) as s:
            specs = load_desired(config)
            plan = make_plan(s, specs)
            with httpx.Client(verify=verify, headers={"Authorization": f"Bearer {TOKEN}"}) as h:
                h.delete(endpoint + "/_emulator/requests")
                t0, wall0 = time.perf_counter(), time.time()
                result = run_apply(s, plan)
                elapsed = time.perf_counter() - t0
                calls = h.get(endpoint + "/_emulator/requests").json()["value"]
            stats = s.client.stats
        writes = sum(c["method"] in ("PUT", "POST", "PATCH") for c in calls)
        throttled = sum(c.get("status") == 429 for c in calls)
        floor = floor_s(writes, latency_ms, concurrency)
        put_times = sorted(c["started"] for c in calls if c["method"] == "PUT")
        phases = (f"first write at {put_times[0] - wall0:.2f} s, writes for {put_times[-1] - put_times[0]:.2f} s, "
                  f"then {elapsed - (put_times[-1] - wall0):.2f} s to the end") if put_times else "no writes"
        print(f"apply of {datasets} datasets: exit {int(result.exit_code)}, {len(result.done)} done, "
              f"{len(result.failed)} failed; {len(calls)} ARM calls ({writes} writes, {len(calls) - writes} reads), "
              f"{elapsed:.2f} s, floor {floor:.2f} s, ratio {elapsed / floor:.3f}, 429s {throttled} "
              f"(client saw {stats.responses_429}), budget wait {stats.budget_wait_s:.2f} s; {phases}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=int, default=300, help="datasets the timed apply creates (0: skip)")
    ap.add_argument("--concurrency", type=int, default=8, help="the project's maxConcurrency for the apply")
    ap.add_argument("--writes", type=int, default=300, help="PUTs of the client-only run (0: skip)")
    ap.add_argument("--threads", type=int, default=5)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    args = ap.parse_args()
    azurite, blob_endpoint, workdir = start_azurite()
    try:
        if args.datasets:
            bench_apply(blob_endpoint, args.datasets, args.latency_ms, args.concurrency)
    except BaseException:
        azurite.terminate()
        raise
    if not args.writes:
        azurite.terminate()
        azurite.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
        return
    server, base = start_server(blob_endpoint, args.latency_ms)
    try:
        client = ArmClient(endpoint=base, api_version="2024-04-01", auth=BearerAuth(_Cred(), "bench"))
        body = {"properties": {"dataType": "mltable", "dataUri": "azureml://datastores/workspaceblobstore/paths/b/",
                               "tags": {}, "properties": {}, "isAnonymous": False, "isArchived": False}}
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(lambda i: client.put(f"{WS}/data/bench/versions/{i}", body), range(args.writes)))
        elapsed = time.perf_counter() - t0
        floor = floor_s(args.writes, args.latency_ms, args.threads)
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
