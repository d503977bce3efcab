"""plan → apply → empty plan on a service: azureml environment, against the emulator (HTTPS) and Azurite."""

from __future__ import annotations

from reconcile.plan import render

import json
from pathlib import Path

import pytest
import yaml

from reconcile.errors import StalePlanError
from reconcile.workflow import load_desired, make_plan, run_apply
from tests.backends.azureml.conftest import ROOT, azureml_project  # noqa: F401 - ROOT is used by importers
from tests.fixtures.azurite import Azurite

pytestmark = pytest.mark.azurite  # emulator datastore on Azurite

SPECS = [
    {"kind": "Dataset", "name": "cls-train", "annotationKind": "imageClassification",
     "labels": [{"file": "data/shapes/classification/train.coco.json", "images": "data/shapes/classification/images"}],
     "customProperties": {"project": "shapes"}},
    {"kind": "Dataset", "name": "cls-test", "annotationKind": "imageClassification",
     "labels": [{"file": "data/shapes/classification/test.coco.json", "images": "data/shapes/classification/images"}]},
    {"kind": "Model", "name": "clf", "modelKind": "Generic-Classifier", "trainingDataset": "cls-train",
     "testDataset": "cls-test", "budgetHours": 1},
]


@pytest.fixture
def project(tmp_path: Path, azurite: Azurite, monkeypatch: pytest.MonkeyPatch):
    with azureml_project(tmp_path, azurite, monkeypatch,
                         lambda specs: (specs / "all.yaml").write_text(yaml.safe_dump_all(SPECS))) as opened:
        yield opened


def _train(srv, session, model: str) -> None:
    """Train ``model`` to its end and register it, as ``reconcile wait`` does."""
    for _ in range(200):
        live = session.backend.get_model(model)
        if live.status == "trained":
            live = session.backend.finish_model(model)
        if live.terminal:
            return
        srv.wait_for_training(timeout=120)
        srv.advance_clock(60)
    raise AssertionError("training never ended")


def test_plan_apply_then_an_empty_plan(project) -> None:
    srv, session = project
    specs = load_desired(session.config)
    plan = make_plan(session, specs)
    assert plan.service == "azureml"
    assert [(c.address, c.action) for c in plan.changes] == [
        ("dataset/cls-test", "create"), ("dataset/cls-train", "create"), ("model/clf", "create")]
    model = plan.changes[-1]
    # the emulator's cluster has 4 nodes: a 1 h wall-clock budget is 4 node-hours at worst
    assert model.training_hours == 4 and plan.summary.training_hours == 4
    assert any("wall-clock timeout" in n and "worst case 4 node-hours" in n for n in model.notes)
    result = run_apply(session, plan)
    assert result.exit_code == 3, result.failed  # training submitted, not awaited
    _train(srv, session, "clf")
    assert session.backend.get_model("clf").status == "succeeded"
    again = make_plan(session, specs)
    assert not again.has_changes, [(c.address, c.action, c.reason) for c in again.changes]
    jobs = [r for r in srv.request_log.snapshot() if r.method == "PUT" and "/jobs/" in r.path]
    assert len(jobs) == 1


WRITES = ("PUT", "POST", "PATCH", "DELETE")


def _writes(srv) -> list[str]:
    return [f"{r.method} {r.path}" for r in srv.request_log.snapshot() if r.method in WRITES]


def _complete_without_registering(srv, session, model: str) -> None:
    """Move the clock until the job completes; nothing calls finish_model (an apply that crashed after
    submitting, or one that did not wait)."""
    for _ in range(200):
        if session.backend._newest_job(model)["properties"]["status"] == "Completed":
            return
        srv.wait_for_training(timeout=120)
        srv.advance_clock(60)
    raise AssertionError("training never ended")


def test_plan_writes_nothing_and_apply_registers_a_completed_job_once(project) -> None:
    srv, session = project
    specs = load_desired(session.config)
    srv.request_log.clear()
    first = make_plan(session, specs)
    assert first.has_changes and _writes(srv) == []  # nothing exists yet: the plan still writes nothing
    run_apply(session, first)
    _complete_without_registering(srv, session, "clf")

    srv.request_log.clear()
    plan = make_plan(session, specs)
    assert _writes(srv) == [], "plan wrote to the service"
    model = {c.address: c for c in plan.changes}["model/clf"]
    assert (model.action, model.reason_code, model.live_status) == ("update", "registration-pending", "trained")
    assert model.reason.startswith("training succeeded; registration of the best trial") and not model.training_hours
    assert session.backend._registered("clf") == set()

    srv.request_log.clear()
    result = run_apply(session, plan)
    assert result.exit_code == 0, result.failed
    job = session.backend._newest_job("clf")["name"]
    assert _writes(srv) == [f"PUT {session.config.azureml.workspace_id}/models/clf/versions/{job}"]
    assert session.backend.get_model("clf").status == "succeeded"
    assert not make_plan(session, specs).has_changes
    # the same saved plan applied again (a re-run after a lost answer) registers nothing twice, trains nothing
    srv.request_log.clear()
    assert run_apply(session, plan).exit_code == 0
    assert _writes(srv) == []
    assert session.backend._registered("clf") == {job}


def test_a_saved_plan_is_refused_when_a_dataset_changed_outside(project) -> None:
    srv, session = project
    specs = load_desired(session.config)
    run_apply(session, make_plan(session, specs))
    changed = [dict(s) for s in SPECS]
    plan = make_plan(session, specs, deep=True)  # a deep plan: apply's staleness check reads deeply too
    assert not [c for c in plan.changes if c.kind == "Dataset" and c.action != "no-op"]
    # someone re-tags the live version by hand: the plan's fingerprint no longer matches
    ws = session.config.azureml.workspace_id
    live = session.backend.get_dataset("cls-train")
    version = live.etag.split(";")[0]
    body = session.client.get(f"{ws}/data/cls-train/versions/{version}")
    body["properties"]["tags"] = {"project": "hand-edited"}
    session.client.put(f"{ws}/data/cls-train/versions/{version}", {"properties": {
        k: v for k, v in body["properties"].items() if k in ("dataType", "dataUri", "tags", "properties",
                                                             "description", "isAnonymous", "isArchived")}})
    stale = plan.model_copy(update={"changes": [c.model_copy(update={"action": "update"}) if c.name == "cls-train"
                                                 else c for c in plan.changes]})
    with pytest.raises(StalePlanError, match="dataset/cls-train"):
        run_apply(session, stale)
    assert changed  # the specs did not change: only the live object did


def test_cost_guardrail_holds_nodes_times_hours(project) -> None:
    from reconcile.errors import RefusedError
    from reconcile.specs.config.resolved import Guardrails

    srv, session = project
    session.config = session.config.model_copy(update={"guardrails": Guardrails(max_budget_hours_per_model=3)})
    plan = make_plan(session, load_desired(session.config))
    assert [g.rule for g in plan.guardrails] == ["max-budget-hours-per-model"]
    assert plan.guardrails[0].value == 4
    with pytest.raises(RefusedError):
        run_apply(session, plan)
    assert not [r for r in srv.request_log.snapshot() if r.method == "PUT" and "/jobs/" in r.path]


def _put_version(session, name: str, change) -> None:
    ws = session.config.azureml.workspace_id
    version = session.backend.get_dataset(name).etag.split(";")[0]
    props = session.client.get(f"{ws}/data/{name}/versions/{version}")["properties"]
    keep = {k: v for k, v in props.items() if k in ("dataType", "dataUri", "tags", "properties", "description",
                                                     "isAnonymous", "isArchived")}
    change(keep)
    session.client.put(f"{ws}/data/{name}/versions/{version}", {"properties": keep})


def test_drift_changed_tags_archived_version_and_a_job_cancelled_outside(project) -> None:
    srv, session = project
    specs = load_desired(session.config)
    run_apply(session, make_plan(session, specs))
    _put_version(session, "cls-train", lambda p: p.update(tags={"project": "edited"}))
    _put_version(session, "cls-test", lambda p: p.update(isArchived=True))
    ws = session.config.azureml.workspace_id
    job = session.backend._jobs()[0]["name"]
    session.client.begin("POST", f"{ws}/jobs/{job}/cancel")
    for _ in range(20):
        if session.backend.get_model("clf").status == "cancelled":
            break
        srv.advance_clock(30)
    fast = make_plan(session, specs)
    # the fast plan trusts each data container's mirror: versions edited outside are not seen (docs/azureml.md)
    assert {c.address: c.action for c in fast.changes if c.kind == "Dataset"} == {
        "dataset/cls-train": "no-op", "dataset/cls-test": "no-op"}
    assert not fast.deep and fast.observation.startswith("fast")
    plan = make_plan(session, specs, deep=True)  # what the drift workflow runs
    assert plan.deep and plan.observation.startswith("deep")
    assert "Observed (deep: the versions of all 2 data container(s) were listed)" in render.to_markdown(plan)
    assert "Observed (fast: 2 dataset(s) read from their data container's mirror" in render.to_markdown(fast)
    by = {c.address: c for c in plan.changes}
    train, test, model = by["dataset/cls-train"], by["dataset/cls-test"], by["model/clf"]
    assert train.action == "new-version" and [d.kind for d in train.drift] == ["changed-in-service"]
    assert test.action == "create" and [d.kind for d in test.drift] == ["deleted-in-service"]
    assert model.live_status == "cancelled" and any("cancelled" in n for n in model.notes)
    # a job cancelled outside is trained again as a new job (names are never reused: the next generation)
    assert model.action == "new-version" and model.reason_code == "ended-outside" and model.training_hours
    # apply restores the tags in place and un-archives the same version (no new versions)
    run_apply(session, plan)
    names = sorted(j["name"] for j in session.backend._jobs())
    assert len(names) == 2 and names[0] == job and names[1] == job[:-1] + "2", names
    assert session.backend.get_model("clf").status == "running"
    assert len(session.backend._versions("cls-train")) == 1 and len(session.backend._versions("cls-test")) == 1
    assert session.backend.get_dataset("cls-train").custom_properties["project"] == "shapes"
    assert session.backend.get_dataset("cls-test") is not None


def test_prune_archives_and_leaves_a_foreign_dataset_alone(project) -> None:
    srv, session = project
    specs = load_desired(session.config)
    run_apply(session, make_plan(session, specs))
    # someone else's dataset: listed as unmanaged, never archived by --prune
    ws = session.config.azureml.workspace_id
    session.client.put(f"{ws}/data/foreign/versions/1", {"properties": {
        "dataType": "mltable", "dataUri": "azureml://datastores/workspaceblobstore/paths/elsewhere/",
        "tags": {}, "properties": {}, "isAnonymous": False, "isArchived": False}})
    plan = make_plan(session, specs, prune=True)
    assert {c.address: c.action for c in plan.changes}["dataset/foreign"] == "unmanaged"
    # drop cls-test (and the model's reference to it) from the specs: --prune archives it
    kept = [s for s in SPECS if s["name"] != "cls-test"]
    kept[-1] = {k: v for k, v in kept[-1].items() if k != "testDataset"}
    (session.config.root / "specs" / "all.yaml").write_text(yaml.safe_dump_all(kept))
    specs = load_desired(session.config)
    plan = make_plan(session, specs, prune=True)
    actions = {c.address: c.action for c in plan.changes}
    assert actions["dataset/cls-test"] == "delete" and actions["dataset/foreign"] == "unmanaged"
    run_apply(session, plan, confirm_deletions=1)
    assert session.backend.get_dataset("cls-test") is None
    assert [v["properties"]["isArchived"] for v in session.backend._versions("cls-test")] == [True]
    assert session.backend.get_dataset("foreign") is not None


def _finish_evaluation(srv, session, model: str, name: str):
    for _ in range(200):
        live = session.backend.get_evaluation(model, name)
        if live is not None and live.terminal:
            return live
        srv.wait_for_training(timeout=120)
        srv.advance_clock(60)
    raise AssertionError("the evaluation never ended")


def _evaluation_jobs(session) -> list[dict]:
    return session.backend._evaluation_jobs()


def _with_evaluation(session, name: str, dataset: str):
    docs = SPECS + [{"kind": "Evaluation", "name": name, "model": "clf", "dataset": dataset}]
    (session.config.root / "specs" / "all.yaml").write_text(yaml.safe_dump_all(docs))
    return load_desired(session.config)


def test_evaluation_on_another_dataset_runs_the_registry_evaluation_pipeline(project) -> None:
    srv, session = project
    specs = _with_evaluation(session, "on-train", "cls-train")  # not the model's testDataset
    result = run_apply(session, make_plan(session, specs))
    assert result.exit_code == 3 and result.deferred == ["evaluation/clf/on-train"]
    _train(srv, session, "clf")
    plan = make_plan(session, specs)
    [change] = [c for c in plan.changes if c.address == "evaluation/clf/on-train"]
    assert any("model_evaluation_pipeline" in n and "unconfirmed" in n for n in change.notes), change.notes
    result = run_apply(session, plan)
    assert result.exit_code in (0, 3), result.failed
    [job] = _evaluation_jobs(session)
    props = job["properties"]
    assert props["jobType"] == "Pipeline"
    [node] = props["jobs"].values()
    assert node["componentId"].startswith("azureml://registries/azureml/components/model_evaluation_pipeline/")
    assert "/data/cls-train/versions/" in props["inputs"]["test_data"]["uri"]
    assert props["inputs"]["task"]["value"] == "image-classification"
    assert "/models/clf/versions/" in props["inputs"]["mlflow_model"]["uri"]
    assert props["status"] not in ("Completed", "Failed")  # scoring takes (emulated) time
    ev = _finish_evaluation(srv, session, "clf", "on-train")
    assert ev.status == "succeeded" and ev.test_dataset == "cls-train"
    assert 0.0 <= ev.performance["accuracyTop1"] <= 1.0
    # The figures are those the MLflow REST API reports for the pipeline run, renamed.
    logged = {m["key"]: m["value"] for m in session.backend._mlflow_run(job["name"])["run"]["data"]["metrics"]}
    assert ev.performance["accuracyTop1"] == logged["accuracy"]
    assert not make_plan(session, specs).has_changes


def test_evaluation_on_the_test_dataset_scores_the_registered_model(project) -> None:
    srv, session = project
    specs = _with_evaluation(session, "holdout", "cls-test")
    run_apply(session, make_plan(session, specs))
    _train(srv, session, "clf")
    run_apply(session, make_plan(session, specs))
    ev = _finish_evaluation(srv, session, "clf", "holdout")
    assert ev.status == "succeeded" and "accuracyTop1" in ev.performance
    assert not make_plan(session, specs).has_changes


def test_a_retried_evaluation_adopts_its_job_and_never_submits_a_second(project) -> None:
    srv, session = project
    specs = _with_evaluation(session, "on-train", "cls-train")
    run_apply(session, make_plan(session, specs))
    _train(srv, session, "clf")
    srv.request_log.clear()
    run_apply(session, make_plan(session, specs))
    # A crash after the PUT: the next run submits the same evaluation again.
    from reconcile.backends.base import DesiredEvaluation
    again = session.backend.create_evaluation(DesiredEvaluation(model="clf", name="on-train", dataset="cls-train"))
    assert again.status == "running"
    puts = [r.path for r in srv.request_log.snapshot() if r.method == "PUT" and "-eval-" in r.path]
    assert len(puts) == 1, puts
    assert len(_evaluation_jobs(session)) == 1


def test_a_failed_evaluation_ends_failed_with_the_reason(project) -> None:
    srv, session = project
    root = session.config.root / "data" / "shapes" / "classification"
    coco = json.loads((root / "test.coco.json").read_text())
    coco["categories"][0]["name"] = "hexagon"  # a label the model never saw: the scoring step fails
    (root / "odd.coco.json").write_text(json.dumps(coco))
    docs = SPECS + [
        {"kind": "Dataset", "name": "cls-odd", "annotationKind": "imageClassification",
         "labels": [{"file": "data/shapes/classification/odd.coco.json", "images": "data/shapes/classification/images"}]},
        {"kind": "Evaluation", "name": "odd", "model": "clf", "dataset": "cls-odd"}]
    (session.config.root / "specs" / "all.yaml").write_text(yaml.safe_dump_all(docs))
    specs = load_desired(session.config)
    run_apply(session, make_plan(session, specs))
    _train(srv, session, "clf")
    run_apply(session, make_plan(session, specs))
    ev = _finish_evaluation(srv, session, "clf", "odd")
    assert ev.status == "failed"
    assert ev.error_code == "UserError" and "hexagon" in (ev.error_message or ""), ev
    assert not make_plan(session, specs).has_changes  # a failed evaluation is not resubmitted by itself


def test_a_noop_plan_makes_only_reads_and_lists(project) -> None:
    srv, session = project
    specs = load_desired(session.config)
    run_apply(session, make_plan(session, specs))
    _train(srv, session, "clf")
    srv.request_log.clear()
    plan = make_plan(session, specs)
    assert not plan.has_changes
    calls = [(r.method, r.path.rsplit("/workspaces/", 1)[-1]) for r in srv.request_log.snapshot()]
    assert {m for m, _ in calls} == {"GET"}
    singles = [p for _, p in calls if not p.endswith(("/data", "/versions", "/jobs", "/models", "/onlineEndpoints",
                                                       "/deployments"))]
    assert singles == [], singles  # no GET per resource: lists only (Compute_Get was read once, at open)
