"""Plan and apply follow what a backend declares, not one service's habits: a versioned service
gets new versions (nothing deleted), a service that cannot cancel training is waited for, and
evaluations are refused where the service has none.

The backend here is a small in-memory versioned service (the only other service so far is
the emulated one, which declares the opposite of each capability).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from reconcile.apply.executor import ApplyOptions, apply_plan
from reconcile.apply.waiting import Waiter
from reconcile.backends.base import (
    Capabilities,
    DesiredDataset,
    DesiredEvaluation,
    DesiredModel,
    LiveDataset,
    LiveEvaluation,
    LiveModel,
    LiveState,
)
from reconcile.errors import SpecError
from reconcile.inventory.records import Inventory, ResourceRecord
from reconcile.plan.compute import compute_plan
from reconcile.plan.model import Plan
from reconcile.specs.loader import SpecSet, load_specs

URI = "https://acct.blob.core.windows.net/c/{}.json"


class MemoryBackend:
    """Keeps the latest version of each resource; records every write."""

    def __init__(self, capabilities: Capabilities) -> None:
        self.capabilities = capabilities
        self.datasets: dict[str, LiveDataset] = {}
        self.models: dict[str, LiveModel] = {}
        self.writes: list[str] = []
        self.polls_until_done = 0

    def observe(self, *, evaluations_of: frozenset[str] | None = None, deep: bool = False) -> LiveState:
        return LiveState(datasets=dict(self.datasets), models=dict(self.models))

    def list_models(self) -> dict[str, LiveModel]:
        return dict(self.models)

    def get_dataset(self, name: str) -> LiveDataset | None:
        return self.datasets.get(name)

    def get_model(self, name: str) -> LiveModel | None:
        model = self.models.get(name)
        if model is not None and not model.terminal:
            self.polls_until_done -= 1
            if self.polls_until_done < 0:
                model = self.models[name] = replace(model, status="succeeded")
        return model

    def get_evaluation(self, model: str, name: str) -> LiveEvaluation | None:
        return None

    def create_dataset(self, desired: DesiredDataset) -> LiveDataset:
        self.writes.append(f"create dataset/{desired.name}")
        live = LiveDataset(name=desired.name, annotation_kind=desired.annotation_kind, label_uris=desired.label_uris,
                           custom_properties=dict(desired.custom_properties),
                           authentication_kind=desired.authentication, etag=f"v{len(self.writes)}")
        self.datasets[desired.name] = live
        return live

    def update_dataset(self, desired: DesiredDataset, *, etag: str) -> LiveDataset:
        self.writes.append(f"update dataset/{desired.name}")
        return self.create_dataset(desired)

    def delete_dataset(self, name: str, *, etag: str | None = None) -> bool:
        self.writes.append(f"delete dataset/{name}")
        return self.datasets.pop(name, None) is not None

    def create_model(self, desired: DesiredModel) -> LiveModel:
        self.writes.append(f"create model/{desired.name}")
        live = LiveModel(name=desired.name, status="training", training_dataset=desired.training_dataset,
                         budget_hours=desired.budget_hours, model_kind=desired.model_kind)
        self.models[desired.name] = live
        return live

    def cancel_model(self, name: str) -> None:
        self.writes.append(f"cancel model/{name}")

    def delete_model(self, name: str) -> bool:
        self.writes.append(f"delete model/{name}")
        return self.models.pop(name, None) is not None

    def create_evaluation(self, desired: DesiredEvaluation) -> LiveEvaluation:
        raise AssertionError("this service has no evaluations")

    def delete_evaluation(self, model: str, name: str) -> bool:
        raise AssertionError("this service has no evaluations")


def _specs(tmp_path: Path, *, budget: int, labels: str, evaluation: bool = False) -> SpecSet:
    docs = [{"kind": "Dataset", "name": "d", "annotationKind": "imageClassification",
             "labels": [{"uri": URI.format(labels)}]},
            {"kind": "Model", "name": "m", "modelKind": "Generic-Classifier", "trainingDataset": "d",
             "budgetHours": budget, "allowReplace": True}]
    if evaluation:
        docs.append({"kind": "Evaluation", "name": "e", "model": "m", "dataset": "d"})
    folder = tmp_path / "specs"
    folder.mkdir(exist_ok=True)
    (folder / "all.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return load_specs([folder], root=tmp_path, api_version="2023-04-01-preview")


def _plan(specs: SpecSet, backend: MemoryBackend) -> Plan:
    owned = {a: ResourceRecord(address=a, kind=k, name=a.split("/")[1])
             for a, k in (("dataset/d", "Dataset"), ("model/m", "Model"))}
    return compute_plan(specs, backend.observe(), labels={}, environment="test", endpoint="memory",
                        api_version="v", capabilities=backend.capabilities, inventory=Inventory(records=owned),
                        prune=False)


def _waiter(backend: MemoryBackend) -> Waiter:
    return Waiter(backend, poll=1.0, timeout=60.0, sleep=lambda s: None)  # type: ignore[arg-type]


VERSIONED = Capabilities(service="versioned", model_change="new-version", dataset_change="new-version",
                         evaluation_resources=False, cancel_training=False)


def test_a_versioned_service_gets_new_versions_and_nothing_is_deleted(tmp_path: Path) -> None:
    backend = MemoryBackend(VERSIONED)
    first = _plan(_specs(tmp_path, budget=1, labels="a"), backend)
    assert [c.action for c in first.changes] == ["create", "create"]
    apply_plan(first, backend, ApplyOptions(waiter=_waiter(backend)))  # type: ignore[arg-type]
    backend.writes.clear()

    plan = _plan(_specs(tmp_path, budget=2, labels="b"), backend)
    assert {c.address: (c.action, c.reason_code) for c in plan.changes} == {
        "dataset/d": ("new-version", "versioned"), "model/m": ("new-version", "versioned")}
    assert plan.summary.new_version == 2 and plan.summary.training_hours == 2
    result = apply_plan(plan, backend, ApplyOptions(waiter=_waiter(backend)))  # type: ignore[arg-type]
    assert not result.failed
    # The old model is still training: a versioned service neither cancels nor deletes it.
    assert backend.writes == ["create dataset/d", "create model/m"]


def test_a_replacement_on_a_service_that_cannot_cancel_waits_for_training_to_end(tmp_path: Path) -> None:
    backend = MemoryBackend(replace(VERSIONED, model_change="replace", dataset_change="update"))
    apply_plan(_plan(_specs(tmp_path, budget=1, labels="a"), backend), backend,
               ApplyOptions(waiter=_waiter(backend)))  # type: ignore[arg-type]
    backend.writes.clear()
    backend.polls_until_done = 2

    plan = _plan(_specs(tmp_path, budget=2, labels="a"), backend)
    assert [(c.address, c.action) for c in plan.changes if c.action != "no-op"] == [("model/m", "replace")]
    result = apply_plan(plan, backend, ApplyOptions(waiter=_waiter(backend)))  # type: ignore[arg-type]
    assert not result.failed
    assert backend.writes == ["delete model/m", "create model/m"]  # no cancel: it waited


def test_evaluations_on_a_service_without_them_fail_the_plan(tmp_path: Path) -> None:
    backend = MemoryBackend(VERSIONED)
    with pytest.raises(SpecError, match="the versioned service has no evaluation resources") as exc:
        _plan(_specs(tmp_path, budget=1, labels="a", evaluation=True), backend)
    assert any("specs/all.yaml" in p and "remove this Evaluation" in p for p in exc.value.problems)
