"""Live fingerprints move exactly when a compared field moves: that is what lets apply refuse a
saved plan over a changed service, and what the inventory's drift check compares."""

from __future__ import annotations

from dataclasses import replace

import pytest

from reconcile.backends.base import LiveDataset, LiveEvaluation, LiveModel, LiveState
from reconcile.plan import fingerprints
from reconcile.plan.model import FORMAT_VERSION, Plan, ResourceChange, Summary

DATASET = LiveDataset(name="d", annotation_kind="imageClassification", label_uris=("https://a/x.json",),
                      custom_properties={"team": "vision"}, authentication_kind=None, etag="e1")
MODEL = LiveModel(name="m", status="training", training_dataset="d", budget_hours=1, model_kind="Generic-Classifier",
                  test_dataset=None)
EVALUATION = LiveEvaluation(model="m", name="ev", status="running", test_dataset="d")


def test_absent_is_none_and_present_is_not() -> None:
    assert (fingerprints.dataset_fp(None), fingerprints.model_fp(None), fingerprints.evaluation_fp(None)) == (
        None, None, None)
    values = {fingerprints.dataset_fp(DATASET), fingerprints.model_fp(MODEL), fingerprints.evaluation_fp(EVALUATION)}
    assert None not in values and len(values) == 3


@pytest.mark.parametrize("change", [
    {"annotation_kind": "imageObjectDetection"}, {"label_uris": ("https://a/y.json",)},
    {"custom_properties": {"team": "other"}}, {"authentication_kind": "managedIdentity"}, {"etag": "e2"},
])
def test_every_compared_dataset_field_moves_the_fingerprint(change: dict) -> None:
    assert fingerprints.dataset_fp(replace(DATASET, **change)) != fingerprints.dataset_fp(DATASET)


@pytest.mark.parametrize("change", [
    {"model_kind": "Generic-Detector"}, {"training_dataset": "other"}, {"budget_hours": 2}, {"test_dataset": "t"},
])
def test_every_compared_model_field_moves_the_fingerprint(change: dict) -> None:
    assert fingerprints.model_fp(replace(MODEL, **change)) != fingerprints.model_fp(MODEL)


def test_progress_does_not_move_a_fingerprint() -> None:
    """Training or an evaluation running on must not make a reviewed plan stale."""
    assert fingerprints.model_fp(replace(MODEL, status="succeeded", training_cost_minutes=30)) == \
        fingerprints.model_fp(MODEL)
    assert fingerprints.evaluation_fp(replace(EVALUATION, status="succeeded")) == fingerprints.evaluation_fp(EVALUATION)
    assert fingerprints.evaluation_fp(replace(EVALUATION, test_dataset="other")) != \
        fingerprints.evaluation_fp(EVALUATION)


def test_current_reads_each_address_from_the_live_state() -> None:
    changes = [ResourceChange(address="dataset/d", kind="Dataset", name="d", action="no-op", reason_code="up-to-date"),
               ResourceChange(address="model/m", kind="Model", name="m", action="no-op", reason_code="up-to-date"),
               ResourceChange(address="evaluation/m/ev", kind="Evaluation", name="ev", model="m", action="no-op",
                              reason_code="up-to-date"),
               ResourceChange(address="model/gone", kind="Model", name="gone", action="no-op",
                              reason_code="gone-from-service")]
    plan = Plan(format_version=FORMAT_VERSION, tool_version="0", created_at="t", environment="e", service="vision",
                endpoint="x", api_version="v", specs_fingerprint="", live_fingerprint="", changes=changes,
                summary=Summary())
    live = LiveState(datasets={"d": DATASET}, models={"m": MODEL}, evaluations={("m", "ev"): EVALUATION})
    assert fingerprints.current(plan, live) == {
        "dataset/d": fingerprints.dataset_fp(DATASET), "model/m": fingerprints.model_fp(MODEL),
        "evaluation/m/ev": fingerprints.evaluation_fp(EVALUATION), "model/gone": None}
