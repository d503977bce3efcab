"""The long hostile-input fuzz run: trials, clean trials and peak memory, under a memory cap.

Usage::

    PYTHONPATH=$PWD .venv/bin/python bench/bench_hostile.py                  # 6000 trials, 2 workers (seeds)
    PYTHONPATH=$PWD .venv/bin/python bench/bench_hostile.py --trials 600 --workers 1

Each worker is ``python -m tests.hostile.harness`` in its own process with
``RLIMIT_AS`` at 1 GiB (an unbounded read or an alias bomb fails the worker instead
of the machine); the trials are split across workers with different seeds. Prints
one line per worker and the totals; exits 1 if any trial was not clean. The CI
suite runs the same harness with a few hundred trials (tests/hostile/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CAP = 1024 * 1024 * 1024


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    per = [args.trials // args.workers + (i < args.trials % args.workers) for i in range(args.workers)]
    start = time.monotonic()
    procs = [
        subprocess.Popen([sys.executable, "-m", "tests.hostile.harness", "--trials", str(n), "--seed", str(args.seed + i)],
                         cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_cap)
        for i, n in enumerate(per)
    ]
    totals = {"trials": 0, "clean": 0, "peak_rss_mb": 0.0}
    by_kind: dict[str, list[int]] = {}
    findings: list[dict[str, str]] = []
    for i, proc in enumerate(procs):
        out, err = proc.communicate()
        if proc.returncode != 0:
            print(f"worker {i}: exit {proc.returncode}\n{err[-3000:]}")
            totals["trials"] += per[i]
            continue
        s = json.loads(out.strip().splitlines()[-1])
        print(f"worker {i}: {s['clean']}/{s['trials']} clean, {s['seconds']} s, peak RSS {s['peak_rss_mb']} MiB")
        totals["trials"] += s["trials"]
        totals["clean"] += s["clean"]
        totals["peak_rss_mb"] = max(totals["peak_rss_mb"], s["peak_rss_mb"])
        for kind, (n, ok) in s["by_kind"].items():
            row = by_kind.setdefault(kind, [0, 0])
            row[0] += n
            row[1] += ok
        findings += s["findings"]
    print("by kind: " + ", ".join(f"{k} {ok}/{n}" for k, (n, ok) in sorted(by_kind.items())))
    print(f"total: {totals['trials']} trials, {totals['clean']} clean, peak RSS {totals['peak_rss_mb']} MiB "
          f"per worker (cap {CAP >> 20} MiB), {time.monotonic() - start:.0f} s")
    for f in findings[:10]:
        print(f"finding [{f['kind']}] {f['mutation'][:120]!r}: {f['detail'][-400:]}")
    sys.exit(0 if totals["clean"] == totals["trials"] else 1)


if __name__ == "__main__":
    main()
