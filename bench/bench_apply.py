"""Reconciler benchmarks against the emulator (run: .venv/bin/python bench/bench_apply.py [--quick]).

Prints ratios measured in one run (this machine is shared and noisy):

1. apply of 300 new resources (100 datasets, 100 models, 100 evaluations) against the
   emulator with 50 ms latency and its 20 TPS limit: wall time / (calls / 20 s)
   (target <= 1.1x) and the 429 answers we caused (target 0);
2. the same without the TPS limit against a sequential client that GETs then PUTs
   each resource, the official sample's pattern: speed-up (target >= 10x);
3. a no-op plan of 1,000 specs: wall and CPU time and the calls it made
   (target: the list pages only, < 1 s CPU);
4. `reconcile --help` start-up time (target < 0.3 s).

The emulator runs in its own process (``reconcile emulator serve``) so that its CPU
time is not counted as ours.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
KEY = "bench-key"
ADMIN = "/_emulator"
#: The prior trainer fits on the request path, so a model is trained when its PUT returns and its
#: evaluation is written in the same apply. With the pixel trainer (the emulator's default) the
#: evaluations are deferred to a later apply: the TPS run would write 200 resources, not 300, and
#: the "no-op" plan would plan their creation.
TRAINER = ("--trainer", "prior")


class Emulator:
    """``reconcile emulator serve`` in a subprocess, stopped on exit."""

    headers = {"Ocp-Apim-Subscription-Key": KEY}

    def __init__(self, *args: str) -> None:
        # The label files live in temporary folders: let the emulator read file:// URIs there.
        cmd = [PY, "-m", "reconcile", "emulator", "serve", "--host", "127.0.0.1", "--port", "0", "--key", KEY,
               "--data-root", tempfile.gettempdir(), *args]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stderr is not None
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if m := re.search(r"listening on (http://127\.0\.0\.1:\d+)", line):
                self.endpoint = m.group(1)
                break
        else:
            self.stop()
            raise RuntimeError(f"emulator did not start: {line}")

    def requests(self) -> list[dict]:
        return httpx.get(self.endpoint + ADMIN + "/requests", headers=self.headers).json()["value"]

    def clear(self) -> None:
        httpx.delete(self.endpoint + ADMIN + "/requests", headers=self.headers)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def coco(n_per_class: int, folder: Path) -> str:
    """A small valid classification COCO file (file:// image URLs) and its URI."""
    images, anns = [], []
    cats = [{"id": 1, "name": "circle"}, {"id": 2, "name": "square"}]
    for cat in cats:
        for _ in range(n_per_class):
            i = len(images) + 1
            images.append({"id": i, "width": 64, "height": 64, "file_name": f"i{i}.png",
                           "absolute_url": f"file:///bench/i{i}.png"})
            anns.append({"id": i, "image_id": i, "category_id": cat["id"]})
    path = folder / "train.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return path.resolve().as_uri()


def make_project(folder: Path, endpoint: str, n: int, *, tps: float, concurrency: int) -> Path:
    uri = coco(5, folder)
    docs: list[dict] = []
    for i in range(n):
        docs.append({"kind": "Dataset", "name": f"ds-{i:04d}", "annotationKind": "imageClassification",
                     "labels": [{"uri": uri}]})
        docs.append({"kind": "Model", "name": f"m-{i:04d}", "modelKind": "Generic-Classifier",
                     "trainingDataset": f"ds-{i:04d}", "budgetHours": 1})
        docs.append({"kind": "Evaluation", "name": "holdout", "model": f"m-{i:04d}", "dataset": f"ds-{i:04d}"})
    (folder / "specs").mkdir(exist_ok=True)
    (folder / "specs" / "all.yaml").write_text(yaml.safe_dump_all(docs))
    cfg = {"defaultEnvironment": "bench", "specs": ["specs"], "apiVersion": "2023-04-01-preview",
           "rateLimitTps": tps, "maxConcurrency": concurrency, "maxRetries": 8,
           "guardrails": {"maxBudgetHoursPerModel": None, "maxBudgetHoursPerApply": None, "maxDeletions": None},
           "environments": {"bench": {"endpoint": endpoint, "auth": {"kind": "key", "keyEnv": "VISION_KEY"},
                                      "storage": {"kind": "local", "path": ".blobs"}, "stateDir": ".state"}}}
    (folder / "vision-gitops.yaml").write_text(yaml.safe_dump(cfg))
    return folder / "vision-gitops.yaml"


def run_apply(config_path: Path) -> tuple[float, object]:
    from reconcile.session import open_session
    from reconcile.specs.config import load_config
    from reconcile.workflow import load_desired, make_plan, run_apply as apply_

    config = load_config(config_path, environment="bench")
    with open_session(config, env={"VISION_KEY": KEY}) as s:
        t0 = time.perf_counter()
        plan = make_plan(s, load_desired(config))
        result = apply_(s, plan)
        wall = time.perf_counter() - t0
    unwritten = [*result.deferred, *result.failed]
    if unwritten:  # a bench that wrote less than it claims measures nothing
        raise RuntimeError(f"apply left {len(unwritten)} resources unwritten, e.g. {unwritten[:3]}")
    return wall, result


def sequential_baseline(endpoint: str, n: int, uri: str) -> float:
    """The official sample's pattern: for each resource, GET it, then PUT it when missing; no concurrency."""
    params = {"api-version": "2023-04-01-preview"}
    headers = {"Ocp-Apim-Subscription-Key": KEY}
    with httpx.Client(base_url=endpoint + "/computervision/", params=params, headers=headers, timeout=60) as c:
        t0 = time.perf_counter()
        for i in range(n):
            for path, body in (
                (f"datasets/ds-{i:04d}", {"annotationKind": "imageClassification", "annotationFileUris": [uri]}),
                (f"models/m-{i:04d}", {"trainingParameters": {"trainingDatasetName": f"ds-{i:04d}",
                                                               "timeBudgetInHours": 1, "modelKind": "Generic-Classifier"}}),
                (f"models/m-{i:04d}/evaluations/holdout", {"evaluationParameters": {"testDatasetName": f"ds-{i:04d}"}}),
            ):
                if c.get(path).status_code == 404:
                    r = c.put(path, json=body)
                    r.raise_for_status()
        return time.perf_counter() - t0


def bench_tps(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp, Emulator("--latency-ms", "50", "--tps-limit", "20", "--speed", "1e7", *TRAINER) as emu:
        cfg = make_project(Path(tmp), emu.endpoint, n, tps=20, concurrency=8)
        wall, result = run_apply(cfg)
        log = [r for r in emu.requests() if r["path"].startswith("/computervision")]
    calls = len(log)
    throttled = sum(1 for r in log if r["status"] == 429)
    floor = calls / 20.0
    return {"resources": 3 * n, "calls": calls, "wall_s": round(wall, 2), "limit_s": round(floor, 2),
            "ratio": round(wall / floor, 3), "429_caused": throttled, "failed": len(result.failed)}


def bench_speedup(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp, Emulator("--latency-ms", "50", "--speed", "1e7", *TRAINER) as emu:
        cfg = make_project(Path(tmp), emu.endpoint, n, tps=1000, concurrency=32)
        ours, result = run_apply(cfg)
    with tempfile.TemporaryDirectory() as tmp, Emulator("--latency-ms", "50", "--speed", "1e7", *TRAINER) as emu:
        uri = coco(5, Path(tmp))
        theirs = sequential_baseline(emu.endpoint, n, uri)
    return {"resources": 3 * n, "ours_s": round(ours, 2), "sequential_s": round(theirs, 2),
            "speedup": round(theirs / ours, 2), "failed": len(result.failed)}


def bench_noop_plan(n_specs: int) -> dict:
    from reconcile.session import open_session
    from reconcile.specs.config import load_config
    from reconcile.workflow import load_desired, make_plan

    n = n_specs // 3 + (1 if n_specs % 3 else 0)
    with tempfile.TemporaryDirectory() as tmp, Emulator("--speed", "1e7", *TRAINER) as emu:
        # The project's default maxConcurrency (4): more threads only add GIL contention here.
        cfg = make_project(Path(tmp), emu.endpoint, n, tps=1000, concurrency=4)
        run_apply(cfg)
        emu.clear()
        config = load_config(cfg, environment="bench")
        with open_session(config, env={"VISION_KEY": KEY}) as s:
            specs = load_desired(config)
            w0, c0 = time.perf_counter(), time.process_time()
            plan = make_plan(s, specs)
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        log = [r for r in emu.requests() if r["path"].startswith("/computervision")]
    non_list = [r for r in log if r["method"] != "GET" or not re.search(r"/(datasets|models|evaluations)$", r["path"])]
    return {"specs": len(specs), "changes": sum(c.action != "no-op" for c in plan.changes), "calls": len(log),
            "non_list_calls": len(non_list), "wall_s": round(wall, 3), "cpu_s": round(cpu, 3)}


def bench_help() -> dict:
    exe = str(Path(PY).with_name("reconcile"))
    runs = []
    for _ in range(7):
        t0 = time.perf_counter()
        subprocess.run([exe, "--help"], check=True, stdout=subprocess.DEVNULL)
        runs.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    subprocess.run([PY, "-c", "pass"], check=True)
    bare = time.perf_counter() - t0
    runs.sort()
    return {"median_s": round(runs[len(runs) // 2], 3), "python_startup_s": round(bare, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a tenth of the sizes (smoke run)")
    args = ap.parse_args()
    os.chdir(ROOT)
    scale = 10 if args.quick else 1
    results = {
        "apply_300_at_20tps": bench_tps(100 // scale),
        "speedup_vs_sequential": bench_speedup(100 // scale),
        "noop_plan_1000": bench_noop_plan(1000 // scale),
        "help_startup": bench_help(),
    }
    print(json.dumps(results, indent=2))
    t, s, p, h = (results[k] for k in results)
    print(f"apply {t['resources']} at 20 TPS: {t['ratio']}x the rate-limit floor (target <= 1.1), "
          f"{t['429_caused']} 429s caused (target 0)")
    print(f"speed-up vs sequential GET+PUT: {s['speedup']}x (target >= 10)")
    print(f"no-op plan of {p['specs']} specs: {p['changes']} changes (target 0), {p['calls']} calls, "
          f"{p['non_list_calls']} not list pages, "
          f"{p['cpu_s']} s CPU (target < 1), {p['wall_s']} s wall")
    print(f"reconcile --help: {h['median_s']} s (python alone {h['python_startup_s']} s; target < 0.3)")


if __name__ == "__main__":
    main()
