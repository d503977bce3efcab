"""Golden plans on the Azure ML service: live state in Azure ML's wire shapes → the plan, pinned.

Live objects are parsed by the backend's own wire functions from bodies shaped like the
service's answers, so a change in the mapping or in the planner's use of the capabilities
(new-version, node-hours, the budget note) shows up here.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from reconcile.backends.azureml import naming, wire
from reconcile.backends.azureml.backend import capabilities_for
from reconcile.backends.base import DesiredModel, LiveState
from reconcile.inventory.records import Inventory, ResourceRecord
from reconcile.plan import render
from reconcile.plan.compute import compute_plan
from reconcile.plan.guardrails import Limits
from reconcile.specs.loader import load_specs

URI = "https://acct.blob.core.windows.net/images/vision-gitops/labels/"
STAMP = {"createdAt": "2026-11-30T10:00:00Z", "lastModifiedAt": "2026-11-30T10:00:00Z"}
SPECS = [
    {"kind": "Dataset", "name": "train", "annotationKind": "imageObjectDetection", "labels": [{"uri": URI + "a.json"}],
     "customProperties": {"team": "vision"}},
    {"kind": "Model", "name": "det", "modelKind": "Generic-Detector", "trainingDataset": "train", "budgetHours": 2},
]


def _specs(tmp_path: Path, docs: list[dict]):
    (tmp_path / "specs").mkdir(exist_ok=True)
    (tmp_path / "specs" / "all.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return load_specs([tmp_path / "specs"], root=tmp_path, api_version="2023-04-01-preview")


def _plan(specs, live: LiveState, limits: Limits = Limits()):
    # What an earlier apply recorded: whatever is live was created by us.
    owned = {f"dataset/{n}": ResourceRecord(address=f"dataset/{n}", kind="Dataset", name=n) for n in live.datasets}
    owned |= {f"model/{n}": ResourceRecord(address=f"model/{n}", kind="Model", name=n) for n in live.models}
    return compute_plan(specs, live, labels={}, environment="ml", endpoint="https://management.azure.com",
                        api_version="2024-04-01", capabilities=capabilities_for(4), limits=limits, prune=False,
                        inventory=Inventory(records=owned))


def _data_version(name: str, labels: list[str], tags: dict[str, str], version: str = "v1"):
    body = {"name": version, "systemData": STAMP, "properties": {
        "tags": tags, "isArchived": False,
        "properties": {wire.PROP_LABELS: json.dumps(labels), wire.PROP_KIND: "imageObjectDetection"}}}
    return wire.parse_data_version(name, body)


def _job(model: DesiredModel, status: str):
    body = wire.job_body(model, spec_hash=naming.model_spec_hash(model), task=wire.AutoMLTask.DETECTION,
                         compute_id="/c", train_uri="/d", test_uri=None)
    body = {"name": naming.job_name(model.name, naming.model_spec_hash(model), 1), "systemData": STAMP,
            "properties": {**body["properties"], "status": status}}
    return wire.parse_job(model.name, body, registered=status == "Completed")


def _summary(plan) -> dict:
    return {c.address: (c.action, c.reason_code, [f.path for f in c.changes], c.training_hours) for c in plan.changes}


def test_create_all_counts_node_hours_and_says_what_the_budget_is(tmp_path: Path) -> None:
    plan = _plan(_specs(tmp_path, SPECS), LiveState())
    assert plan.service == "azureml"
    assert _summary(plan) == {
        "dataset/train": ("create", "does-not-exist", [], None),
        "model/det": ("create", "does-not-exist", [], 8),
    }
    assert plan.changes[1].notes == [
        "budgetHours 2 is the AutoML job's wall-clock timeout on a cluster of up to 4 node(s): worst case 8 "
        "node-hours (the retired Vision service billed 2 compute hours)"]
    text = render.to_rich(plan).plain
    assert "wall-clock timeout" in text and "8 compute hours" in text


def test_changed_labels_and_budget_are_new_versions_and_the_cap_holds(tmp_path: Path) -> None:
    specs = _specs(tmp_path, SPECS)
    old_model = DesiredModel(name="det", model_kind="Generic-Detector", training_dataset="train", budget_hours=1)
    tags = dict(_plan(specs, LiveState()).changes[0].desired.custom_properties)  # as our last apply wrote them
    live = LiveState(
        datasets={"train": _data_version("train", [URI + "old.json"], tags)},
        models={"det": _job(old_model, "Completed")},
    )
    plan = _plan(specs, live, Limits(max_budget_hours_per_model=6))
    assert _summary(plan) == {
        "dataset/train": ("new-version", "versioned", ["labels"], None),
        "model/det": ("new-version", "versioned", ["budgetHours"], 8),
    }
    assert [g.rule for g in plan.guardrails] == ["max-budget-hours-per-model"]
    assert "gets a new version beside the current one" in render.to_markdown(plan)


def test_live_state_as_applied_plans_to_nothing(tmp_path: Path) -> None:
    specs = _specs(tmp_path, SPECS)
    model = DesiredModel(name="det", model_kind="Generic-Detector", training_dataset="train", budget_hours=2)
    first = _plan(specs, LiveState())
    tags = dict(first.changes[0].desired.custom_properties)
    live = LiveState(datasets={"train": _data_version("train", [URI + "a.json"], tags)},
                     models={"det": _job(model, "Completed")})
    assert not _plan(specs, live).has_changes


def test_unknown_job_status_is_running_and_plans_nothing(tmp_path: Path) -> None:
    specs = _specs(tmp_path, SPECS)
    model = DesiredModel(name="det", model_kind="Generic-Detector", training_dataset="train", budget_hours=2)
    first = _plan(specs, LiveState())
    live = LiveState(datasets={"train": _data_version("train", [URI + "a.json"],
                                                      dict(first.changes[0].desired.custom_properties))},
                     models={"det": _job(model, "Scheduled")})
    plan = _plan(specs, live)
    assert live.models["det"].status == "running" and not plan.has_changes
