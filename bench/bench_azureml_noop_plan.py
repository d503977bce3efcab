"""A no-op plan of 1,000 specs on a service: azureml environment (issue 12 item 9, first half).

Starts Azurite and ``reconcile emulator serve --service azureml`` (HTTPS, sped-up clock) in their
own processes, applies ``--datasets`` datasets and ``--models`` models (each model trains on its
own dataset) until the plan is empty, then times one more ``make_plan``: wall and CPU time of this
process (the emulator's CPU is not counted) and the calls it sent, split into list GETs and
anything else; with ``--deep`` it also times a deep plan (``reconcile plan --deep``, the drift workflow:
every dataset's versions listed). Target: only list calls, < 1 s CPU. Compare numbers from the same run only.
Measured 2026-11-30 (980 datasets + 20 models, shared 2-core machine): before, setup 499 s and a no-op
plan of 1,032 calls (1,031 list GETs, 1 Compute_Get), wall 58.2 s, CPU 15.5 s (plan-time label work, found
with ``--profile``); after each label file is built and checked once per plan, setup 192 s, 994 calls
(993 list GETs, 1 Compute_Get), wall 39.5 s (ARM's read bucket), CPU 2.45 s with the version lists side by
side (1.96 s one after another): the < 1 s target was still missed. After each data container mirrors
its latest version (docs/azureml.md, "Observing datasets") and the cluster is read by Compute_List, in one
run: setup 222 s, a no-op plan of **14 calls, all list GETs** (10 pages of data containers, 2 job lists, the
model containers, Compute_List), wall 0.71 s, **CPU 0.30 s**; the deep plan of the same run, 994 calls
(every version list), wall 31.9 s, CPU 2.69 s (the test suite was running beside it). A second run (no
``--deep``, quieter machine): 14 calls, 14 list GETs and 0 other, wall 0.43 s, CPU 0.19 s.

    .venv/bin/python bench/bench_azureml_noop_plan.py [--datasets 900] [--models 100] [--profile 40] [--deep]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
from collections import Counter
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_azureml_emulator import TOKEN, start_azurite  # noqa: E402

#: A list GET ends in a collection: data, data/<name>/versions, jobs, models/<name>/versions, computes (Compute_List).
_LIST = re.compile(r"/(data|versions|jobs|models|computes)$")


#: Path segments followed by a resource name (the name is shown as ``{}`` in the calls by kind).
_NAMED = frozenset({"subscriptions", "resourceGroups", "workspaces", "data", "versions", "jobs", "models", "computes",
                    "onlineEndpoints", "deployments", "runs", "experiments"})


def route(path: str) -> str:
    """``path`` with resource names replaced by ``{}``: the kind of call it is."""
    parts = path.split("?", 1)[0].split("/")
    return "/".join("{}" if i and parts[i - 1] in _NAMED else p for i, p in enumerate(parts))


class _Cred:
    def get_token(self, scope: str) -> tuple[str, float]:
        return (TOKEN, 4e9)


def start_server(blob_endpoint: str, state: Path) -> tuple[subprocess.Popen, str, Path]:
    proc = subprocess.Popen([sys.executable, "-m", "reconcile", "emulator", "serve", "--service", "azureml",
                             "--port", "0", "--tls", "--state", str(state), "--speed", "1e7", "--token", TOKEN,
                             "--blob-endpoint", blob_endpoint, "--data-root", str(state.parent)],
                            cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    match = re.search(r"(https://[\d.]+:\d+)", proc.stderr.readline())
    if not match:
        proc.kill()
        raise SystemExit("the emulator did not start")
    cert = next(p for p in (state / "tls").iterdir() if "cert" in p.name)
    return proc, match.group(1), cert


def write_project(root: Path, endpoint: str, container: str, datasets: int, models: int) -> Path:
    shutil.copytree(ROOT / "data" / "shapes" / "classification", root / "data")
    docs: list[dict] = [{"kind": "Dataset", "name": f"ds-{i:04d}", "annotationKind": "imageClassification",
                         "labels": [{"file": "data/train.coco.json", "images": "data/images"}]} for i in range(datasets)]
    docs += [{"kind": "Model", "name": f"m-{i:04d}", "modelKind": "Generic-Classifier",
              "trainingDataset": f"ds-{i:04d}", "budgetHours": 1} for i in range(models)]
    (root / "specs").mkdir()
    (root / "specs" / "all.yaml").write_text(yaml.safe_dump_all(docs))
    (root / "ml.json").write_text(json.dumps({
        "subscriptionId": "00000000-0000-0000-0000-000000000000", "resourceGroupName": "vision-gitops",
        "workspaceName": "vision-gitops-ws", "location": "westeurope", "computeName": "gpu-cluster",
        "datastoreName": "workspaceblobstore", "containerUrl": f"https://example.blob.core.windows.net/{container}"}))
    cfg = root / "vision-gitops.yaml"
    cfg.write_text(f"defaultEnvironment: ml\nspecs: [specs]\nmaxConcurrency: 8\nenvironments:\n  ml:\n"
                   f"    service: azureml\n    endpoint: {endpoint}\n    stackOutputs: ml.json\n"
                   f"    auth: {{kind: entra}}\n    storage: {{kind: azurite, container: {container}}}\n")
    return cfg


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=int, default=900)
    ap.add_argument("--models", type=int, default=100)
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="profile the no-op plan (cProfile) and print its N costliest functions by cumulative time")
    ap.add_argument("--deep", action="store_true", help="also time a deep plan (every dataset version listed)")
    args = ap.parse_args()
    import reconcile.client.auth as auth
    from reconcile.session import open_session
    from reconcile.specs.config import load_config
    from reconcile.workflow import WaitSettings, load_desired, make_plan, run_apply

    auth._default_credential = lambda: _Cred()  # the emulator's token; no Azure account
    azurite, blob_endpoint, workdir = start_azurite()
    tmp = Path(tempfile.mkdtemp(prefix="bench-azureml-noop-"))
    server, endpoint, cert = start_server(blob_endpoint, tmp / "emu")
    os.environ["AZURE_STORAGE_CONNECTION_STRING"] = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50u"
        f"SRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint={blob_endpoint};")
    try:
        cfg = write_project(tmp / "project", endpoint, "azureml-blobstore", args.datasets, args.models)
        config = load_config(cfg)
        options = {"verify": ssl.create_default_context(cafile=str(cert))}
        import httpx

        # The setup's writes need not wait for ARM's write bucket (that is bench_azureml_backend's figure).
        httpx.put(endpoint + "/_emulator/throttle", json={"enabled": False}, verify=options["verify"],
                  headers={"Authorization": f"Bearer {TOKEN}"}).raise_for_status()
        t0 = time.perf_counter()
        with open_session(config, client_options=options) as s:
            specs = load_desired(config)
            for _ in range(20):
                plan = make_plan(s, specs)
                if not plan.has_changes:
                    break
                run_apply(s, plan, wait=True, wait_settings=WaitSettings(timeout=600, poll=0.2))
            else:
                raise SystemExit("the apply did not converge")
        setup = time.perf_counter() - t0
        log_url = endpoint + "/_emulator/requests"

        with httpx.Client(verify=options["verify"], headers={"Authorization": f"Bearer {TOKEN}"}) as h:
            h.delete(log_url)
            with open_session(config, client_options=options) as s:
                profiler = cProfile.Profile() if args.profile else None
                w0, c0 = time.perf_counter(), time.process_time()
                if profiler is not None:
                    profiler.enable()
                plan = make_plan(s, specs)
                if profiler is not None:
                    profiler.disable()
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            calls = h.get(log_url).json()["value"]
        lists = [c for c in calls if c["method"] == "GET" and _LIST.search(c["path"])]
        other = [f"{c['method']} {c['path']}" for c in calls if c not in lists]
        print(f"setup (apply + training): {setup:.1f} s")
        print(f"no-op plan of {args.datasets + args.models} specs: "
              f"{sum(c.action != 'no-op' for c in plan.changes)} changes, {len(calls)} calls "
              f"({len(lists)} list GETs, {len(other)} other), wall {wall:.3f} s, CPU {cpu:.3f} s")
        for line in sorted(set(other))[:10]:
            print("  not a list call:", line)
        for kind, n in Counter(f"{c['method']} {route(c['path'])}" for c in calls).most_common():
            print(f"  {n:5d} {kind}")
        print(f"  observed: {plan.observation}")
        if args.deep:
            with httpx.Client(verify=options["verify"], headers={"Authorization": f"Bearer {TOKEN}"}) as h:
                h.delete(log_url)
                with open_session(config, client_options=options) as s:
                    w0, c0 = time.perf_counter(), time.process_time()
                    deep = make_plan(s, specs, deep=True)
                    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                n = len(h.get(log_url).json()["value"])
            print(f"deep no-op plan (`plan --deep`, the drift workflow): "
                  f"{sum(c.action != 'no-op' for c in deep.changes)} changes, {n} calls, wall {wall:.3f} s, CPU {cpu:.3f} s")
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
    finally:
        server.terminate()
        azurite.terminate()
        server.wait(timeout=10)
        azurite.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
