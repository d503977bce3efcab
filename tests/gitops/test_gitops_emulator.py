"""GitOps safety end to end against the emulator: prune, protect, unmanaged, import, drift, cost.

Every apply is followed by a plan that must be empty (of changes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconcile.errors import RefusedError
from reconcile.inventory.store import state_store_for
from reconcile.workflow import adopt_unmanaged, load_desired, make_plan, run_apply
from tests.fixtures.emulator import classification_coco
from tests.fixtures.project import coco_file

WRITES = {"PUT", "PATCH", "DELETE", "POST"}


def _specs(root: Path, *, budget: int = 1, eval_: bool = True, protect: bool = False) -> list[dict]:
    train = coco_file(root, "train.json", classification_coco({"circle": 6, "square": 6}))
    test = coco_file(root, "test.json", classification_coco({"circle": 3, "square": 3}))
    docs: list[dict] = [
        {"kind": "Dataset", "name": "train", "annotationKind": "imageClassification", "labels": [{"uri": train}]},
        {"kind": "Dataset", "name": "test", "annotationKind": "imageClassification", "labels": [{"uri": test}]},
        {"kind": "Model", "name": "clf", "modelKind": "Generic-Classifier", "trainingDataset": "train",
         "budgetHours": budget, **({"protect": True} if protect else {})},
    ]
    if eval_:
        docs.append({"kind": "Evaluation", "name": "holdout", "model": "clf", "dataset": "test"})
    return docs


def _plan(proj: Any, *, prune: bool = False) -> Any:
    with proj.session() as s:
        return make_plan(s, load_desired(s.config), prune=prune)


def _apply(proj: Any, *, prune: bool = False, wait: bool = True, **kwargs: Any) -> Any:
    with proj.session() as s:
        plan = make_plan(s, load_desired(s.config), prune=prune)
        return run_apply(s, plan, waiter=proj.waiter(s), wait=wait, **kwargs)


def _writes(emulator: Any) -> list[str]:
    return [f"{r.method} {r.path.removeprefix('/computervision/')}" for r in emulator.request_log
            if r.method in WRITES and r.path.startswith("/computervision")]


def _inventory(proj: Any) -> Any:
    return state_store_for(proj.config()).load()


def _changes(plan: Any) -> dict[str, str]:
    return {c.address: c.action for c in plan.changes if c.action != "no-op"}


def test_inventory_records_everything_created(project, emulator) -> None:
    proj = project([])
    proj.write_specs(_specs(proj.root))
    assert _apply(proj).exit_code == 0
    inv = _inventory(proj)
    assert sorted(inv.records) == ["dataset/test", "dataset/train", "evaluation/clf/holdout", "model/clf"]
    model = inv.records["model/clf"]
    assert model.intent is None and model.live_fingerprint and model.spec_hash
    # The model remembers the label digest it was trained on (staleness).
    assert model.labels_digest == inv.records["dataset/train"].labels_digest is not None
    assert not _plan(proj).has_changes and not _plan(proj).has_drift


def test_prune_deletes_only_owned_and_evaluations_before_their_model(project, emulator) -> None:
    proj = project([])
    proj.write_specs(_specs(proj.root))
    _apply(proj)
    # Someone else's resources in the same service.
    with proj.session() as s:
        s.client.put("datasets/theirs", {"annotationKind": "imageClassification",
                                         "annotationFileUris": [coco_file(proj.root, "t.json", classification_coco({"a": 2, "b": 2}))]})
    proj.write_specs(_specs(proj.root)[:2])  # the model and its evaluation leave the specs

    plan = _plan(proj)
    assert _changes(plan) == {"dataset/theirs": "unmanaged"} and not plan.has_changes
    assert any("--prune" in n for c in plan.changes for n in c.notes)

    pruned = _plan(proj, prune=True)
    assert _changes(pruned) == {"evaluation/clf/holdout": "delete", "model/clf": "delete",
                                "dataset/theirs": "unmanaged"}
    emulator.request_log.clear()
    result = _apply(proj, prune=True)
    assert result.exit_code == 0 and sorted(result.deleted) == ["evaluation/clf/holdout", "model/clf"]
    assert _writes(emulator) == ["DELETE models/clf/evaluations/holdout", "DELETE models/clf"]
    assert sorted(_inventory(proj).records) == ["dataset/test", "dataset/train"]
    after = _plan(proj, prune=True)
    assert not after.has_changes and _changes(after) == {"dataset/theirs": "unmanaged"}


def test_prune_cancels_running_training_first(project, emulator) -> None:
    proj = project([])
    proj.write_specs(_specs(proj.root, eval_=False))
    assert _apply(proj, wait=False).exit_code == 3  # training submitted, still running
    proj.write_specs(_specs(proj.root, eval_=False)[:2])
    emulator.request_log.clear()
    result = _apply(proj, prune=True)
    assert result.deleted == ["model/clf"], result.failed
    writes = _writes(emulator)
    assert writes[0] == "POST models/clf:cancel" and writes[-1] == "DELETE models/clf"
    assert not _plan(proj, prune=True).has_changes


def test_protect_survives_spec_removal_and_blocks_replacement(project, emulator) -> None:
    proj = project([])
    proj.write_specs(_specs(proj.root, protect=True, eval_=False))
    _apply(proj)
    assert _inventory(proj).records["model/clf"].protect

    changed = _specs(proj.root, protect=True, budget=2, eval_=False)
    changed[2]["allowReplace"] = True
    proj.write_specs(changed)
    plan = _plan(proj)
    assert [v.rule for v in plan.guardrails] == ["protected"]
    emulator.request_log.clear()
    with pytest.raises(RefusedError, match="protected"):
        _apply(proj, allow_replace=True, approve_cost=True)
    assert _writes(emulator) == []

    proj.write_specs(_specs(proj.root, eval_=False)[:2])  # spec removed: the inventory still protects it
    plan = _plan(proj, prune=True)
    kept = next(c for c in plan.changes if c.address == "model/clf")
    assert kept.action == "no-op" and kept.protected
    emulator.request_log.clear()
    _apply(proj, prune=True)
    assert _writes(emulator) == []
    with proj.session() as s:
        assert s.backend.get_model("clf") is not None

    # Unprotect through the spec, apply, then remove it: now prune deletes it.
    proj.write_specs(_specs(proj.root, eval_=False))
    _apply(proj)
    assert not _inventory(proj).records["model/clf"].protect
    proj.write_specs(_specs(proj.root, eval_=False)[:2])
    assert _apply(proj, prune=True).deleted == ["model/clf"]
    assert not _plan(proj, prune=True).has_changes


def test_empty_specs_and_too_many_deletions_need_confirmation(project, emulator) -> None:
    proj = project([], config={"guardrails": {"maxDeletions": 1}})
    proj.write_specs(_specs(proj.root, eval_=False))
    _apply(proj)
    for f in (proj.root / "specs").glob("*.yaml"):
        f.unlink()
    plan = _plan(proj, prune=True)
    assert {v.rule for v in plan.guardrails} == {"empty-specs", "max-deletions"}
    assert sum(c.action == "delete" for c in plan.changes) == 3
    emulator.request_log.clear()
    with pytest.raises(RefusedError, match="--confirm-deletions 3"):
        _apply(proj, prune=True)
    with pytest.raises(RefusedError):
        _apply(proj, prune=True, confirm_deletions=2)  # must name the exact number
    assert _writes(emulator) == []
    result = _apply(proj, prune=True, confirm_deletions=3)
    assert sorted(result.deleted) == ["dataset/test", "dataset/train", "model/clf"]
    # Datasets go after the model trained on them.
    assert _writes(emulator)[-3:][0] == "DELETE models/clf"
    assert not _plan(proj, prune=True).has_changes
    assert _inventory(proj).records == {}


SAS = "sv=2022-11-02&ss=b&srt=co&sp=r&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"
ACCOUNT_KEY = "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def test_import_never_writes_a_secret_looking_custom_property(project, emulator) -> None:
    proj = project([])
    proj.write_specs(_specs(proj.root, eval_=False)[:1])
    uri = coco_file(proj.root, "legacy.json", classification_coco({"a": 3, "b": 3}))
    props = {"owner": "alice", "feed": SAS, "storage": ACCOUNT_KEY}
    with proj.session() as s:
        s.client.put("datasets/legacy", {"annotationKind": "imageClassification", "annotationFileUris": [uri],
                                         "customProperties": props})
        result = adopt_unmanaged(s, proj.root / "specs" / "imported.yaml", ["dataset/legacy"])
    written = (proj.root / "specs" / "imported.yaml").read_text()
    assert "sig=" not in written and "Eby8" not in written and "c2VjcmV0" not in written
    assert yaml.safe_load(written)["customProperties"] == {"owner": "alice"}
    notes = "\n".join(result.notes)
    assert "customProperties.feed looks like a SAS token" in notes and "customProperties.storage" in notes
    assert SAS not in notes and "Eby8" not in notes
    # Left out of the spec, kept on the service: apply carries undeclared customProperties along.
    _apply(proj)
    with proj.session() as s:
        live = s.client.get("datasets/legacy")
    assert {k: live["customProperties"][k] for k in props} == props


def test_unmanaged_are_never_touched_and_import_adopts_them(project, emulator) -> None:
    proj = project([])
    proj.write_specs(_specs(proj.root, eval_=False)[:1])
    _apply(proj)
    uri = coco_file(proj.root, "legacy.json", classification_coco({"a": 3, "b": 3}))
    with proj.session() as s:  # created by hand, before vision-gitops
        s.client.put("datasets/legacy", {"annotationKind": "imageClassification", "annotationFileUris": [uri],
                                         "customProperties": {"owner": "alice"}})
        s.client.put("models/legacy-model", {"trainingParameters": {"trainingDatasetName": "legacy",
                                                                    "timeBudgetInHours": 1,
                                                                    "modelKind": "Generic-Classifier"}})
    plan = _plan(proj, prune=True)
    assert _changes(plan) == {"dataset/legacy": "unmanaged", "model/legacy-model": "unmanaged"}
    emulator.request_log.clear()
    _apply(proj, prune=True)
    assert _writes(emulator) == []

    with proj.session() as s:
        result = adopt_unmanaged(s, proj.root / "specs" / "imported.yaml", ["model/legacy-model"])
    # The model brought its dataset along; the written specs load and match the live objects.
    assert [r.address for r in result.records] == ["dataset/legacy", "model/legacy-model"]
    docs = list(yaml.safe_load_all((proj.root / "specs" / "imported.yaml").read_text()))
    assert docs[0] == {"kind": "Dataset", "name": "legacy", "annotationKind": "imageClassification",
                       "labels": [{"uri": uri}], "customProperties": {"owner": "alice"}}
    assert docs[1]["budgetHours"] == 1 and docs[1]["modelKind"] == "Generic-Classifier"
    assert sorted(_inventory(proj).records) == ["dataset/legacy", "dataset/train", "model/legacy-model"]

    plan = _plan(proj)
    # Apply adds the ownership marker (and label digest) to the adopted dataset: one PATCH; the model is as specified.
    assert _changes(plan) == {"dataset/legacy": "update"}
    emulator.request_log.clear()
    _apply(proj)
    assert _writes(emulator) == ["PATCH datasets/legacy"]
    assert not _plan(proj).has_changes
    with proj.session() as s:
        assert s.backend.get_dataset("legacy").custom_properties["owner"] == "alice"


def test_drift_classes_end_to_end(project, emulator) -> None:
    proj = project([])
    proj.write_specs(_specs(proj.root))
    _apply(proj)
    assert not _plan(proj).has_drift

    # 1. changed in the service: a property added to the dataset outside git.
    with proj.session() as s:
        live = s.backend.get_dataset("test")
        s.client.patch("datasets/test", {"annotationKind": live.annotation_kind,
                                         "annotationFileUris": list(live.label_uris),
                                         "customProperties": {**live.custom_properties, "note": "hand edit"}},
                       if_match=live.etag)
    # 2. label bytes changed behind the same URI.
    coco_file(proj.root, "train.json", classification_coco({"circle": 7, "square": 6}))
    plan = _plan(proj)
    drift = {c.address: [d.kind for d in c.drift] for c in plan.changes if c.drift}
    assert drift == {"dataset/test": ["changed-in-service"], "dataset/train": ["labels-changed"],
                     "model/clf": ["stale-model"]}
    train = next(c for c in plan.changes if c.address == "dataset/train")
    assert train.action == "update" and [f.path for f in train.changes] == ["customProperties.vision-gitops.labels-sha256"]
    doc = json.loads(plan.to_json())
    assert doc["formatVersion"] == "2.3" and doc["summary"]["drifted"] == 3
    assert next(c for c in doc["changes"] if c["address"] == "model/clf")["drift"][0]["kind"] == "stale-model"

    _apply(proj)
    after = _plan(proj)
    # Applied: the new digest is registered and the hand edit acknowledged; the model stays stale
    # (models are immutable) until it is retrained under a new name or replaced.
    assert not after.has_changes
    assert {c.address: [d.kind for d in c.drift] for c in after.changes if c.drift} == {"model/clf": ["stale-model"]}

    # 3. deleted in the service.
    with proj.session() as s:
        s.client.delete("models/clf/evaluations/holdout")
    plan = _plan(proj)
    lost = next(c for c in plan.changes if c.address == "evaluation/clf/holdout")
    assert lost.action == "create" and [d.kind for d in lost.drift] == ["deleted-in-service"]
    _apply(proj)
    assert not _plan(proj).has_changes


def test_cost_caps_refuse_before_any_write_unless_approved(project, emulator) -> None:
    proj = project([], config={"guardrails": {"maxBudgetHoursPerModel": 2, "maxBudgetHoursPerApply": 3}})
    specs = _specs(proj.root, budget=3, eval_=False)
    proj.write_specs(specs)
    plan = _plan(proj)
    assert [v.rule for v in plan.guardrails] == ["max-budget-hours-per-model"]
    from reconcile.plan import render

    assert "max-budget-hours-per-model" in render.to_rich(plan).plain and "--approve-cost" in render.to_markdown(plan)
    emulator.request_log.clear()
    with pytest.raises(RefusedError, match="per-model cap of 2 h"):
        _apply(proj)
    assert _writes(emulator) == []
    assert _inventory(proj).records == {}
    result = _apply(proj, approve_cost=True)
    assert result.exit_code == 0
    assert not _plan(proj).has_changes
