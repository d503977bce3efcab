"""The promises apply keeps when the world moved: a saved plan over changed label files writes
nothing at all, and a create that meets an existing resource adopts it only when it matches."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reconcile.apply.executor import ApplyOptions, apply_plan
from reconcile.backends.base import DesiredDataset, DesiredModel
from reconcile.errors import StalePlanError
from tests.fixtures.emulator import classification_coco
from tests.fixtures.project import coco_file

SHAPES = Path(__file__).resolve().parents[2] / "data" / "shapes" / "classification"
WRITES = {"PUT", "PATCH", "DELETE", "POST"}


def _writes(emulator: Any) -> list[str]:
    return [f"{r.method} {r.path}" for r in emulator.request_log if r.method in WRITES]


def _blobs(root: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in (root / ".blobs").rglob("*") if p.is_file()}


@pytest.mark.parametrize("existing,replaced", [(True, False), (False, False), (True, True)],
                         ids=["updates", "creates", "replaces"])
def test_saved_plan_refused_with_nothing_written_when_one_label_file_changed(project, emulator, existing,
                                                                              replaced) -> None:
    proj = project([])
    shutil.copytree(SHAPES, proj.root / "data")
    shutil.copytree(SHAPES.parent / "detection", proj.root / "det")
    specs = [
        {"kind": "Dataset", "name": name, "annotationKind": "imageClassification",
         "labels": [{"file": f"data/{name}.coco.json", "images": "data/images"}]}
        for name in ("test", "train")
    ]
    if existing:
        proj.write_specs(specs)
        first = proj.apply()
        assert first.exit_code == 0 and not first.running  # datasets are ready at once
        for spec in specs:
            spec["customProperties"] = {"team": "vision"}
    if replaced:  # the training set becomes a detection set: a new annotation kind is a replacement
        specs[1].update(annotationKind="imageObjectDetection",
                        labels=[{"file": "det/train.coco.json", "images": "det/images"}])
    proj.write_specs(specs)
    saved = proj.plan()
    expected = ["update", "replace"] if replaced else ["update", "update"] if existing else ["create", "create"]
    assert [c.action for c in saved.changes] == expected

    coco = proj.root / ("det" if replaced else "data") / "train.coco.json"
    doc = json.loads(coco.read_text())
    doc["categories"][0]["name"] = "disc"
    coco.write_text(json.dumps(doc))
    blobs = _blobs(proj.root) if existing else {}
    emulator.request_log.clear()
    with pytest.raises(StalePlanError, match="/train.coco.json changed since the plan was made"):
        proj.apply(saved, allow_replace=True)
    assert _writes(emulator) == []  # the other dataset was not written either
    assert (_blobs(proj.root) if (proj.root / ".blobs").exists() else {}) == blobs


class _Racing:
    """A backend where someone else creates the resource (with ``theirs``) just before our create."""

    def __init__(self, inner: Any, theirs: Any) -> None:
        self._inner = inner
        self._theirs = theirs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def create_dataset(self, request: DesiredDataset) -> Any:
        self._inner.create_dataset(self._theirs)
        return self._inner.create_dataset(request)

    def create_model(self, request: DesiredModel) -> Any:
        self._inner.create_model(self._theirs)
        return self._inner.create_model(request)


def _dataset_spec(root: Path) -> dict:
    uri = coco_file(root, "train.json", classification_coco({"circle": 6, "square": 6}))
    return {"kind": "Dataset", "name": "ds", "annotationKind": "imageClassification", "labels": [{"uri": uri}]}


def _race(proj: Any, theirs: Any) -> Any:
    with proj.session() as s:
        plan = proj.plan()
        return apply_plan(plan, _Racing(s.backend, theirs), ApplyOptions(waiter=proj.waiter(s)))


@pytest.mark.parametrize("differs", ["labels", "properties", "kind"])
def test_a_dataset_created_meanwhile_with_other_fields_is_a_conflict_not_adopted(project, emulator, differs) -> None:
    proj = project([])
    spec = _dataset_spec(proj.root)
    proj.write_specs([spec])
    planned = next(c for c in proj.plan().changes if c.address == "dataset/ds").desired
    theirs = planned.model_copy(update={
        "labels": {"label_uris": ("https://elsewhere.example/other.json",)},
        # Without our ownership marker: someone else's dataset, even with the same labels.
        "properties": {"custom_properties": {k: v for k, v in planned.custom_properties.items()
                                             if k != "vision-gitops.managed-by"}},
        "kind": {"annotation_kind": "imageObjectDetection"},
    }[differs])
    result = _race(proj, theirs)
    assert [a for a, _ in result.failed] == ["dataset/ds"] and not result.adopted
    assert "already exists with different fields" in result.failed[0][1]


def test_a_dataset_created_meanwhile_with_the_planned_fields_is_adopted(project, emulator) -> None:
    proj = project([])
    proj.write_specs([_dataset_spec(proj.root)])
    planned = next(c for c in proj.plan().changes if c.address == "dataset/ds")
    theirs = planned.desired
    result = _race(proj, theirs)
    assert result.adopted == ["dataset/ds"] and not result.failed


@pytest.mark.parametrize("field,value", [("budget_hours", 2), ("training_dataset", "other"),
                                         ("model_kind", "Generic-Detector"), ("test_dataset", "ds")])
def test_a_model_created_meanwhile_with_other_fields_is_a_conflict_not_adopted(project, emulator, field,
                                                                                value) -> None:
    proj = project([])
    ds = _dataset_spec(proj.root)
    other = {**ds, "name": "other"}
    proj.write_specs([ds, other])
    proj.apply()
    proj.write_specs([ds, other, {"kind": "Model", "name": "clf", "modelKind": "Generic-Classifier",
                                  "trainingDataset": "ds", "testDataset": "other", "budgetHours": 1}])
    mine = {"name": "clf", "model_kind": "Generic-Classifier", "training_dataset": "ds", "budget_hours": 1,
            "test_dataset": "other"}
    result = _race(proj, DesiredModel(**{**mine, field: value}))
    assert [a for a, _ in result.failed] == ["model/clf"] and not result.adopted
    with proj.session() as s:
        assert getattr(s.backend.get_model("clf"), field) in (value, "GenericDetector")


class _Unechoed(_Racing):
    """A service that does not echo modelKind (its default is unknown): matching must not need it."""

    def get_model(self, name: str) -> Any:
        model = self._inner.get_model(name)
        return None if model is None else replace(model, model_kind=None)


@pytest.mark.parametrize("racing", [_Racing, _Unechoed])
def test_a_model_created_meanwhile_with_the_planned_fields_is_adopted(project, emulator, racing) -> None:
    proj = project([])
    ds = _dataset_spec(proj.root)
    proj.write_specs([ds, {**ds, "name": "other"}])
    proj.apply()
    proj.write_specs([ds, {**ds, "name": "other"}, {"kind": "Model", "name": "clf", "modelKind": "Generic-Classifier",
                                                   "trainingDataset": "ds", "testDataset": "other", "budgetHours": 1}])
    theirs = DesiredModel(name="clf", model_kind="Generic-Classifier", training_dataset="ds", budget_hours=1,
                          test_dataset="other")
    with proj.session() as s:
        result = apply_plan(proj.plan(), racing(s.backend, theirs), ApplyOptions(waiter=proj.waiter(s)))
    assert result.adopted == ["model/clf"] and not result.failed


def test_unmanaged_resources_changing_do_not_make_a_plan_stale(project, emulator) -> None:
    """Only what the plan would touch is pinned: someone else's dataset may change meanwhile."""
    proj = project([])
    spec = _dataset_spec(proj.root)
    uri = spec["labels"][0]["uri"]
    proj.write_specs([spec])
    with proj.session() as s:
        s.client.put("datasets/theirs", {"annotationKind": "imageClassification", "annotationFileUris": [uri]})
    saved = proj.plan()
    assert {c.address: c.action for c in saved.changes} == {"dataset/ds": "create", "dataset/theirs": "unmanaged"}
    with proj.session() as s:
        live = s.backend.get_dataset("theirs")
        s.client.patch("datasets/theirs", {"annotationKind": "imageClassification", "annotationFileUris": [uri],
                                           "customProperties": {"team": "x"}}, if_match=live.etag)
    assert not proj.apply(saved).failed


@pytest.mark.parametrize("field,value", [("environment", "prod"), ("service", "azureml"),
                                         ("endpoint", "https://other.cognitiveservices.azure.com")])
def test_a_plan_made_for_another_environment_or_service_is_refused(project, emulator, field, value) -> None:
    from reconcile.errors import InputError
    from reconcile.workflow import run_apply

    proj = project([])
    proj.write_specs([_dataset_spec(proj.root)])
    plan = proj.plan().model_copy(update={field: value})
    emulator.request_log.clear()
    with proj.session() as s, pytest.raises(InputError, match=f"this plan was made for .*{value}"):
        run_apply(s, plan, waiter=proj.waiter(s))
    assert _writes(emulator) == []


def test_the_executor_refuses_a_plan_for_another_kind_of_service(project, emulator) -> None:
    """Even called directly (without the workflow's check), apply never sends one service's plan to another."""
    from reconcile.errors import InputError

    proj = project([])
    proj.write_specs([_dataset_spec(proj.root)])
    plan = proj.plan().model_copy(update={"service": "azureml"})
    with proj.session() as s, pytest.raises(InputError, match="made for the azureml service, not vision"):
        apply_plan(plan, s.backend, ApplyOptions(waiter=proj.waiter(s)))
    assert _writes(emulator) == []


def test_a_protected_resource_is_never_deleted_even_by_a_hand_edited_plan(project, emulator) -> None:
    """Defence in depth: the planner never plans it and the guardrails refuse it; the executor
    still refuses a protected deletion in a plan whose guardrails were edited away."""
    from reconcile.workflow import load_desired, make_plan, run_apply

    proj = project([])
    spec = _dataset_spec(proj.root)
    proj.write_specs([spec, {**spec, "name": "old"}])
    assert not proj.apply().failed
    proj.write_specs([spec])
    with proj.session() as s:
        plan = make_plan(s, load_desired(s.config), prune=True)
        assert [c.address for c in plan.changes if c.action == "delete"] == ["dataset/old"]
        edited = plan.model_copy(update={"changes": [
            c.model_copy(update={"protected": True}) if c.action == "delete" else c for c in plan.changes]})
        emulator.request_log.clear()
        result = run_apply(s, edited, waiter=proj.waiter(s))
    assert [f.address for f in result.failed] == ["dataset/old"] and "is protected" in result.failed[0].message
    assert _writes(emulator) == []


class _EditsBeforeDelete:
    """Someone edits the dataset between apply's staleness check and its delete."""

    def __init__(self, inner: Any, client: Any) -> None:
        self._inner = inner
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def delete_dataset(self, name: str, *, etag: str | None = None) -> bool:
        live = self._inner.get_dataset(name)
        self._client.patch(f"datasets/{name}", {"annotationKind": live.annotation_kind,
                                                "annotationFileUris": list(live.label_uris),
                                                "customProperties": {**live.custom_properties, "team": "x"}},
                           if_match=live.etag)
        return self._inner.delete_dataset(name, etag=etag)


def test_a_pruned_dataset_edited_at_the_last_moment_is_not_deleted(project, emulator) -> None:
    """The delete carries the planned eTag as a precondition: what was reviewed is what goes."""
    from reconcile.workflow import load_desired, make_plan

    proj = project([])
    spec = _dataset_spec(proj.root)
    proj.write_specs([spec, {**spec, "name": "old"}])
    assert not proj.apply().failed
    proj.write_specs([spec])
    with proj.session() as s:
        plan = make_plan(s, load_desired(s.config), prune=True)
        result = apply_plan(plan, _EditsBeforeDelete(s.backend, s.client), ApplyOptions(waiter=proj.waiter(s)))
        assert [f.address for f in result.failed] == ["dataset/old"] and not result.deleted
        assert s.backend.get_dataset("old") is not None


def test_deleting_a_model_forgets_only_its_own_records(project, emulator, monkeypatch) -> None:
    """The inventory forgets the deleted model and its evaluations, never another model's."""
    from reconcile.inventory.journal import Journal
    from reconcile.workflow import load_desired, make_plan, run_apply

    proj = project([])
    ds = _dataset_spec(proj.root)
    models = [{"kind": "Model", "name": n, "modelKind": "Generic-Classifier", "trainingDataset": "ds",
               "budgetHours": 1} for n in ("a", "b")]
    evals = [{"kind": "Evaluation", "name": "ev", "model": n, "dataset": "ds"} for n in ("a", "b")]
    proj.write_specs([ds, *models, *evals])
    assert proj.apply(wait=True).exit_code == 0
    proj.write_specs([ds, models[1], evals[1]])
    forgotten: list[list[str]] = []
    real_forget = Journal.forget

    def forget(self: Journal, addresses: Any) -> Any:
        forgotten.append(sorted(addresses))
        return real_forget(self, addresses)

    monkeypatch.setattr(Journal, "forget", forget)
    events = []
    with proj.session() as s:
        plan = make_plan(s, load_desired(s.config), prune=True)
        assert not run_apply(s, plan, waiter=proj.waiter(s), on_event=events.append).failed
    assert sorted(forgotten) == [["evaluation/a/ev"], ["evaluation/a/ev", "model/a"]]
    # what apply reports of a deletion says why (the plan's reason), not the status twice
    deleted = {e.address: e.message for e in events if e.status == "deleted"}
    assert deleted["model/a"] == "(owned by vision-gitops and no longer in the specs)", deleted
