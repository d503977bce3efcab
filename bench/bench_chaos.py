"""Chaos measurements (run: .venv/bin/python bench/bench_chaos.py [--trials 50]).

Prints, measured in one run on this (shared, noisy) machine:

1. apply of 200 resources (140 datasets, 40 models, 20 evaluations) against the
   emulator injecting 20 % 429/500/503 and 5 % dropped connections (half before,
   half after the write commits), retries without real waiting: API calls, faults
   injected, apply runs needed, wall time, resources lost and duplicate 201s (both
   must be 0);
2. ``reconcile apply`` killed with SIGKILL after a seeded random number of API
   answers, then a clean re-run, per trial: where it was killed, what the dead run
   left (pending intents, a held lock), duplicate training submissions (must be 0)
   and whether the live state equals the specs.

The same scenarios are asserted by tests/chaos/test_chaos.py.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _converged(proj, emulator, docs) -> tuple[bool, int, int]:
    from tests.chaos import harness as H

    plan = proj.plan()
    with proj.session() as s:
        live = s.backend.observe()
    created = H.created_counts(emulator)
    dupes = sum(n - 1 for n in created.values() if n > 1)
    lost = len(H.spec_addresses(docs) - H.live_addresses(live))
    return (not plan.has_changes and lost == 0), lost, dupes


def scenario_faults() -> None:
    from tests.chaos.test_chaos import FAST, _apply_until_done
    from tests.fixtures.emulator import classification_coco, start_validated
    from tests.fixtures.project import Project, coco_file, write_config

    srv, _ = start_validated()
    try:
        root = Path(tempfile.mkdtemp(prefix="chaos-"))
        write_config(root, srv.endpoint, extra=FAST)
        proj = Project(root, srv, {}, client_options={"sleep": lambda s: None})
        uri = coco_file(root, "shared.json", classification_coco({"circle": 3, "square": 3}))
        docs = [{"kind": "Dataset", "name": f"ds-{i:03d}", "annotationKind": "imageClassification",
                 "labels": [{"uri": uri}]} for i in range(140)]
        docs += [{"kind": "Model", "name": f"model-{i:02d}", "modelKind": "Generic-Classifier",
                  "trainingDataset": f"ds-{i:03d}", "budgetHours": 1} for i in range(40)]
        docs += [{"kind": "Evaluation", "name": "holdout", "model": f"model-{i:02d}", "dataset": f"ds-{100 + i:03d}"}
                 for i in range(20)]
        proj.write_specs(docs)
        srv.faults.seed = 7
        srv.faults.error_rate = 0.2
        srv.faults.drop_before_rate = srv.faults.drop_after_rate = 0.025
        runs = {"n": 0}
        t0 = time.perf_counter()
        import reconcile.workflow as W

        real = W.run_apply

        def counting(*a, **k):
            runs["n"] += 1
            return real(*a, **k)

        W.run_apply = counting
        import tests.chaos.test_chaos as T

        T.run_apply = counting
        _apply_until_done(proj)
        wall = time.perf_counter() - t0
        srv.faults.error_rate = srv.faults.drop_before_rate = srv.faults.drop_after_rate = 0.0
        statuses = [r.status for r in srv.request_log if r.path.startswith("/computervision")]
        ok, lost, dupes = _converged(proj, srv, docs)
        print("1. 200 resources, 20 % 429/5xx + 5 % dropped connections")
        print(f"   API calls {len(statuses)}, 429/5xx injected {sum(s in (429, 500, 503) for s in statuses)}, "
              f"dropped {sum(s == 0 for s in statuses)}")
        print(f"   apply runs {runs['n']}, wall {wall:.1f} s, converged {ok}, lost {lost}, duplicate 201s {dupes}")
    finally:
        srv.stop()


def scenario_kills(trials: int) -> None:
    from reconcile.inventory.store import state_store_for
    from reconcile.lock import lock_for
    from tests.chaos import harness as H
    from tests.chaos.test_chaos import FAST, _apply_until_done, _killer
    from tests.fixtures.emulator import start_validated
    from tests.fixtures.project import Project, write_config

    H.context()
    killed = intents_left = locks_left = dupes_total = converged = 0
    points: list[int] = []
    t0 = time.perf_counter()
    for trial in range(trials):
        rng = random.Random(1000 + trial)
        srv, _ = start_validated()
        try:
            root = Path(tempfile.mkdtemp(prefix="kill-"))
            docs = H.small_specs(root, f"t{trial}", datasets=rng.randint(2, 4), models=rng.randint(2, 3))
            write_config(root, srv.endpoint, extra=FAST)
            proj = Project(root, srv, {})
            proj.write_specs(docs)
            after = rng.randint(1, 12)
            box: dict = {}
            srv.add_response_observer(_killer(srv, box, after))
            proc = H.start_cli(["apply", "--config", str(root / "vision-gitops.yaml"), "--env", "test"],
                               env={"VISION_KEY": srv.key}, cwd=root, out=root / "killed.log")
            box["proc"] = proc
            proc.join(60)
            if proc.exitcode == -signal.SIGKILL:
                killed += 1
                points.append(after)
            inv = state_store_for(proj.config()).load()
            intents_left += sum(r.intent is not None for r in inv.records.values())
            locks_left += lock_for(proj.config()).break_lock() is not None
            _apply_until_done(proj)
            ok, _lost, dupes = _converged(proj, srv, docs)
            converged += ok
            dupes_total += dupes
        finally:
            srv.stop()
    wall = time.perf_counter() - t0
    print(f"2. {trials} SIGKILL trials (6-9 resources each), then a clean re-run")
    print(f"   killed {killed}/{trials} (after answer #{min(points or [0])}-#{max(points or [0])}), "
          f"locks left held {locks_left}, pending intents left {intents_left}")
    print(f"   converged {converged}/{trials}, duplicate training submissions {dupes_total}, "
          f"wall {wall:.1f} s ({wall / max(trials, 1):.2f} s per trial)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=50)
    args = parser.parse_args()
    scenario_faults()
    scenario_kills(args.trials)


if __name__ == "__main__":
    main()
