"""What ``compute_plan`` puts in each change beyond its action: the values apply acts on.

The golden cases check actions, field paths and fingerprints. These tests check the rest
of what apply trusts without looking again: the desired value an update sends (the
properties others own kept), the eTag it sends as a precondition, the label files it
uploads and checks, the digest it records, who may be replaced, what a change depends
on, and what a conflict carries. Each one was found by a mutant that survived.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconcile.backends.base import Capabilities, LiveState
from reconcile.backends.vision import VisionBackend, parse_dataset, parse_evaluation, parse_model
from reconcile.errors import SpecError
from reconcile.inventory.records import Inventory, ResourceRecord
from reconcile.plan import desired
from reconcile.plan.compute import compute_plan
from reconcile.plan.model import (
    FieldChange,
    LabelDiffDoc,
    LabelFile,
    LiveDatasetValue,
    LiveEvaluationValue,
    LiveModelValue,
    Plan,
    ResourceChange,
)
from reconcile.plan.normalize import LABELS_DIGEST_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE
from reconcile.specs.fingerprint import spec_hash
from reconcile.specs.loader import load_specs

URI = "https://acct.blob.core.windows.net/c/train.json"
OTHER_URI = "https://acct.blob.core.windows.net/c/other.json"
STAMP = {"createdDateTime": "2023-01-13T20:46:20.189Z", "updatedDateTime": "2023-01-13T20:46:20.189Z"}
OURS = {MANAGED_BY_KEY: MANAGED_BY_VALUE}
VERSIONED = Capabilities(service="vision", model_change="new-version", dataset_change="new-version",
                         training_nodes=4, budget_note="{hours} h on up to {nodes} nodes: at most {worst} node-hours")


def dataset(name: str = "ds", **extra: object) -> dict:
    return {"kind": "Dataset", "name": name, "annotationKind": "imageClassification", "labels": [{"uri": URI}],
            **extra}


def model(name: str = "clf", **extra: object) -> dict:
    return {"kind": "Model", "name": name, "modelKind": "Generic-Classifier", "trainingDataset": "ds",
            "budgetHours": 2, **extra}


def live_dataset(name: str = "ds", *, uris: list[str] | None = None, props: dict | None = None,
                 kind: str = "imageClassification", etag: str = "etag-7", **extra: object) -> dict:
    return {"name": name, "annotationKind": kind, "annotationFileUris": uris or [URI],
            "customProperties": {**OURS, **(props or {})}, "eTag": etag, **extra}


def live_model(name: str = "clf", *, dataset_name: str = "ds", hours: int = 2, status: str = "succeeded",
               **extra: object) -> dict:
    return {"name": name, "status": status,
            "trainingParameters": {"trainingDatasetName": dataset_name, "timeBudgetInHours": hours}, **extra}


def evaluation(name: str = "holdout", model_name: str = "clf", dataset_name: str = "ds", **extra: object) -> dict:
    return {"kind": "Evaluation", "name": name, "model": model_name, "dataset": dataset_name, **extra}


def live_evaluation(name: str = "holdout", model_name: str = "clf", dataset_name: str = "ds",
                    status: str = "succeeded", **extra: object) -> dict:
    return {"name": name, "modelName": model_name, "status": status,
            "evaluationParameters": {"testDatasetName": dataset_name}, **extra}


def plan_of(tmp_path: Path, docs: list[dict], *, datasets: list[dict] = (), models: list[dict] = (),
            evaluations: list[dict] = (), records: list[ResourceRecord] = (),
            capabilities: Capabilities = VisionBackend.capabilities, **kwargs: object) -> Plan:
    folder = tmp_path / "specs"
    folder.mkdir(exist_ok=True)
    (folder / "all.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    specs = load_specs([folder], root=tmp_path, api_version="2023-04-01-preview")
    evals = {}
    for e in evaluations:
        ev = parse_evaluation({**STAMP, **e}, e["modelName"])
        evals[(ev.model, ev.name)] = ev
    live = LiveState(datasets={d["name"]: parse_dataset({**STAMP, **d}) for d in datasets},
                     models={m["name"]: parse_model({**STAMP, **m}) for m in models}, evaluations=evals)
    args: dict = {"labels": {}, "prune": False, **kwargs}
    return compute_plan(specs, live, environment="test", endpoint="http://emulator", api_version=specs.api_version,
                        capabilities=capabilities, inventory=Inventory(records={r.address: r for r in records}),
                        **args)


def change(plan: Plan, address: str) -> ResourceChange:
    (found,) = [c for c in plan.changes if c.address == address]
    return found


def record(address: str, **extra: object) -> ResourceRecord:
    kind, _, name = address.partition("/")
    return ResourceRecord(address=address, kind=kind.capitalize(), name=name.split("/")[-1], **extra)


# --- datasets: what an update sends --------------------------------------------------------


def test_an_update_sends_back_the_properties_others_own_with_the_live_etag(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [dataset(customProperties={"team": "vision"})],
                   datasets=[live_dataset(props={"team": "other", "cost-centre": "42"})])
    c = change(plan, "dataset/ds")
    assert (c.action, c.reason_code, c.live_etag) == ("update", "fields-changed", "etag-7")
    assert c.changes == [FieldChange(path="customProperties.team", before="other", after="vision")]
    assert c.desired.custom_properties == {"cost-centre": "42", "team": "vision", **OURS}
    assert list(c.desired.custom_properties) == sorted(c.desired.custom_properties)
    assert c.desired.label_uris == (URI,)
    assert c.reason == "customProperties.team changed"


def test_a_sas_query_alone_is_no_change_and_an_update_keeps_the_uris_the_service_holds(tmp_path: Path) -> None:
    signed = [URI + "?sv=2022&sig=abc"]
    same = plan_of(tmp_path, [dataset()], datasets=[live_dataset(uris=signed)])
    assert change(same, "dataset/ds").action == "no-op"
    assert change(same, "dataset/ds").live_etag == "etag-7"
    plan = plan_of(tmp_path, [dataset(customProperties={"team": "vision"})], datasets=[live_dataset(uris=signed)])
    c = change(plan, "dataset/ds")
    assert c.action == "update"
    assert [d.path for d in c.changes] == ["customProperties.team"]
    assert c.desired.label_uris == ()  # no URIs in the update: the service keeps its signed ones


def test_changed_label_uris_are_sent_with_what_was_there_before(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [dataset()], datasets=[live_dataset(uris=[OTHER_URI])])
    c = change(plan, "dataset/ds")
    assert c.action == "update"
    assert c.changes == [FieldChange(path="labels", before=[OTHER_URI], after=[URI])]
    assert c.desired.label_uris == (URI,)


def test_a_changed_authentication_is_an_update_and_an_undeclared_one_is_not_compared(tmp_path: Path) -> None:
    live = live_dataset(authentication={"kind": "managedIdentity"})
    undeclared = plan_of(tmp_path, [dataset()], datasets=[live])
    assert change(undeclared, "dataset/ds").action == "no-op"
    sas = plan_of(tmp_path, [dataset(authentication="sas")], datasets=[live])
    c = change(sas, "dataset/ds")
    assert c.action == "update"
    assert c.changes == [FieldChange(path="authentication", before="managedIdentity", after="sas")]
    same = plan_of(tmp_path, [dataset(authentication="managedIdentity")], datasets=[live])
    assert change(same, "dataset/ds").action == "no-op"


def test_a_changed_annotation_kind_replaces_the_dataset_with_its_desired_value(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [dataset()], datasets=[live_dataset(kind="imageObjectDetection")])
    c = change(plan, "dataset/ds")
    assert (c.action, c.reason_code, c.replace_fields, c.live_etag) == (
        "replace", "cannot-update", ["annotationKind"], "etag-7")
    assert c.changes == [FieldChange(path="annotationKind", before="imageObjectDetection",
                                     after="imageClassification", forces_replacement=True)]
    assert c.desired is not None and c.desired.annotation_kind == "imageClassification"
    assert c.reason == "annotationKind cannot change in place (forces replacement)"


def test_a_versioned_service_registers_a_changed_dataset_as_a_new_version(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [dataset(customProperties={"team": "vision"})], datasets=[live_dataset()],
                   capabilities=VERSIONED)
    c = change(plan, "dataset/ds")
    assert (c.action, c.reason_code, c.live_etag) == ("new-version", "versioned", "etag-7")
    assert c.live_fingerprint is not None
    assert [d.path for d in c.changes] == ["customProperties.team"]
    assert c.desired is not None and c.desired.custom_properties["team"] == "vision"
    assert c.reason == "customProperties.team changed; registered as a new version"


# --- datasets: label files ----------------------------------------------------------------


def test_resolved_local_label_files_are_the_ones_planned_uploaded_and_recorded(tmp_path: Path) -> None:
    local = LabelFile(source="file:labels/train.json", uri=OTHER_URI, sha256="ab" * 32, upload=True)
    plan = plan_of(tmp_path, [dataset()], labels={"ds": [local]})
    c = change(plan, "dataset/ds")
    assert c.labels == [local]
    assert c.desired.label_uris == (OTHER_URI,)
    assert c.labels_digest == desired.labels_digest([local]) is not None
    assert c.desired.custom_properties[LABELS_DIGEST_KEY] == c.labels_digest


def test_an_unpinned_uri_gets_the_digest_of_the_bytes_behind_it_now(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [dataset()], label_shas={URI: "cd" * 32})
    c = change(plan, "dataset/ds")
    assert c.labels == [LabelFile(source=URI, uri=URI, sha256="cd" * 32)]
    assert c.labels_digest == desired.labels_digest(c.labels) is not None


def test_a_no_op_dataset_still_records_its_labels_digest(tmp_path: Path) -> None:
    shas = {URI: "cd" * 32}
    digest = desired.labels_digest([LabelFile(source=URI, uri=URI, sha256="cd" * 32)])
    plan = plan_of(tmp_path, [dataset()], datasets=[live_dataset(props={LABELS_DIGEST_KEY: digest})],
                   label_shas=shas)
    c = change(plan, "dataset/ds")
    assert (c.action, c.labels_digest) == ("no-op", digest)


def test_label_bytes_changed_behind_a_registered_uri_are_drift_by_the_inventory_digest(tmp_path: Path) -> None:
    # The live dataset carries no digest property: only the inventory remembers what was registered.
    plan = plan_of(tmp_path, [dataset()], datasets=[live_dataset()], label_shas={URI: "cd" * 32},
                   records=[record("dataset/ds", labels_digest="ef" * 32)])
    assert [d.kind for d in change(plan, "dataset/ds").drift] == ["labels-changed"]


def test_a_label_diff_is_attached_to_a_changing_dataset_only(tmp_path: Path) -> None:
    diff = LabelDiffDoc(categories_added=["dog"])
    plan = plan_of(tmp_path, [dataset(), dataset("same")], label_diffs={"ds": diff, "same": diff},
                   datasets=[live_dataset(uris=[OTHER_URI]), live_dataset("same")])
    assert change(plan, "dataset/ds").label_diff == diff
    assert change(plan, "dataset/same").label_diff is None


# --- models and evaluations ------------------------------------------------------------------


def test_replacement_permission_dependencies_and_cost_come_from_the_spec(tmp_path: Path) -> None:
    docs = [dataset(), dataset("test"), model(allowReplace=True), model("other", testDataset="test"),
            {"kind": "Evaluation", "name": "holdout", "model": "clf", "dataset": "test", "allowReplace": True},
            {"kind": "Evaluation", "name": "check", "model": "other", "dataset": "test"}]
    plan = plan_of(tmp_path, docs, capabilities=Capabilities(service="vision", training_nodes=3))
    clf, other = change(plan, "model/clf"), change(plan, "model/other")
    assert (clf.replace_allowed, other.replace_allowed) == (True, False)
    assert clf.depends_on == ["dataset/ds"]
    assert other.depends_on == ["dataset/ds", "dataset/test"]
    assert (clf.training_hours, other.training_hours) == (6, 6)  # 2 hours on each of 3 nodes
    assert plan.summary.training_hours == 12
    holdout, check = change(plan, "evaluation/clf/holdout"), change(plan, "evaluation/other/check")
    assert (holdout.replace_allowed, check.replace_allowed) == (True, False)
    assert holdout.depends_on == ["model/clf", "dataset/test"]


def test_a_spec_d_model_on_a_dataset_this_plan_changes_gets_a_note(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [dataset(), model()], datasets=[live_dataset(uris=[OTHER_URI])],
                   models=[live_model()], records=[record("model/clf")])
    c = change(plan, "model/clf")
    assert c.action == "no-op"
    assert any("dataset ds changes in this plan" in n for n in c.notes)
    assert any("dataset ds changes in this plan" in w for w in plan.warnings)


# --- conflicts -------------------------------------------------------------------------------


def test_a_conflict_carries_nothing_apply_or_the_guardrails_could_act_on(tmp_path: Path) -> None:
    # Someone else's model under a spec'd name, with other training inputs: a replacement if it were ours.
    docs = [dataset(), model(allowReplace=True, protect=True)]
    plan = plan_of(tmp_path, docs, datasets=[live_dataset()], models=[live_model(hours=5, status="failed")],
                   records=[record("dataset/ds")])
    c = change(plan, "model/clf")
    assert (c.action, c.reason_code) == ("conflict", "exists-not-managed")
    assert "reconcile import" in (c.reason or "")
    assert [d.path for d in c.changes] == ["budgetHours"]  # what adopting it would change, for the reviewer
    assert (c.replace_fields, c.training_hours, c.notes, c.drift, c.label_diff) == ([], None, [], [], None)
    assert c.protected is True
    assert plan.summary.training_hours == 0
    assert plan.warnings == []


def test_an_unmarked_unrecorded_dataset_is_a_conflict_without_drift_or_label_diff(tmp_path: Path) -> None:
    theirs = {"name": "ds", "annotationKind": "imageClassification", "annotationFileUris": [OTHER_URI],
              "customProperties": {"team": "other"}, "eTag": "e1"}
    plan = plan_of(tmp_path, [dataset(protect=True)], datasets=[theirs], label_diffs={"ds": LabelDiffDoc()},
                   label_shas={OTHER_URI: "cd" * 32})
    c = change(plan, "dataset/ds")
    assert (c.action, c.drift, c.label_diff, c.protected) == ("conflict", [], None, True)
    assert c.spec_hash is not None


def test_a_marked_dataset_is_ours_even_without_a_record(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [dataset()], datasets=[live_dataset()])
    assert change(plan, "dataset/ds").action == "no-op"


def test_a_recorded_model_is_ours_and_an_unrecorded_one_is_not(tmp_path: Path) -> None:
    ours = plan_of(tmp_path, [dataset(), model()], datasets=[live_dataset()], models=[live_model()],
                   records=[record("model/clf")])
    assert change(ours, "model/clf").action == "no-op"
    theirs = plan_of(tmp_path, [dataset(), model()], datasets=[live_dataset()], models=[live_model()],
                     records=[record("dataset/ds")])
    assert change(theirs, "model/clf").action == "conflict"


# --- the plan document ------------------------------------------------------------------------


def test_the_plan_names_where_each_spec_is_written(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [dataset(), model(), evaluation()])
    sources = {c.address: c.source for c in plan.changes}
    assert sources == {"dataset/ds": "specs/all.yaml:1", "model/clf": "specs/all.yaml:7",
                       "evaluation/clf/holdout": "specs/all.yaml:13"}


def test_the_plan_document_records_its_inputs(tmp_path: Path) -> None:
    import datetime as dt

    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    plan = plan_of(tmp_path, [dataset()], prune=True, now=lambda: when)
    assert (plan.prune, plan.created_at, plan.environment, plan.service) == (True, "2026-01-02T03:04:05Z", "test",
                                                                             "vision")


def test_the_plan_s_live_fingerprint_follows_managed_resources_only(tmp_path: Path) -> None:
    # It is what the apply lock shows as the plan being applied.
    theirs = {"name": "theirs", "annotationKind": "imageClassification", "annotationFileUris": [URI],
              "customProperties": {}, "eTag": "t1"}
    base = plan_of(tmp_path, [dataset()], datasets=[live_dataset(), theirs])
    moved = plan_of(tmp_path, [dataset()], datasets=[live_dataset(), {**theirs, "annotationFileUris": [OTHER_URI]}])
    assert change(moved, "dataset/theirs").action == "unmanaged"
    assert moved.live_fingerprint == base.live_fingerprint
    ours_moved = plan_of(tmp_path, [dataset()], datasets=[live_dataset(uris=[OTHER_URI]), theirs])
    assert ours_moved.live_fingerprint != base.live_fingerprint


def test_evaluations_on_a_service_without_them_are_refused_naming_each_one(tmp_path: Path) -> None:
    docs = [dataset(), model(), {"kind": "Evaluation", "name": "holdout", "model": "clf", "dataset": "ds"}]
    with pytest.raises(SpecError) as err:
        plan_of(tmp_path, docs, capabilities=Capabilities(service="nolab", evaluation_resources=False))
    assert "the nolab service has no evaluation resources" in str(err.value)
    assert err.value.problems == ["specs/all.yaml:13: remove this Evaluation"]


def test_each_change_records_the_hash_of_its_own_spec(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [dataset(), model()], specs_fingerprint="f" * 8)
    assert plan.specs_fingerprint == "f" * 8
    hashes = {c.address: c.spec_hash for c in plan.changes}
    assert len(set(hashes.values())) == 2 and None not in hashes.values()
    assert hashes["dataset/ds"] == spec_hash(load_specs([tmp_path / "specs"], root=tmp_path, api_version="2023-04-01-preview").datasets["ds"])


# --- models: replace, new version, retraining ------------------------------------------------

OWNED = [record("dataset/ds"), record("model/clf"), record("evaluation/clf/holdout")]


def test_a_changed_model_is_replaced_showing_each_immutable_field(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [dataset(), dataset("test"), model(testDataset="test", budgetHours=3)],
                   datasets=[live_dataset(), live_dataset("test")],
                   models=[live_model(hours=2, status="failed", evaluationParameters={"testDatasetName": "ds"})],
                   records=OWNED)
    c = change(plan, "model/clf")
    assert (c.action, c.reason_code, c.live_status, c.training_hours) == ("replace", "cannot-update", "failed", 3)
    assert c.changes == [FieldChange(path="testDataset", before="ds", after="test", forces_replacement=True),
                         FieldChange(path="budgetHours", before=2, after=3, forces_replacement=True)]
    assert c.replace_fields == ["testDataset", "budgetHours"]
    assert c.reason == "testDataset, budgetHours changed; models are immutable (forces replacement)"
    assert c.notes == ["training failed (unknown)"]


def test_an_undeclared_test_dataset_and_an_unechoed_model_kind_are_not_compared(tmp_path: Path) -> None:
    live = live_model(evaluationParameters={"testDatasetName": "ds"})  # no modelKind echoed
    plan = plan_of(tmp_path, [dataset(), model()], datasets=[live_dataset()], models=[live], records=OWNED)
    assert change(plan, "model/clf").action == "no-op"
    other_kind = live_model()
    other_kind["trainingParameters"]["modelKind"] = "Generic-Detector"
    plan = plan_of(tmp_path, [dataset(), model()], datasets=[live_dataset()], models=[other_kind], records=OWNED)
    assert [d.path for d in change(plan, "model/clf").changes] == ["modelKind"]


def test_a_model_whose_training_failed_is_kept_with_a_note_and_costs_nothing(tmp_path: Path) -> None:
    failed = live_model(status="failed", error={"code": "BadLabels", "message": "no images"})
    plan = plan_of(tmp_path, [dataset(), model()], datasets=[live_dataset()], models=[failed], records=OWNED)
    c = change(plan, "model/clf")
    assert (c.action, c.training_hours, c.live_status) == ("no-op", None, "failed")
    assert c.notes == ["training failed (BadLabels): no images"]
    unknown = plan_of(tmp_path, [dataset(), model()], datasets=[live_dataset()],
                      models=[live_model(status="failed")], records=OWNED)
    assert change(unknown, "model/clf").notes == ["training failed (unknown)"]
    cancelled = plan_of(tmp_path, [dataset(), model()], datasets=[live_dataset()],
                        models=[live_model(status="cancelled")], records=OWNED)
    assert change(cancelled, "model/clf").notes == ["training was cancelled; the model is unusable until replaced"]


def test_a_versioned_service_trains_a_changed_model_as_a_new_version_and_counts_its_cost(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [dataset(), model(budgetHours=3)], datasets=[live_dataset()],
                   models=[live_model(hours=2)], records=OWNED, capabilities=VERSIONED)
    c = change(plan, "model/clf")
    assert (c.action, c.reason_code, c.live_status, c.training_hours) == ("new-version", "versioned", "succeeded", 12)
    assert c.changes == [FieldChange(path="budgetHours", before=2, after=3, forces_replacement=True)]
    assert c.live_fingerprint is not None and c.replace_fields == []
    assert c.notes == ["3 h on up to 4 nodes: at most 12 node-hours"]
    assert c.reason == "budgetHours changed; trained as a new version beside the old one"
    assert (plan.summary.new_version, plan.summary.training_hours) == (1, 12)


@pytest.mark.parametrize("status, note", [("failed", "training failed (Quota)"),
                                          ("cancelled", "training was cancelled; the model is unusable until replaced")])
def test_a_versioned_model_that_ended_outside_apply_is_trained_again_at_a_cost(tmp_path: Path, status: str,
                                                                                note: str) -> None:
    plan = plan_of(tmp_path, [dataset(), model()], datasets=[live_dataset()],
                   models=[live_model(status=status, error={"code": "Quota"} if status == "failed" else None)],
                   records=OWNED, capabilities=VERSIONED)
    c = change(plan, "model/clf")
    assert (c.action, c.reason_code, c.live_status, c.training_hours) == ("new-version", "ended-outside", status, 8)
    assert c.live_fingerprint is not None and c.changes == []
    assert c.notes == [note, "2 h on up to 4 nodes: at most 8 node-hours"]
    assert c.reason == f"the model's training ended {status} outside apply; trained again as a new job"
    assert plan.summary.training_hours == 8


def test_a_new_model_shows_what_its_budget_may_cost(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [dataset(), model()], capabilities=VERSIONED)
    c = change(plan, "model/clf")
    assert (c.action, c.training_hours, c.notes) == ("create", 8, ["2 h on up to 4 nodes: at most 8 node-hours"])


def test_a_model_trained_on_older_labels_is_stale_naming_the_dataset_and_the_cost(tmp_path: Path) -> None:
    shas = {URI: "cd" * 32}
    digest = desired.labels_digest([LabelFile(source=URI, uri=URI, sha256="cd" * 32)])
    plan = plan_of(tmp_path, [dataset(), model()], datasets=[live_dataset(props={LABELS_DIGEST_KEY: digest})],
                   models=[live_model()], label_shas=shas,
                   records=[record("dataset/ds"), record("model/clf", labels_digest="ab" * 32)])
    (found,) = change(plan, "model/clf").drift
    assert found.kind == "stale-model"
    assert f"trained on dataset ds@{'ab' * 6}; its labels are now @{digest[:12]}" in found.detail
    assert "(up to 2 compute hours)" in found.detail


def test_a_versioned_model_that_succeeded_is_left_alone(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [dataset(), model()], datasets=[live_dataset()], models=[live_model()],
                   records=OWNED, capabilities=VERSIONED)
    c = change(plan, "model/clf")
    assert (c.action, c.training_hours, c.notes, c.live_status) == ("no-op", None, [], "succeeded")


def test_the_note_on_a_model_whose_dataset_changes_names_the_way_to_retrain(tmp_path: Path) -> None:
    kwargs = dict(datasets=[live_dataset(uris=[OTHER_URI])], models=[live_model()], records=OWNED)
    versioned = change(plan_of(tmp_path, [dataset(), model()], capabilities=VERSIONED, **kwargs), "model/clf")
    replaced = change(plan_of(tmp_path, [dataset(), model()], **kwargs), "model/clf")
    assert versioned.notes == ["dataset ds changes in this plan; the model keeps its old training data "
                               "(change the model spec to train a new version)"]
    assert replaced.notes == ["dataset ds changes in this plan; the model keeps its old training data "
                              "(models are immutable: rename it or set allowReplace to retrain)"]
    retrained = plan_of(tmp_path, [dataset(), model(budgetHours=3)], **kwargs)
    assert change(retrained, "model/clf").notes == []  # it is replaced anyway: nothing to warn about


# --- evaluations ------------------------------------------------------------------------------


def test_an_evaluation_follows_its_model_into_a_replacement_or_a_new_version(tmp_path: Path) -> None:
    docs = [dataset(), model(budgetHours=3), evaluation()]
    kwargs = dict(datasets=[live_dataset()], models=[live_model()], evaluations=[live_evaluation(status="running")],
                  records=OWNED)
    replaced = change(plan_of(tmp_path, docs, **kwargs), "evaluation/clf/holdout")
    assert (replaced.action, replaced.reason_code, replaced.replace_fields, replaced.live_status) == (
        "replace", "parent-replaced", ["model"], "running")
    assert replaced.reason == "model clf is replaced; its evaluation is re-run on the new model"
    versioned = change(plan_of(tmp_path, docs, capabilities=VERSIONED, **kwargs), "evaluation/clf/holdout")
    assert (versioned.action, versioned.reason_code, versioned.live_status) == (
        "new-version", "parent-new-version", "running")
    assert versioned.live_fingerprint is not None and versioned.replace_fields == []
    assert versioned.reason == "model clf gets a new version; it is evaluated too"


def test_an_evaluation_on_another_dataset_is_replaced(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, [dataset(), dataset("test"), model(), evaluation(dataset_name="test")],
                   datasets=[live_dataset(), live_dataset("test")], models=[live_model()],
                   evaluations=[live_evaluation(status="failed")], records=OWNED)
    c = change(plan, "evaluation/clf/holdout")
    assert (c.action, c.reason_code, c.replace_fields, c.live_status) == ("replace", "cannot-update", ["dataset"],
                                                                          "failed")
    assert c.changes == [FieldChange(path="dataset", before="ds", after="test", forces_replacement=True)]
    assert c.reason == "dataset changed; evaluations are immutable (forces replacement)"


def test_a_dataset_named_like_a_model_does_not_drag_the_model_s_evaluations(tmp_path: Path) -> None:
    docs = [dataset(), dataset("clf"), model(), evaluation()]
    plan = plan_of(tmp_path, docs, datasets=[live_dataset(), live_dataset("clf", kind="imageObjectDetection")],
                   models=[live_model()], evaluations=[live_evaluation()], records=OWNED)
    assert change(plan, "dataset/clf").action == "replace"
    c = change(plan, "evaluation/clf/holdout")
    assert (c.action, c.live_status) == ("no-op", "succeeded")


def test_the_service_s_evaluation_note_goes_with_every_evaluation_it_runs(tmp_path: Path) -> None:
    noted = Capabilities(service="vision", evaluation_note="scored by the emulator's own metric")
    docs = [dataset(), model(), evaluation(), evaluation("again")]
    plan = plan_of(tmp_path, docs, datasets=[live_dataset()], models=[live_model()],
                   evaluations=[live_evaluation()], records=OWNED, capabilities=noted)
    assert change(plan, "evaluation/clf/again").notes == ["scored by the emulator's own metric"]
    assert change(plan, "evaluation/clf/again").reason == "does not exist"
    assert change(plan, "evaluation/clf/holdout").notes == []  # a no-op runs nothing


# --- the typed live values ---------------------------------------------------------------------


def test_each_change_carries_the_live_value_it_was_planned_against(tmp_path: Path) -> None:
    docs = [dataset(authentication="sas"), model(), evaluation()]
    plan = plan_of(
        tmp_path, docs,
        datasets=[live_dataset(authentication={"kind": "sas"}, props={"team": "x"})],
        models=[live_model(status="failed", error={"code": "Quota"},
                           evaluationParameters={"testDatasetName": "ds"},
                           trainingParameters={"trainingDatasetName": "ds", "timeBudgetInHours": 2,
                                               "modelKind": "Generic-Classifier"})],
        evaluations=[live_evaluation(status="failed", error={"code": "Gone"})], records=OWNED)
    assert change(plan, "dataset/ds").live == LiveDatasetValue(
        name="ds", annotation_kind="imageClassification", label_uris=[URI],
        custom_properties={**OURS, "team": "x"}, authentication="sas", etag="etag-7")
    assert change(plan, "model/clf").live == LiveModelValue(
        name="clf", status="failed", training_dataset="ds", budget_hours=2, model_kind="Generic-Classifier",
        test_dataset="ds", error_code="Quota")
    assert change(plan, "evaluation/clf/holdout").live == LiveEvaluationValue(
        model="clf", name="holdout", status="failed", test_dataset="ds", error_code="Gone")
    assert plan.specs_fingerprint == ""
