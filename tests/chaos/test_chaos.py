"""Chaos: faults at scale, SIGKILL at random points, concurrent applies.

- 200 resources against 20 % 429/5xx and 5 % dropped connections converge: nothing lost,
  nothing created twice.
- ``reconcile apply`` killed with SIGKILL after a random number of API answers (seeded),
  then a clean re-run: the live state equals the specs, every model got exactly one
  201 (no second paid run) and the inventory owns everything without pending intents.
- Two concurrent applies: exactly one writes; the other fails with exit 1 naming the holder.
"""

from __future__ import annotations

import os
import random
import signal
import threading
from typing import Any

import pytest

from reconcile.inventory.store import state_store_for
from reconcile.lock import lock_for
from reconcile.workflow import load_desired, make_plan, run_apply
from tests.chaos import harness as H
from tests.fixtures.emulator import classification_coco
from tests.fixtures.project import coco_file

KILL_TRIALS = 50
DEADLINE = 60.0
#: The emulator is local: do not pace requests at the S1 tier's 20 per second.
FAST = {"rateLimitTps": 1000}


@pytest.fixture(scope="module", autouse=True)
def _forkserver():
    yield
    H.stop()


def _apply_until_done(proj: Any, *, attempts: int = 6) -> Any:
    """Apply (waiting on the emulator's manual clock) until nothing failed, as CI would re-run."""
    result = None
    for _ in range(attempts):
        try:
            with proj.session() as s:
                plan = make_plan(s, load_desired(s.config))
                result = run_apply(s, plan, waiter=proj.waiter(s), wait=True)
        except Exception as exc:  # noqa: BLE001 - retries ran out during observe/plan: run again
            result = exc
            continue
        if not result.failed:
            return result
    raise AssertionError(f"apply did not converge: {result}")


def _assert_converged(proj: Any, emulator: Any, docs: list[dict]) -> None:
    plan = proj.plan()
    assert not plan.has_changes, [c.address for c in plan.changes if c.action not in ("no-op", "unmanaged")]
    with proj.session() as s:
        live = s.backend.observe()
    assert H.live_addresses(live) == H.spec_addresses(docs)
    created = H.created_counts(emulator)
    models = [f"/computervision/models/{d['name']}" for d in docs if d["kind"] == "Model"]
    assert {m: created.get(m, 0) for m in models} == {m: 1 for m in models}
    assert all(n == 1 for n in created.values()), {p: n for p, n in created.items() if n != 1}
    inv = state_store_for(proj.config()).load()
    assert set(inv.records) == H.spec_addresses(docs)
    assert [a for a, r in inv.records.items() if r.intent is not None] == []


def test_200_resources_converge_under_faults(project, emulator) -> None:
    proj = project([], config=FAST)
    proj.client_options = {"sleep": lambda s: None}  # retries do not really wait
    uri = coco_file(proj.root, "shared.json", classification_coco({"circle": 3, "square": 3}))
    docs: list[dict] = [{"kind": "Dataset", "name": f"ds-{i:03d}", "annotationKind": "imageClassification",
                         "labels": [{"uri": uri}]} for i in range(140)]
    for i in range(40):
        docs.append({"kind": "Model", "name": f"model-{i:02d}", "modelKind": "Generic-Classifier",
                     "trainingDataset": f"ds-{i:03d}", "budgetHours": 1})
    for i in range(20):
        docs.append({"kind": "Evaluation", "name": "holdout", "model": f"model-{i:02d}", "dataset": f"ds-{100 + i:03d}"})
    assert len(docs) == 200
    proj.write_specs(docs)
    emulator.faults.seed = 7
    emulator.faults.error_rate = 0.2
    emulator.faults.drop_before_rate = 0.025
    emulator.faults.drop_after_rate = 0.025
    _apply_until_done(proj)
    emulator.faults.error_rate = emulator.faults.drop_before_rate = emulator.faults.drop_after_rate = 0.0
    statuses = [r.status for r in emulator.request_log if r.path.startswith("/computervision")]
    # The faults really happened, on writes too (a dropped create is logged with status 0).
    assert sum(s in (429, 500, 503) for s in statuses) > 0.1 * len(statuses)
    assert sum(s == 0 for s in statuses) > 0.02 * len(statuses)
    _assert_converged(proj, emulator, docs)


def _killer(emulator: Any, proc_box: dict, after: int) -> Any:
    """An emulator observer that SIGKILLs the child after its ``after``-th API answer."""
    seen = {"n": 0}
    lock = threading.Lock()

    def observe(method: str, path: str, query: str, status: int, headers: dict, body: bytes) -> None:
        if not path.startswith("/computervision"):
            return
        with lock:
            seen["n"] += 1
            if seen["n"] == after and proc_box.get("proc") is not None and proc_box["proc"].pid:
                try:
                    proc_box["proc"].kill()  # SIGKILL: no cleanup, no finally, lock and intents left as they are
                except (OSError, ValueError):
                    pass

    return observe


@pytest.mark.parametrize("trial", range(KILL_TRIALS))
def test_sigkill_at_a_random_point_then_rerun(project, emulator, tmp_path, trial) -> None:
    rng = random.Random(1000 + trial)
    docs = H.small_specs(tmp_path, f"t{trial}", datasets=rng.randint(2, 4), models=rng.randint(2, 3))
    proj = project(docs, config=FAST)
    # A first run answers at least 12 API calls (2 lists, >= 4 creates, >= 2 model reads for the
    # deferred evaluations, >= 4 lists to record the inventory): the kill always lands inside it.
    after = rng.randint(1, 12)
    box: dict = {}
    emulator.add_response_observer(_killer(emulator, box, after))
    argv = ["apply", "--config", str(proj.root / "vision-gitops.yaml"), "--env", "test"]
    proc = H.start_cli(argv, env={"VISION_KEY": emulator.key}, cwd=proj.root, out=tmp_path / "killed.log")
    box["proc"] = proc
    proc.join(DEADLINE)
    assert not proc.is_alive(), "the apply neither finished nor was killed"
    assert proc.exitcode == -signal.SIGKILL, (proc.exitcode, (tmp_path / "killed.log").read_text())

    # The dead run's lock lingers until it expires; an operator (or the next CI job) breaks it.
    lock_for(proj.config()).break_lock()
    _apply_until_done(proj)
    _assert_converged(proj, emulator, docs)


def test_sigkill_of_the_installed_command(project, emulator, tmp_path) -> None:
    """The same, once with ``python -m reconcile apply`` started as a plain OS process."""
    import subprocess
    import sys

    docs = H.small_specs(tmp_path, "exe", datasets=3, models=2)
    proj = project(docs, config=FAST)
    box: dict = {}
    emulator.add_response_observer(_killer(emulator, box, 7))  # after some creates, before the model reads
    log = (tmp_path / "exe.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "reconcile", "apply", "--config",
                             str(proj.root / "vision-gitops.yaml"), "--env", "test"],
                            cwd=proj.root, env={**os.environ, "VISION_KEY": emulator.key}, stdout=log,
                            stderr=subprocess.STDOUT)
    box["proc"] = proc
    try:
        assert proc.wait(DEADLINE) == -signal.SIGKILL, (tmp_path / "exe.log").read_text()
    finally:
        log.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lock_for(proj.config()).break_lock()
    _apply_until_done(proj)
    _assert_converged(proj, emulator, docs)


def test_two_concurrent_applies_exactly_one_writes(project, emulator, tmp_path) -> None:
    docs = H.small_specs(tmp_path, "conc", datasets=3, models=2)
    proj = project(docs, config=FAST)
    emulator.faults.latency_ms = 150  # keep the first apply inside its lock for a while
    first_request = threading.Event()
    emulator.add_response_observer(lambda *a: first_request.set())
    argv = ["apply", "--config", str(proj.root / "vision-gitops.yaml"), "--env", "test"]
    env = {"VISION_KEY": emulator.key, "GITHUB_ACTIONS": "", "USER": "first-runner"}
    a = H.start_cli(argv, env=env, cwd=proj.root, out=tmp_path / "a.log")
    assert first_request.wait(DEADLINE), "the first apply never reached the service"
    b = H.start_cli(argv, env={**env, "USER": "second-runner"}, cwd=proj.root, out=tmp_path / "b.log")
    b.join(DEADLINE)
    a.join(DEADLINE)
    b_log = (tmp_path / "b.log").read_text()
    assert b.exitcode == 1, b_log
    assert "apply lock" in b_log and "first-runner" in b_log, b_log
    assert a.exitcode in (0, 3), (tmp_path / "a.log").read_text()
    emulator.faults.latency_ms = 0
    # Only the first apply wrote: one 201 per created resource.
    created = H.created_counts(emulator)
    assert all(n == 1 for n in created.values()) and len(created) == 3 + 2
    _apply_until_done(proj)
    _assert_converged(proj, emulator, docs)
