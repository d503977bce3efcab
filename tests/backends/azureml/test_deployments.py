"""Deployments on Azure ML: gate, blue/green rollout, revert, drift, crash: plan → apply → plan against the emulator."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconcile.emulator.faults import FaultConfig
from reconcile.errors import ExitCode, InputError, ReconcileError, ServiceUnavailableError
from reconcile.plan.deployments import deployment_name
from reconcile.workflow import load_desired, make_plan, run_apply
from tests.backends.azureml.conftest import ROOT, azureml_project
from tests.fixtures.azurite import Azurite

pytestmark = pytest.mark.azurite

BASE = [
    {"kind": "Dataset", "name": "cls-train", "annotationKind": "imageClassification",
     "labels": [{"file": "data/shapes/classification/train.coco.json", "images": "data/shapes/classification/images"}]},
    {"kind": "Dataset", "name": "cls-test", "annotationKind": "imageClassification",
     "labels": [{"file": "data/shapes/classification/test.coco.json", "images": "data/shapes/classification/images"}]},
    {"kind": "Model", "name": "clf-a", "modelKind": "Generic-Classifier", "trainingDataset": "cls-train",
     "testDataset": "cls-test", "budgetHours": 1},
    {"kind": "Evaluation", "name": "holdout", "model": "clf-a", "dataset": "cls-test"},
    {"kind": "Model", "name": "clf-b", "modelKind": "Generic-Classifier", "trainingDataset": "cls-train",
     "testDataset": "cls-test", "budgetHours": 2},
    {"kind": "Evaluation", "name": "holdout", "model": "clf-b", "dataset": "cls-test"},
]


#: Emulated seconds between two applies: enough for a provisioning step, an evaluation or a training to end.
STEP_S = 301


class Clock:
    """The apply/plan clock (bake time); the emulator has its own, advanced with it."""

    def __init__(self) -> None:
        self.t = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.t


def deployment(model: str = "clf-a", **extra: Any) -> dict[str, Any]:
    doc = {"kind": "Deployment", "name": "shapes-ep", "model": model,
           "gate": [{"evaluation": "holdout", "thresholds": {"accuracyTop1": 0.0}}]}
    doc.update(extra)
    return doc


@pytest.fixture
def project(tmp_path: Path, azurite: Azurite, monkeypatch: pytest.MonkeyPatch):
    with azureml_project(tmp_path, azurite, monkeypatch) as (srv, session):
        yield Rig(srv, session, Clock())


class Rig:
    def __init__(self, srv: Any, session: Any, clock: Clock) -> None:
        self.srv, self.session, self.clock = srv, session, clock

    def specs(self, *docs: dict[str, Any], base: list[dict[str, Any]] = BASE) -> Any:
        (self.session.config.root / "specs" / "all.yaml").write_text(yaml.safe_dump_all(base + list(docs)))
        return load_desired(self.session.config)

    def plan(self, specs: Any) -> Any:
        return make_plan(self.session, specs, now=self.clock)

    def apply(self, specs: Any) -> Any:
        return run_apply(self.session, self.plan(specs), now=self.clock)

    def advance(self, seconds: float) -> None:
        self.clock.t += dt.timedelta(seconds=seconds)
        self.srv.advance_clock(seconds)

    def settle(self, specs: Any, rounds: int = 30) -> Any:
        """Apply, let the service work (training, evaluations, provisioning), until an apply changes nothing."""
        for _ in range(rounds):
            result = self.apply(specs)
            if result.failed or (not result.running and not result.deferred and not self.plan(specs).has_changes):
                return result
            self.srv.wait_for_training(timeout=120)
            self.advance(STEP_S)
        raise AssertionError("never settled")

    def endpoint(self) -> Any:
        return self.session.backend.get_endpoint("shapes-ep")

    def jobs(self, job_type: str) -> list[str]:
        return sorted(j["name"] for j in self.session.backend._client.list(
            f"{self.session.backend._ws}/jobs", {"jobType": job_type, "listViewType": "All"}))

    def serving(self) -> dict[str, str]:
        ep = self.endpoint()
        return {ep.deployments[n].model: v for n, v in ep.traffic.items() if v}


def _change(plan: Any) -> Any:
    return next(c for c in plan.changes if c.kind == "Deployment")


def test_first_deployment_passes_its_gate_and_serves_then_the_plan_is_empty(project: Rig) -> None:
    specs = project.specs(deployment())
    first = _change(project.plan(specs))
    assert first.action == "create" and first.reason_code == "gate-pending"
    result = project.settle(specs)
    assert result.exit_code == ExitCode.OK, result
    assert project.serving() == {"clf-a": 100}
    project.srv.request_log.clear()
    plan = project.plan(specs)
    assert not plan.has_changes, [(c.address, c.action, c.reason) for c in plan.changes if c.action != "no-op"]
    calls = project.srv.request_log.snapshot()
    assert {r.method for r in calls} == {"GET"}  # a plan with a deployment only reads
    singles = [r.path for r in calls if not r.path.endswith(("/data", "/versions", "/jobs", "/models", "/onlineEndpoints",
                                                             "/deployments"))]
    assert singles == [], singles  # lists only: a version that serves everything needs no gate figures
    from reconcile.status import status_document

    (ep,) = status_document(project.session.backend.observe())["endpoints"]
    assert ep["name"] == "shapes-ep" and list(ep["traffic"].values()) == [100]
    assert [(d["model"], d["provisioningState"]) for d in ep["deployments"]] == [("clf-a", "Succeeded")]
    prediction = project.session.backend.predict(
        "clf-a", image=(ROOT / "data/shapes/classification/images/test-001.png").read_bytes())
    assert prediction.tags and prediction.tags[0].confidence >= prediction.tags[-1].confidence
    through_traffic = project.session.backend.predict(
        "clf-a", image=(ROOT / "data/shapes/classification/images/test-001.png").read_bytes(), deployment="shapes-ep")
    assert through_traffic.tags == prediction.tags
    with pytest.raises(InputError, match="no endpoint or deployment named 'nope'"):
        project.session.backend.predict("clf-a", image=b"x", deployment="nope")
    with pytest.raises(InputError, match="shapes-ep serves clf-a, not clf-b"):  # never clf-a's answer labelled clf-b
        project.session.backend.predict("clf-b", image=b"x", deployment="shapes-ep")
    (dep,) = project.endpoint().deployments
    with pytest.raises(InputError, match=f"{dep} serves clf-a, not clf-b"):
        project.session.backend.predict("clf-b", image=b"x", deployment=dep)


def _deploy_a(project: Rig, **extra: Any) -> Any:
    specs = project.specs(deployment(**extra))
    assert project.settle(specs).exit_code == ExitCode.OK
    assert project.serving() == {"clf-a": 100}
    return specs


def test_a_failing_gate_switches_nothing_and_exits_1(project: Rig) -> None:
    _deploy_a(project)
    specs = project.specs(deployment("clf-b", gate=[{"evaluation": "holdout", "thresholds": {"accuracyTop1": 1.0}}]))
    for _ in range(30):  # train b and evaluate it; the gate then fails
        plan = project.plan(specs)
        if _change(plan).reason_code == "gate-failed":
            break
        run_apply(project.session, plan, now=project.clock)
        project.srv.wait_for_training(timeout=120)
        project.advance(STEP_S)
    change = _change(plan)
    assert change.gate is not None and change.gate.status == "fail"
    check = change.gate.checks[0]
    assert (check.metric, check.required, check.status) == ("accuracyTop1", 1.0, "fail") and check.candidate is not None
    assert change.desired.traffic == {n: v for n, v in project.endpoint().traffic.items() if v}
    result = run_apply(project.session, plan, now=project.clock)
    assert result.exit_code == ExitCode.ERROR
    assert "gate" in result.failed[0].message and "accuracyTop1" in result.failed[0].message
    assert project.serving() == {"clf-a": 100}


def _until_gate(project: Rig, specs: Any, rounds: int = 30) -> Any:
    """Plan and apply until the deployment's gate is no longer pending; return that plan."""
    for _ in range(rounds):
        plan = project.plan(specs)
        gate = _change(plan).gate
        if gate is not None and gate.status != "pending":
            return plan
        run_apply(project.session, plan, now=project.clock)
        project.srv.wait_for_training(timeout=120)
        project.advance(STEP_S)
    raise AssertionError("the gate stayed pending")


def test_a_failed_evaluation_fails_the_gate_and_switches_nothing(project: Rig) -> None:
    _deploy_a(project)
    root = project.session.config.root / "data" / "shapes" / "classification"
    coco = json.loads((root / "test.coco.json").read_text())
    coco["categories"][0]["name"] = "hexagon"  # a label the model never saw: the evaluation fails
    (root / "odd.coco.json").write_text(json.dumps(coco))
    odd = [{"kind": "Dataset", "name": "cls-odd", "annotationKind": "imageClassification",
            "labels": [{"file": "data/shapes/classification/odd.coco.json",
                        "images": "data/shapes/classification/images"}]},
           {"kind": "Evaluation", "name": "odd", "model": "clf-b", "dataset": "cls-odd"}]
    specs = project.specs(*odd, deployment("clf-b", gate=[{"evaluation": "odd", "thresholds": {"accuracyTop1": 0.0}}]))
    plan = _until_gate(project, specs)
    change = _change(plan)
    assert change.gate.status == "fail" and "failed (UserError)" in " ".join(change.gate.reasons)
    result = run_apply(project.session, plan, now=project.clock)
    assert result.exit_code == ExitCode.ERROR and "odd" in result.failed[0].message
    assert project.serving() == {"clf-a": 100}


def test_a_stale_evaluation_fails_the_gate(project: Rig) -> None:
    _deploy_a(project)  # b is trained and evaluated on cls-test too (BASE)
    labels = project.session.config.root / "data/shapes/classification/test.coco.json"
    coco = json.loads(labels.read_text())
    dropped = coco["images"].pop()["id"]
    coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] != dropped]
    labels.write_text(json.dumps(coco))
    assert project.settle(project.specs(deployment())).exit_code == ExitCode.OK  # cls-test gets a new version
    specs = project.specs(deployment("clf-b"))
    change = _change(project.plan(specs))
    assert change.gate.status == "fail", change.gate
    assert any("is stale: it ran on dataset cls-test version" in r for r in change.gate.reasons)
    result = project.apply(specs)
    assert result.exit_code == ExitCode.ERROR and any(f.address == "deployment/shapes-ep" for f in result.failed)
    assert project.serving() == {"clf-a": 100}


def test_must_not_regress_runs_the_incumbents_evaluation_on_the_same_dataset_version(project: Rig) -> None:
    _deploy_a(project)
    check = [{"kind": "Dataset", "name": "cls-check", "annotationKind": "imageClassification",
              "labels": [{"file": "data/shapes/classification/train.coco.json",
                          "images": "data/shapes/classification/images"}]},
             {"kind": "Evaluation", "name": "check", "model": "clf-b", "dataset": "cls-check"}]
    specs = project.specs(*check, deployment("clf-b", gate=[{"evaluation": "check", "thresholds": {"accuracyTop1": 0.0},
                                                             "mustNotRegress": {"tolerance": 0.0}}]))
    first = _change(project.plan(specs))
    assert first.gate.status == "pending"
    plan = _until_gate(project, specs)
    gate = _change(plan).gate
    assert gate.incumbent.startswith("clf-a:")
    regression = next(k for k in gate.checks if k.rule == "must-not-regress")
    incumbent_jobs = [j for j in project.jobs("Pipeline") if j.startswith("clf-a-check-eval-")]
    assert len(incumbent_jobs) == 1  # apply evaluated the incumbent version on cls-check, once
    figure = project.session.backend.gate_evaluation("clf-a", "check", gate.incumbent.split(":", 1)[1], "cls-check")
    assert regression.incumbent == figure.performance["accuracyTop1"]
    assert regression.status == ("pass" if regression.candidate >= regression.incumbent else "fail")


def test_staged_steps_wait_for_the_bake_time(project: Rig) -> None:
    _deploy_a(project)
    specs = project.specs(deployment("clf-b", rollout={"steps": [25, 100], "bakeMinutes": 30}))
    shares = []
    for _ in range(40):
        plan = project.plan(specs)
        if not plan.has_changes:
            break
        run_apply(project.session, plan, now=project.clock)
        share = project.serving().get("clf-b", 0)
        if not shares or shares[-1] != share:
            shares.append(share)
        if share == 25:
            # Within the bake time the next plan waits, and apply moves nothing.
            waiting = _change(project.plan(specs))
            assert waiting.reason_code == "baking", waiting.reason
            run_apply(project.session, project.plan(specs), now=project.clock)
            assert project.serving() == {"clf-a": 75, "clf-b": 25}
            project.advance(31 * 60)
            continue
        project.srv.wait_for_training(timeout=120)
        project.advance(STEP_S)
    assert shares == [0, 25, 100]
    assert project.serving() == {"clf-b": 100}
    ep = project.endpoint()
    assert len(ep.deployments) == 2  # keepPrevious 1: a is kept at 0 %
    assert not project.plan(specs).has_changes


def test_revert_is_a_traffic_switch_with_no_training(project: Rig) -> None:
    _deploy_a(project)
    specs_b = project.specs(deployment("clf-b"))
    project.settle(specs_b)
    assert project.serving() == {"clf-b": 100}
    automl, pipelines = project.jobs("AutoML"), project.jobs("Pipeline")
    specs_a = project.specs(deployment("clf-a"))
    change = _change(project.plan(specs_a))
    assert change.gate is not None and change.gate.status == "pass"
    assert change.desired.traffic == {change.desired.deployment: 100} and change.instance_hours_per_day is None
    assert project.settle(specs_a).exit_code == ExitCode.OK
    assert project.serving() == {"clf-a": 100}
    assert project.jobs("AutoML") == automl and project.jobs("Pipeline") == pipelines  # nothing trained or evaluated
    assert not project.plan(specs_a).has_changes


def test_a_reverted_model_spec_switches_back_to_the_kept_deployment_with_no_training(project: Rig) -> None:
    _deploy_a(project)
    (kept,) = project.endpoint().deployments
    changed = [dict(d, budgetHours=3) if (d["kind"], d["name"]) == ("Model", "clf-a") else d for d in BASE]
    assert project.settle(project.specs(deployment(), base=changed)).exit_code == ExitCode.OK
    ep = project.endpoint()
    assert ep.traffic.get(kept, 0) == 0 and kept in ep.deployments and len(ep.deployments) == 2  # the new version serves; keepPrevious 1 keeps a
    automl, pipelines = project.jobs("AutoML"), project.jobs("Pipeline")
    specs = project.specs(deployment())
    model = next(c for c in project.plan(specs).changes if c.address == "model/clf-a")
    assert (model.action, model.reason_code, model.training_hours) == ("new-version", "reverted", None), model.reason
    assert project.settle(specs).exit_code == ExitCode.OK
    assert project.endpoint().traffic[kept] == 100
    assert project.jobs("AutoML") == automl and project.jobs("Pipeline") == pipelines  # nothing trained or evaluated
    assert not project.plan(specs).has_changes


def test_drift_traffic_changed_by_hand_is_set_back(project: Rig) -> None:
    specs = _deploy_a(project)
    specs = project.specs(deployment("clf-b"))
    project.settle(specs)
    ep = project.endpoint()
    old = next(n for n in ep.deployments if n not in ep.traffic or not ep.traffic[n])
    new = next(n for n, v in ep.traffic.items() if v)
    backend = project.session.backend
    backend._client.begin("PUT", backend._endpoint_path("shapes-ep"), {
        "location": project.srv.workspace.region, "tags": {k: v for k, v in _tags(backend).items()},
        "properties": {"authMode": "Key", "traffic": {old: 100, new: 0}}})
    plan = project.plan(specs)
    change = _change(plan)
    assert [d.kind for d in change.drift] == ["traffic-changed"]
    assert change.action == "update" and change.reason_code == "traffic-restored"
    run_apply(project.session, plan, now=project.clock)
    assert project.serving() == {"clf-b": 100}
    assert not project.plan(specs).has_changes


def _tags(backend: Any) -> dict[str, str]:
    return backend._client.get(backend._endpoint_path("shapes-ep")).get("tags") or {}


def test_drift_deployment_deleted_outside_is_created_again(project: Rig) -> None:
    _deploy_a(project)
    specs = project.specs(deployment("clf-b"))
    project.settle(specs)
    ep = project.endpoint()
    kept = next(n for n in ep.deployments if not ep.traffic.get(n))
    project.session.backend.delete_deployment("shapes-ep", kept)
    project.advance(61)
    plan = project.plan(specs)
    assert "deleted-in-service" in [d.kind for d in _change(plan).drift]
    assert run_apply(project.session, plan, now=project.clock).exit_code == ExitCode.OK
    again = project.plan(specs)
    assert not again.has_changes and not again.has_drift
    assert project.serving() == {"clf-b": 100}


def test_a_crash_between_candidate_and_switch_converges_without_a_duplicate(project: Rig,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _deploy_a(project)
    specs = project.specs(deployment("clf-b"))
    backend = project.session.backend
    real = backend.set_traffic
    calls: list[dict] = []

    def lost(endpoint: str, traffic: dict, **kw: Any) -> None:
        calls.append(dict(traffic))
        raise ServiceUnavailableError("connection dropped before the traffic PUT was sent")

    monkeypatch.setattr(backend, "set_traffic", lost)
    for _ in range(30):
        result = project.apply(specs)
        if calls:
            break
        project.srv.wait_for_training(timeout=120)
        project.advance(STEP_S)
    assert result.exit_code == ExitCode.ERROR and project.serving() == {"clf-a": 100}
    candidate = next(n for n, d in project.endpoint().deployments.items() if d.model == "clf-b")
    monkeypatch.setattr(backend, "set_traffic", real)
    assert project.settle(specs).exit_code == ExitCode.OK
    assert project.serving() == {"clf-b": 100}
    assert [n for n, d in project.endpoint().deployments.items() if d.model == "clf-b"] == [candidate]
    puts = [r for r in project.srv.request_log.snapshot() if r.method == "PUT" and r.path.endswith(f"/deployments/{candidate}")]
    assert len(puts) == 1
    assert not project.plan(specs).has_changes


def test_apply_rechecks_the_gate_before_the_switch(project: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    _deploy_a(project)
    specs = project.specs(deployment("clf-b", gate=[{"evaluation": "holdout", "thresholds": {"accuracyTop1": 0.1}}]))
    for _ in range(30):  # until the plan moves traffic with a passing gate
        plan = project.plan(specs)
        change = _change(plan)
        candidate = project.endpoint().deployments.get(change.desired.deployment or "-")
        if change.gate is not None and change.gate.status == "pass" and candidate is not None \
                and candidate.provisioning == "Succeeded":
            break
        run_apply(project.session, plan, now=project.clock)
        project.srv.wait_for_training(timeout=120)
        project.advance(STEP_S)
    backend = project.session.backend
    real = backend.gate_evaluation

    def worse(model: str, evaluation: str, version: str, dataset: str) -> Any:
        found = real(model, evaluation, version, dataset)
        return dataclasses.replace(found, performance={"accuracyTop1": 0.05}) if model == "clf-b" else found

    monkeypatch.setattr(backend, "gate_evaluation", worse)  # the figures moved after review
    result = run_apply(project.session, plan, now=project.clock)
    assert result.exit_code == ExitCode.ERROR
    assert "below the threshold 0.1" in result.failed[0].message
    assert project.serving() == {"clf-a": 100}


def test_removing_the_spec_and_pruning_deletes_the_endpoint(project: Rig) -> None:
    _deploy_a(project)
    specs = project.specs()
    kept = _change(project.plan(specs))
    assert (kept.action, kept.reason_code) == ("no-op", "kept-without-prune")
    plan = make_plan(project.session, specs, prune=True, now=project.clock)
    assert [(c.address, c.action) for c in plan.changes if c.kind == "Deployment"] == [("deployment/shapes-ep", "delete")]
    result = run_apply(project.session, plan, now=project.clock)
    assert result.deleted == ["deployment/shapes-ep"], result
    project.advance(61)
    assert project.endpoint() is None
    assert "deployment/shapes-ep" not in project.session.state_store().load().records


def test_a_rollout_converges_under_injected_faults(project: Rig) -> None:
    _deploy_a(project)
    project.srv.faults = FaultConfig(error_rate=0.15, drop_after_rate=0.05, error_statuses=(500, 503), seed=7,
                                     retry_after_seconds=0)
    specs = project.specs(deployment("clf-b"))
    for _ in range(40):
        try:
            project.apply(specs)
        except ReconcileError:
            pass  # a run that gave up; the next one resumes
        if project.serving().get("clf-b") == 100:
            break
        project.srv.wait_for_training(timeout=120)
        project.advance(STEP_S)
    project.srv.faults = FaultConfig()
    assert project.serving() == {"clf-b": 100}
    assert len([d for d in project.endpoint().deployments.values() if d.model == "clf-b"]) == 1


def test_sigkill_right_after_the_candidate_put_converges_with_one_deployment(project: Rig) -> None:
    from reconcile.lock import lock_for
    from tests.backends.azureml.test_crash import _apply_in_child, _kill_after, _wait_child

    _deploy_a(project)
    specs = project.specs(deployment("clf-b"))
    for _ in range(30):  # train and evaluate b; stop before its deployment is created
        change = _change(project.plan(specs))
        if change.gate is not None and change.gate.status == "pass":
            break
        project.apply(specs)
        project.srv.wait_for_training(timeout=120)
        project.advance(STEP_S)
    candidate = _change(project.plan(specs)).desired.deployment
    box: dict = {}
    _kill_after(project.srv, box, f"/deployments/{candidate}")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        _apply_in_child(project.session.config, str(project.srv.cert_file))
    box["pid"] = pid
    status = _wait_child(pid)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    project.srv.gateway.observers.clear()
    lock_for(project.session.config).break_lock()
    assert project.settle(specs).exit_code == ExitCode.OK
    assert project.serving() == {"clf-b": 100}
    assert [n for n, d in project.endpoint().deployments.items() if d.model == "clf-b"] == [candidate]
    puts = {r.path for r in project.srv.request_log.snapshot() if r.method == "PUT" and "/deployments/" in r.path}
    assert {p.rsplit("/", 1)[1] for p in puts} == {candidate, deployment_name("clf-a", _version_of(project, "clf-a"))}
    inventory = project.session.state_store().load()
    assert inventory.records["deployment/shapes-ep"].intent is None
    assert not project.plan(specs).has_changes


def _version_of(project: Rig, model: str) -> str:
    return project.session.backend.get_model(model).version
