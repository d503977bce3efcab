"""Deployment specs → plan (pure): gate results, rollout steps, bake time, revert, drift, ownership, costs.

Each case builds the live state from neutral values (an Azure ML-like versioned service) and checks the plan's
facts for the deployment; the last cases pin the rendered text and Markdown of a gate.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconcile.backends.azureml.backend import capabilities_for
from reconcile.backends.base import (
    LiveDataset,
    LiveDeployment,
    LiveEndpoint,
    LiveEvaluation,
    LiveModel,
    LiveState,
)
from reconcile.backends.vision import VisionBackend
from reconcile.errors import SpecError
from reconcile.inventory.records import Inventory, ResourceRecord
from reconcile.plan import render
from reconcile.plan.compute import compute_plan
from reconcile.plan.deployments import deployment_name
from reconcile.plan.guardrails import Limits
from reconcile.plan.model import FORMAT_VERSION, Plan
from reconcile.plan.normalize import MANAGED_BY_KEY, MANAGED_BY_VALUE
from reconcile.specs.loader import load_specs

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)
A1, B1 = "a-00000001-g1", "b-00000002-g1"
DEP_A, DEP_B = deployment_name("a", A1), deployment_name("b", B1)

SPECS = [
    {"kind": "Dataset", "name": "train", "annotationKind": "imageClassification",
     "labels": [{"uri": "https://x.blob.core.windows.net/c/train.json"}]},
    {"kind": "Dataset", "name": "test", "annotationKind": "imageClassification",
     "labels": [{"uri": "https://x.blob.core.windows.net/c/test.json"}]},
    {"kind": "Model", "name": "a", "modelKind": "Generic-Classifier", "trainingDataset": "train", "budgetHours": 1},
    {"kind": "Model", "name": "b", "modelKind": "Generic-Classifier", "trainingDataset": "train", "budgetHours": 2},
    {"kind": "Evaluation", "name": "holdout", "model": "a", "dataset": "test"},
    {"kind": "Evaluation", "name": "holdout", "model": "b", "dataset": "test"},
]


def deployment(model: str = "b", **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"kind": "Deployment", "name": "shapes-ep", "model": model,
                           "gate": [{"evaluation": "holdout", "thresholds": {"accuracyTop1": 0.8},
                                     "mustNotRegress": {"tolerance": 0.01}}]}
    doc.update(extra)
    return doc


def load(tmp_path: Path, *docs: dict[str, Any]) -> Any:
    (tmp_path / "specs").mkdir(exist_ok=True)
    (tmp_path / "specs" / "all.yaml").write_text(yaml.safe_dump_all(SPECS + list(docs), sort_keys=False))
    return load_specs([tmp_path / "specs"], root=tmp_path, api_version="2023-04-01-preview")


def evaluation(model: str, version: str, *, accuracy: float | None = 0.9, status: str = "succeeded",
               data: str = "d1") -> LiveEvaluation:
    return LiveEvaluation(model=model, name="holdout", status=status, test_dataset="test",
                          performance={"accuracyTop1": accuracy} if accuracy is not None else None,
                          model_version=version, dataset_version=data, error_code="UserError" if status == "failed"
                          else None, error_message="bad label" if status == "failed" else None)


def endpoint(traffic: dict[str, int], *, recorded: dict[str, int] | None = None, at: str | None = None,
             history: tuple[str, ...] = (), extra: dict[str, LiveDeployment] | None = None) -> LiveEndpoint:
    deps = {DEP_A: LiveDeployment(DEP_A, "a", A1, "Standard_DS3_v2", 1, "Succeeded", managed=True),
            DEP_B: LiveDeployment(DEP_B, "b", B1, "Standard_DS3_v2", 1, "Succeeded", managed=True)}
    deps = {n: d for n, d in deps.items() if n in traffic or n in history} | (extra or {})
    return LiveEndpoint(name="shapes-ep", provisioning="Succeeded", traffic=traffic, deployments=deps, managed=True,
                        recorded_traffic=traffic if recorded is None else recorded, traffic_at=at, history=history)


def live(*, ep: LiveEndpoint | None = None, figures: dict | None = None, evaluations: dict | None = None,
         test_version: str = "d1") -> LiveState:
    datasets = {n: LiveDataset(n, "imageClassification", (f"https://x.blob.core.windows.net/c/{n}.json",),
                               {MANAGED_BY_KEY: MANAGED_BY_VALUE}, None, "e", version=v) for n, v in (("train", "t1"), ("test", test_version))}
    models = {"a": LiveModel("a", "succeeded", "train", 1, "Generic-Classifier", version=A1),
              "b": LiveModel("b", "succeeded", "train", 2, "Generic-Classifier", version=B1)}
    evals = evaluations if evaluations is not None else {("a", "holdout"): evaluation("a", A1),
                                                         ("b", "holdout"): evaluation("b", B1)}
    return LiveState(datasets=datasets, models=models, evaluations=evals,
                     endpoints={"shapes-ep": ep} if ep is not None else {}, figures=figures or {})


def owned() -> Inventory:
    names = ["dataset/train", "dataset/test", "model/a", "model/b", "evaluation/a/holdout", "evaluation/b/holdout", "deployment/shapes-ep"]
    return Inventory(records={a: ResourceRecord(address=a, kind=a.split("/")[0].capitalize(), name=a.split("/")[-1],
                                                model=a.split("/")[1] if a.startswith("evaluation") else None,
                                                spec_hash="x", created_at="2026-01-01T00:00:00Z")
                              for a in names})


def plan(specs: Any, state: LiveState, *, inventory: Inventory | None = None, prune: bool = False,
         now: dt.datetime = NOW, limits: Limits = Limits()) -> Plan:
    return compute_plan(specs, state, labels={}, environment="ml", endpoint="https://arm", api_version="2024-04-01",
                        capabilities=capabilities_for(1), inventory=inventory or owned(), prune=prune,
                        now=lambda: now, limits=limits)


def change(p: Plan) -> Any:
    return next(c for c in p.changes if c.kind == "Deployment" and c.action != "unmanaged")


FIG_A = {("a", "holdout", A1): evaluation("a", A1, accuracy=0.9)}


def test_switch_when_the_gate_passes_with_both_figures(tmp_path: Path) -> None:
    figures = FIG_A | {("b", "holdout", B1): evaluation("b", B1, accuracy=0.895)}
    c = change(plan(load(tmp_path, deployment()), live(ep=endpoint({DEP_A: 100}), figures=figures)))
    assert (c.action, c.reason_code) == ("update", "rollout-step")
    assert c.gate.status == "pass" and c.gate.incumbent == f"a:{A1}" and c.gate.candidate == f"b:{B1}"
    threshold, regression = c.gate.checks
    assert (threshold.rule, threshold.required, threshold.candidate, threshold.status) == ("threshold", 0.8, 0.895, "pass")
    assert (regression.incumbent, regression.required, regression.status) == (0.9, 0.89, "pass")
    assert c.desired.traffic == {DEP_B: 100} and c.desired.history == (DEP_A, DEP_B)
    assert c.instance_hours_per_day == 24  # the candidate does not exist yet


def test_a_threshold_below_fails_and_traffic_stays(tmp_path: Path) -> None:
    figures = FIG_A | {("b", "holdout", B1): evaluation("b", B1, accuracy=0.7)}
    c = change(plan(load(tmp_path, deployment()), live(ep=endpoint({DEP_A: 100}), figures=figures)))
    assert (c.reason_code, c.gate.status) == ("gate-failed", "fail")
    assert c.gate.checks[0].status == "fail" and "below the threshold 0.8" in c.gate.checks[0].detail
    assert c.desired.traffic == {DEP_A: 100} and c.desired.remove == ()


def test_a_regression_beyond_the_tolerance_fails(tmp_path: Path) -> None:
    figures = FIG_A | {("b", "holdout", B1): evaluation("b", B1, accuracy=0.88)}
    c = change(plan(load(tmp_path, deployment()), live(ep=endpoint({DEP_A: 100}), figures=figures)))
    threshold, regression = c.gate.checks
    assert threshold.status == "pass" and regression.status == "fail"
    assert "regresses from the incumbent's 0.9" in regression.detail
    assert c.reason_code == "gate-failed"


@pytest.mark.parametrize(("evaluations", "figures", "expected", "words"), [
    # an evaluation of an older version is run again on this one (this plan), so the gate waits for it
    ({("b", "holdout"): evaluation("b", "b-older-g1")}, {}, "pending", "runs in this apply on b:" + B1),
    ({("b", "holdout"): evaluation("b", B1, status="failed")}, {("b", "holdout", B1): evaluation(
        "b", B1, status="failed", accuracy=None)}, "fail", "failed (UserError): bad label"),
    ({("b", "holdout"): evaluation("b", B1, data="d0")}, {}, "fail", "is stale: it ran on dataset test version d0"),
    ({("b", "holdout"): evaluation("b", B1, status="running", accuracy=None)},
     {("b", "holdout", B1): evaluation("b", B1, status="running", accuracy=None)}, "pending", "is running"),
])
def test_missing_failed_stale_or_running_evaluations(tmp_path: Path, evaluations: dict, figures: dict, expected: str,
                                                     words: str) -> None:
    state = live(ep=endpoint({DEP_A: 100}), figures=FIG_A | figures,
                 evaluations={("a", "holdout"): evaluation("a", A1)} | evaluations)
    c = change(plan(load(tmp_path, deployment()), state))
    assert c.gate.status == expected and any(words in r for r in c.gate.reasons), c.gate.reasons
    assert c.reason_code == ("gate-failed" if expected == "fail" else "gate-pending")
    assert c.desired.traffic == {DEP_A: 100}


def test_an_incumbent_without_figures_on_this_dataset_version_is_evaluated_first(tmp_path: Path) -> None:
    figures = {("b", "holdout", B1): evaluation("b", B1, accuracy=0.95)}
    c = change(plan(load(tmp_path, deployment()), live(ep=endpoint({DEP_A: 100}), figures=figures)))
    assert c.gate.status == "pending" and c.gate.incumbent_evaluations == ["holdout"]
    assert c.gate.checks[0].status == "pass" and c.gate.checks[1].status == "pending"


def test_staged_steps_and_the_bake_time(tmp_path: Path) -> None:
    specs = load(tmp_path, deployment(rollout={"steps": [10, 50, 100], "bakeMinutes": 30}))
    figures = FIG_A | {("b", "holdout", B1): evaluation("b", B1, accuracy=0.95)}
    first = change(plan(specs, live(ep=endpoint({DEP_A: 100}), figures=figures)))
    assert first.desired.traffic == {DEP_B: 10, DEP_A: 90}
    at = "2026-01-01T11:45:00Z"  # 15 minutes ago
    mid = endpoint({DEP_A: 90, DEP_B: 10}, at=at)
    baking = change(plan(specs, live(ep=mid, figures=figures)))
    assert baking.reason_code == "baking" and "12:15:00Z" in baking.reason
    assert baking.desired.traffic == {DEP_A: 90, DEP_B: 10}
    later = change(plan(specs, live(ep=mid, figures=figures), now=NOW + dt.timedelta(minutes=16)))
    assert later.desired.traffic == {DEP_B: 50, DEP_A: 50}


def test_after_the_last_step_old_deployments_beyond_keep_previous_go(tmp_path: Path) -> None:
    old = LiveDeployment("a-old", "a", "a-0-g0", "Standard_DS3_v2", 1, "Succeeded", managed=True)
    ep = endpoint({DEP_B: 100}, history=("a-old", DEP_A, DEP_B), extra={"a-old": old, DEP_A: endpoint(
        {DEP_A: 100}).deployments[DEP_A]})
    c = change(plan(load(tmp_path, deployment()), live(ep=ep, figures=FIG_A)))
    assert (c.action, c.desired.remove) == ("update", ("a-old",))
    assert any(f"keeps {DEP_A} at 0 %" in n for n in c.notes)
    protected = change(plan(load(tmp_path, deployment(protect=True)), live(ep=ep, figures=FIG_A)))
    assert protected.desired.remove == () and protected.action == "no-op"


def test_revert_to_a_kept_deployment_is_a_traffic_switch(tmp_path: Path) -> None:
    ep = endpoint({DEP_B: 100}, history=(DEP_A, DEP_B))
    # A revert is gated like any switch: a must not regress from b (0.9 vs 0.9).
    figures = FIG_A | {("b", "holdout", B1): evaluation("b", B1, accuracy=0.9)}
    c = change(plan(load(tmp_path, deployment("a")), live(ep=ep, figures=figures)))
    assert c.desired.traffic == {DEP_A: 100} and c.instance_hours_per_day is None and c.gate.status == "pass"
    assert all(x.action == "no-op" for x in plan(load(tmp_path, deployment("a")), live(ep=ep, figures=figures)).changes
               if x.kind in ("Model", "Evaluation"))


def test_up_to_date_is_a_no_op_and_drift_is_named(tmp_path: Path) -> None:
    specs = load(tmp_path, deployment())
    steady = endpoint({DEP_B: 100}, history=(DEP_A, DEP_B))
    quiet = plan(specs, live(ep=steady))
    assert not quiet.has_changes and quiet.warnings == []
    by_hand = endpoint({DEP_A: 100}, recorded={DEP_B: 100}, history=(DEP_A, DEP_B))
    c = change(plan(specs, live(ep=by_hand)))
    assert [d.kind for d in c.drift] == ["traffic-changed"] and c.reason_code == "traffic-restored"
    assert c.desired.traffic == {DEP_B: 100}
    assert c.drift[0].detail == (f"traffic is {DEP_A} 100 %, vision-gitops last set {DEP_B} 100 % (changed outside "
                                 "git); apply sets it back")
    assert c.reason == f"traffic set back to {DEP_B} 100 %"
    foreign = LiveDeployment("manual", "x", "1", "Standard_DS3_v2", 1, "Succeeded", managed=False)
    hand = endpoint({DEP_B: 50, "manual": 50}, recorded={DEP_B: 100}, history=(DEP_B,), extra={"manual": foreign})
    kinds = [d.kind for d in change(plan(specs, live(ep=hand))).drift]
    assert kinds == ["traffic-changed", "unexpected-model"]
    gone = endpoint({DEP_B: 100}, history=("vanished", DEP_B))
    assert [d.kind for d in change(plan(specs, live(ep=gone))).drift] == ["deleted-in-service"]


def test_an_endpoint_we_do_not_own_is_a_conflict_and_an_owned_one_outside_the_specs_is_pruned(tmp_path: Path) -> None:
    theirs = LiveEndpoint(name="shapes-ep", provisioning="Succeeded", traffic={}, deployments={}, managed=False)
    c = change(plan(load(tmp_path, deployment()), live(ep=theirs), inventory=Inventory()))
    assert c.action == "conflict"
    kept = plan(load(tmp_path), live(ep=endpoint({DEP_B: 100})))
    assert [(x.address, x.action, x.reason_code) for x in kept.changes if x.kind == "Deployment"] == [
        ("deployment/shapes-ep", "no-op", "kept-without-prune")]
    pruned = plan(load(tmp_path), live(ep=endpoint({DEP_B: 100})), prune=True)
    assert [x.action for x in pruned.changes if x.kind == "Deployment"] == ["delete"]


def test_new_instances_are_held_by_the_cost_guardrail(tmp_path: Path) -> None:
    specs = load(tmp_path, deployment(instanceCount=3))
    p = plan(specs, live(ep=endpoint({DEP_A: 100}), figures=FIG_A), limits=Limits(max_instance_hours_per_day=48))
    assert change(p).instance_hours_per_day == 72 and p.summary.instance_hours_per_day == 72
    assert [(g.rule, g.value, g.override) for g in p.guardrails] == [("max-instance-hours-per-day", 72, "--approve-cost")]


def test_a_model_without_a_version_waits(tmp_path: Path) -> None:
    state = live()
    state = LiveState(datasets=state.datasets, models={**state.models, "b": LiveModel("b", "running", "train", 2)},
                      evaluations=state.evaluations)
    c = change(plan(load(tmp_path, deployment()), state))
    assert (c.action, c.reason_code) == ("create", "gate-pending") and "no registered version" in c.reason


def test_a_deployment_spec_on_a_service_without_deployments_names_the_file_and_line(tmp_path: Path) -> None:
    specs = load(tmp_path, deployment())
    with pytest.raises(SpecError) as caught:
        compute_plan(specs, LiveState(), labels={}, environment="v", endpoint="e", api_version="2023-04-01-preview",
                     capabilities=VisionBackend.capabilities, inventory=Inventory(), prune=False)
    (problem,) = caught.value.problems
    assert problem.startswith("specs/all.yaml:") and "no deployment resource" in problem
    assert "analyze with a model name" in problem


def test_the_gate_is_rendered_in_text_and_markdown(tmp_path: Path) -> None:
    figures = FIG_A | {("b", "holdout", B1): evaluation("b", B1, accuracy=0.88)}
    p = plan(load(tmp_path, deployment()), live(ep=endpoint({DEP_A: 100}), figures=figures))
    text = render.to_rich(p).plain
    assert f"gate: FAIL for b:{B1} (serving now: a:{A1})" in text
    assert "holdout accuracyTop1 >= 0.8: candidate 0.88 -- pass" in text
    assert "holdout accuracyTop1 must not regress (>= 0.89): candidate 0.88, incumbent 0.9 -- fail" in text
    md = render.to_markdown(p)
    assert "| holdout | accuracyTop1 | must-not-regress | 0.89 | 0.88 | 0.9 | **fail** |" in md
    again = Plan.from_json(p.to_json())
    assert again.format_version == FORMAT_VERSION and change(again).gate == change(p).gate


def test_import_takes_over_a_conflicting_endpoint_and_explains_unmanaged_ones(tmp_path: Path) -> None:
    from reconcile.plan.adopt import adopt

    theirs = LiveEndpoint(name="shapes-ep", provisioning="Succeeded", traffic={}, deployments={}, managed=False)
    p = plan(load(tmp_path, deployment()), live(ep=theirs), inventory=Inventory())
    adopted = adopt(p, live(ep=theirs), ["deployment/shapes-ep"])
    assert [r.address for r in adopted.records] == ["deployment/shapes-ep"] and adopted.docs == []
    records = {a: r for a, r in owned().records.items() if a != "deployment/shapes-ep"}
    unmanaged = plan(load(tmp_path), live(ep=theirs), inventory=Inventory(records=records))
    result = adopt(unmanaged, live(ep=theirs), ["deployment/shapes-ep"])
    assert result.docs == [] and "endpoints are not written as specs" in result.notes[0]


GOLDEN = Path(__file__).parent / "cases" / "deployment_staged_switch.json"


def test_golden_deployment_change_document(tmp_path: Path) -> None:
    """The JSON of a staged switch with a regression check, pinned (update the file on purpose only)."""
    import json

    figures = FIG_A | {("b", "holdout", B1): evaluation("b", B1, accuracy=0.95)}
    specs = load(tmp_path, deployment(rollout={"steps": [10, 100], "bakeMinutes": 30}))
    c = change(plan(specs, live(ep=endpoint({DEP_A: 100}, history=(DEP_A,)), figures=figures)))
    doc = c.model_dump(mode="json", by_alias=True)
    for key in ("source", "specHash", "liveFingerprint"):  # paths and hashes: pinned elsewhere
        doc.pop(key)
    assert doc == json.loads(GOLDEN.read_text())


def test_a_model_retrained_by_this_plan_shows_the_deployment_waiting_for_it(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A reviewer of a model change sees that the endpoint will switch once the new version earns it."""
    state = live(ep=endpoint({DEP_B: 100}, history=(DEP_B,)), figures={("b", "holdout", B1): evaluation("b", B1)})
    assert change(plan(load(tmp_path, deployment()), state)).action == "no-op"
    monkeypatch.setattr(sys.modules[__name__], "SPECS", [*SPECS[:3], {**SPECS[3], "budgetHours": 3}, *SPECS[4:]])
    p = plan(load(tmp_path, deployment()), state)
    assert [c.action for c in p.changes if c.address == "model/b"] == ["new-version"]
    c = change(p)
    assert (c.action, c.reason_code) == ("update", "gate-pending")
    assert "model b gets a new version in this apply" in c.reason and c.desired.traffic == {DEP_B: 100}
    assert f"{DEP_B} keeps serving" in c.reason and not c.notes  # notes would become plan warnings


def test_an_evaluation_of_an_older_model_version_is_run_again_and_the_gate_waits_for_it(tmp_path: Path) -> None:
    """The model trained (its evaluation was deferred by the apply that started the training): the next plan
    evaluates the new version, so the gate is pending, not failed for a missing evaluation."""
    old = evaluation("b", "b-00000001-g1")
    state = live(ep=endpoint({DEP_A: 100}, history=(DEP_A,)), figures=FIG_A,
                 evaluations={("a", "holdout"): evaluation("a", A1), ("b", "holdout"): old})
    p = plan(load(tmp_path, deployment()), state)
    (ev,) = [c for c in p.changes if c.address == "evaluation/b/holdout"]
    assert (ev.action, ev.reason_code) == ("new-version", "parent-new-version") and B1 in ev.reason
    c = change(p)
    assert (c.reason_code, c.gate.status) == ("gate-pending", "pending"), c.gate


def test_while_the_model_is_retrained_traffic_does_not_move_to_its_live_version(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """b's live version B1 no longer matches its spec (changed in this plan): its passing gate moves nothing."""
    figures = FIG_A | {("b", "holdout", B1): evaluation("b", B1, accuracy=0.95)}
    state = live(ep=endpoint({DEP_A: 100}, history=(DEP_A,)), figures=figures)
    assert change(plan(load(tmp_path, deployment()), state)).desired.traffic == {DEP_B: 100}
    monkeypatch.setattr(sys.modules[__name__], "SPECS", [*SPECS[:3], {**SPECS[3], "budgetHours": 3}, *SPECS[4:]])
    c = change(plan(load(tmp_path, deployment()), state))
    assert (c.action, c.reason_code, c.gate) == ("update", "gate-pending", None)
    assert c.desired.traffic == {DEP_A: 100} and c.desired.model_version is None and c.desired.remove == ()
    assert f"{DEP_A} keeps serving" in c.reason


def test_deployments_deleted_by_the_switch_leave_the_recorded_history(tmp_path: Path) -> None:
    """Otherwise the next plan reports them as deleted outside vision-gitops (false drift)."""
    figures = FIG_A | {("b", "holdout", B1): evaluation("b", B1, accuracy=0.95)}
    state = live(ep=endpoint({DEP_A: 0, DEP_B: 100}, recorded={DEP_B: 100}, history=(DEP_A, DEP_B)), figures=figures)
    c = change(plan(load(tmp_path, deployment(keepPrevious=0)), state))
    assert c.desired.remove == (DEP_A,) and c.desired.history == (DEP_B,)


def test_a_first_deployments_regression_check_reads_without_unknown_figures(tmp_path: Path) -> None:
    p = plan(load(tmp_path, deployment()), live(figures={("b", "holdout", B1): evaluation("b", B1, accuracy=0.95)}))
    text = render.to_rich(p).plain
    assert "holdout accuracyTop1 must not regress: candidate 0.95 -- pass (nothing serves yet)" in text, text
    assert "?" not in text
