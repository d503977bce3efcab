"""Benchmark COCO validation against plain JSON parsers and pycocotools.

Usage::

    .venv/bin/python bench/bench_coco.py            # 10k, 100k, 1M annotations (+ 1M classification, invalid 1M)
    .venv/bin/python bench/bench_coco.py --quick    # 10k and 100k only
    .venv/bin/python bench/bench_coco.py --rounds 5 --seed 7

Every data point runs in a fresh subprocess (``--one METHOD FILE KIND``) that
times reading + parsing/validating the file and reports its peak RSS (VmHWM,
falling back to ru_maxrss). Rounds are interleaved with a shuffled method order
and the table shows medians; ratios compare methods measured in the same run,
because absolute seconds on a shared 2-core VM drift by +-30 %. Generated files
are cached under bench/.data/ (gitignored).

Targets (docs/coco.md, "targets"), checked at the end of a full run:

- valid 1M-annotation detection file: validate <= 1.0x orjson.loads, <= 750 MiB peak RSS;
- valid 1M-image classification file: validate <= 1.5x orjson.loads with GC off, <= 1 GiB;
- invalid 1M detection files (complete report; one bad box, one dangling image_id):
  validate <= 3x orjson.loads with GC off.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from measure import peak_mib

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data"
OD = "imageObjectDetection"
IC = "imageClassification"
METHODS = ("orjson", "orjson_nogc", "json", "pycocotools", "validate")


def run_one(method: str, path: str, kind: str) -> None:
    """Worker: time one method on one file, print a JSON line, exit without freeing anything."""
    import gc

    result: object = None
    if method in ("orjson", "orjson_nogc"):
        import orjson

        if method == "orjson_nogc":
            gc.disable()
        t0 = time.perf_counter()
        with open(path, "rb") as f:
            obj = orjson.loads(f.read())
        dt = time.perf_counter() - t0
    elif method == "json":
        t0 = time.perf_counter()
        with open(path, "rb") as f:
            obj = json.load(f)
        dt = time.perf_counter() - t0
    elif method == "pycocotools":
        import contextlib
        import io

        from pycocotools.coco import COCO

        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            obj = COCO(path)
        dt = time.perf_counter() - t0
    elif method == "validate":
        sys.path.insert(0, str(ROOT))
        from reconcile.coco.validate import ValidationOptions, validate_file

        options = ValidationOptions(kind=kind)
        t0 = time.perf_counter()
        obj = validate_file(path, options)
        dt = time.perf_counter() - t0
        result = obj.codes()
    else:
        raise SystemExit(f"unknown method {method}")
    print(json.dumps({"seconds": dt, "peak_mib": peak_mib(), "result": result}), flush=True)
    sys.stdout.flush()
    os._exit(0)


def ensure_file(kind: str, annotations: int, seed: int, defect: str | None = None) -> Path:
    sys.path.insert(0, str(ROOT))
    from reconcile.coco.generate import write_coco

    DATA.mkdir(parents=True, exist_ok=True)
    tag = "od" if kind == OD else "ic"
    path = DATA / f"{tag}_{annotations}_s{seed}{'_' + defect if defect else ''}.json"
    if not path.exists():
        print(f"generating {path.name} ...", file=sys.stderr, flush=True)
        write_coco(path, kind, annotations, seed=seed, defect=defect)
    return path


def measure(method: str, path: Path, kind: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--one", method, str(path), kind], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"{method} on {path.name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_case(label: str, path: Path, kind: str, methods: tuple[str, ...], rounds: int) -> dict[str, dict]:
    samples: dict[str, list[dict]] = {m: [] for m in methods}
    for _ in range(rounds):
        order = list(methods)
        random.shuffle(order)
        for m in order:
            samples[m].append(measure(m, path, kind))
    rows = {}
    for m, ss in samples.items():
        rows[m] = {
            "median_s": statistics.median(s["seconds"] for s in ss),
            "min_s": min(s["seconds"] for s in ss),
            "peak_mib": max(s["peak_mib"] for s in ss),
            "result": ss[-1]["result"],
        }
    base, base_nogc = rows["orjson"]["median_s"], rows["orjson_nogc"]["median_s"]
    size = path.stat().st_size / 2**20
    print(f"\n## {label}: {path.name} ({size:.1f} MiB), {rounds} round(s)")
    print("| method | median s | min s | x orjson | x orjson-nogc | peak RSS MiB | result |")
    print("|---|---|---|---|---|---|---|")
    for m, r in sorted(rows.items(), key=lambda kv: kv[1]["median_s"]):
        r["x_orjson"] = r["median_s"] / base
        r["x_orjson_nogc"] = r["median_s"] / base_nogc
        res = "" if r["result"] is None else json.dumps(r["result"])
        print(
            f"| {m} | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['x_orjson']:.2f} | {r['x_orjson_nogc']:.2f} "
            f"| {r['peak_mib']:.0f} | {res} |"
        )
    sys.stdout.flush()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--one", nargs=3, metavar=("METHOD", "FILE", "KIND"), help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="10k and 100k annotations only")
    ap.add_argument("--rounds", type=int, default=None, help="rounds per case (default 3, quick 3)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json-out", type=Path, default=None, help="also write all rows as JSON here")
    args = ap.parse_args()
    if args.one:
        run_one(*args.one)
        return
    rounds = args.rounds or 3
    sizes = (10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000)
    results: dict[str, dict] = {}
    for n in sizes:
        results[f"od_{n}"] = bench_case(f"detection, {n:,} annotations", ensure_file(OD, n, args.seed), OD, METHODS, rounds)
    big = sizes[-1]
    results[f"ic_{big}"] = bench_case(
        f"classification, {big:,} images", ensure_file(IC, big, args.seed), IC, METHODS, rounds
    )
    results[f"od_{big}_invalid"] = bench_case(
        f"detection, {big:,} annotations, one bad box near the end (complete report)",
        ensure_file(OD, big, args.seed, defect="bbox"),
        OD,
        ("orjson", "orjson_nogc", "validate"),
        rounds,
    )
    results[f"od_{big}_invalid_ref"] = bench_case(
        f"detection, {big:,} annotations, one dangling image_id near the end (complete report)",
        ensure_file(OD, big, args.seed, defect="image_ref"),
        OD,
        ("orjson", "orjson_nogc", "validate"),
        rounds,
    )
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2))
    print("\n## targets" + ("" if big == 1_000_000 else " (defined for 1M-annotation files; informational at this size)"))
    od, ic, bad = results[f"od_{big}"]["validate"], results[f"ic_{big}"]["validate"], results[f"od_{big}_invalid"]["validate"]
    checks = [
        (f"valid OD {big:,}: validate <= 1.0x orjson", od["x_orjson"], 1.0),
        (f"valid OD {big:,}: peak RSS <= 750 MiB", od["peak_mib"], 750),
        (f"valid IC {big:,}: validate <= 1.5x orjson-nogc", ic["x_orjson_nogc"], 1.5),
        (f"valid IC {big:,}: peak RSS <= 1024 MiB", ic["peak_mib"], 1024),
        (f"invalid OD {big:,} (bad box): validate <= 3x orjson-nogc", bad["x_orjson_nogc"], 3.0),
        (
            f"invalid OD {big:,} (dangling ref): validate <= 3x orjson-nogc",
            results[f"od_{big}_invalid_ref"]["validate"]["x_orjson_nogc"],
            3.0,
        ),
    ]
    for label, value, limit in checks:
        print(f"- {label}: {value:.2f} -> {'PASS' if value <= limit else 'MISS'}")


if __name__ == "__main__":
    main()
