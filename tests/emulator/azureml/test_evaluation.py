"""Model-evaluation pipeline jobs: the azureml registry's model_evaluation_pipeline scoring a registered model
on any test MLTable, with the learner, through the documented statuses, figures in MLflow (docs/azureml.md)."""

from __future__ import annotations

import copy

import httpx
import pytest

from tests.fixtures.azureml import TOKEN, arm, automl_job_body, classification_rows, wait_job

from tests.emulator.azureml.test_jobs import _dataset, _mlflow

pytestmark = pytest.mark.azurite
AUTH = {"Authorization": f"Bearer {TOKEN}"}
COMPONENT = "azureml://registries/azureml/components/model_evaluation_pipeline/versions/0.0.31"


def _pipeline(srv, model_uri: str, test_uri: str, task: str = "image-classification") -> dict:
    bind = lambda k: {"jobInputType": "literal", "value": "${{parent.inputs.%s}}" % k}  # noqa: E731
    return {"properties": {
        "jobType": "Pipeline", "experimentName": "vision-gitops", "computeId": f"{srv.workspace.scope}/computes/gpu-cluster",
        "inputs": {"task": {"jobInputType": "literal", "value": task},
                   "test_data": {"jobInputType": "mltable", "uri": test_uri},
                   "mlflow_model": {"jobInputType": "mlflow_model", "uri": model_uri}},
        "outputs": {"evaluation_result": {"jobOutputType": "uri_folder"}},
        "jobs": {"model_evaluation": {"type": "pipeline", "componentId": COMPONENT,
                                      "inputs": {"task": bind("task"), "test_data": bind("test_data"),
                                                 "mlflow_model": bind("mlflow_model")}}}}}


def _trained_model(srv, c) -> tuple[str, str]:
    train = _dataset(srv, c, "e-train", classification_rows({"red": 5, "blue": 5}))
    assert c.put("/jobs/e-job", json=automl_job_body(srv, "ImageClassification", train, None)).status_code == 201
    wait_job(srv, c, "e-job", {"Completed"})
    reg = c.put("/models/colours/versions/1", json={"properties": {
        "modelType": "mlflow_model", "modelUri": "azureml://jobs/e-job_HD_0/outputs/artifacts/outputs/mlflow-model/"}})
    assert reg.status_code in (200, 201), reg.text
    return f"{srv.workspace.scope}/models/colours/versions/1", train


def test_an_evaluation_scores_the_registered_model_on_another_dataset(azureml):
    with arm(azureml) as c:
        model, _ = _trained_model(azureml, c)
        swapped = [r.__class__(r.image, "blue" if r.label == "red" else "red")
                   for r in classification_rows({"red": 3, "blue": 3})]
        test = _dataset(azureml, c, "e-swapped", swapped)
        created = c.put("/jobs/eval-1", json=_pipeline(azureml, model, test))
        assert created.status_code == 201, created.text
        assert created.json()["properties"]["status"] == "NotStarted"
        seen = []
        for _ in range(400):
            status = c.get("/jobs/eval-1").json()["properties"]["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
            if status in ("Completed", "Failed"):
                break
            azureml.wait_for_training()
            azureml.advance_clock(5 if status in ("NotStarted", "Starting") else 30)
        assert seen == ["NotStarted", "Starting", "Preparing", "Queued", "Running", "Finalizing", "Completed"]
    run = httpx.get(_mlflow(azureml, "runs/get"), params={"run_id": "eval-1"}, headers=AUTH).json()["run"]
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    assert metrics["accuracy"] == 0.0  # measured: every swapped label is predicted as trained
    assert "automl_best_child_run_id" not in {t["key"] for t in run["data"]["tags"]}


def test_an_evaluation_on_data_with_unknown_labels_fails_with_the_reason(azureml):
    with arm(azureml) as c:
        model, _ = _trained_model(azureml, c)
        test = _dataset(azureml, c, "e-green", classification_rows({"green": 3}))
        assert c.put("/jobs/eval-2", json=_pipeline(azureml, model, test)).status_code == 201
        wait_job(azureml, c, "eval-2", {"Failed"})
    history = f"{azureml.endpoint}/history/v1.0{azureml.workspace.scope}/runs"
    details = httpx.get(f"{history}/eval-2/details", params={"api-version": "v1.0"}, headers=AUTH).json()
    assert details["runType"] == "azureml.PipelineRun"
    assert details["error"]["error"]["code"] == "UserError" and "green" in details["error"]["error"]["message"]


def test_pipeline_jobs_other_than_the_evaluation_component_are_refused(azureml):
    with arm(azureml) as c:
        model, test = _trained_model(azureml, c)
        other = _pipeline(azureml, model, test)
        other["properties"]["jobs"]["model_evaluation"]["componentId"] = "azureml:my_component:1"
        answer = c.put("/jobs/eval-3", json=other)
        assert answer.status_code == 400 and "model_evaluation_pipeline" in answer.text
        wrong_task = _pipeline(azureml, model, test, task="text-classification")
        assert c.put("/jobs/eval-4", json=wrong_task).status_code == 400
        missing = copy.deepcopy(_pipeline(azureml, model, test))
        missing["properties"]["inputs"]["mlflow_model"]["uri"] = f"{azureml.workspace.scope}/models/nope/versions/1"
        answer = c.put("/jobs/eval-5", json=missing)
        assert answer.status_code == 400 and "nope" in answer.text
