"""AutoML image jobs: real training on the MLTable's images, statuses, run history, MLflow, cancel (REFERENCE §3.4, §4)."""

from __future__ import annotations

import httpx
import pytest

from tests.fixtures.azureml import (
    TOKEN, arm, automl_job_body, classification_rows, detection_rows, register_data, wait_job, write_mltable,
)

pytestmark = pytest.mark.azurite
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _mlflow(srv, op: str) -> str:
    return f"{srv.endpoint}/mlflow/v2.0{srv.workspace.scope}/api/2.0/mlflow/{op}"


def _dataset(srv, c, name: str, rows, version: str = "1") -> str:
    uri = write_mltable(srv, f"vision-gitops/ds/{name}/{version}", rows)
    assert register_data(c, name, version, uri).status_code == 201
    return f"{srv.workspace.scope}/data/{name}/versions/{version}"


def test_a_classification_job_trains_on_the_images_and_reports_its_best_trial(azureml_pixels):
    azureml = azureml_pixels
    with arm(azureml) as c:
        train = _dataset(azureml, c, "colours", classification_rows({"red": 6, "blue": 6, "green": 6}))
        valid = _dataset(azureml, c, "colours-test", classification_rows({"red": 3, "blue": 3, "green": 3}))
        body = automl_job_body(azureml, "ImageClassification", train, valid, primaryMetric="Accuracy")
        body["properties"]["taskDetails"]["limitSettings"]["maxTrials"] = 2
        created = c.put("/jobs/colours-1", json=body)
        assert created.status_code == 201, created.text
        assert created.json()["properties"]["status"] == "NotStarted"
        seen = []
        for _ in range(400):
            status = c.get("/jobs/colours-1").json()["properties"]["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
            if status == "Completed":
                break
            azureml.wait_for_training()
            azureml.advance_clock(5 if status in ("NotStarted", "Starting") else 30)
        assert seen == ["NotStarted", "Starting", "Preparing", "Queued", "Running", "Finalizing", "Completed"]

    parent = httpx.get(_mlflow(azureml, "runs/get"), params={"run_id": "colours-1"}, headers=AUTH).json()["run"]
    tags = {t["key"]: t["value"] for t in parent["data"]["tags"]}
    best = tags["automl_best_child_run_id"]
    assert best in ("colours-1_HD_0", "colours-1_HD_1")
    child = httpx.get(_mlflow(azureml, "runs/get"), params={"run_id": best}, headers=AUTH).json()["run"]
    metrics = {m["key"]: m["value"] for m in child["data"]["metrics"]}
    assert metrics["accuracy"] == 1.0  # solid colours are separable: a learner that looks at pixels gets them all
    assert child["info"]["status"] == "FINISHED"
    found = httpx.post(_mlflow(azureml, "runs/search"), headers=AUTH,
                       json={"filter": "tags.mlflow.parentRunId = 'colours-1'", "max_results": 10}).json()
    assert sorted(r["info"]["run_id"] for r in found["runs"]) == ["colours-1_HD_0", "colours-1_HD_1"]
    files = httpx.get(_mlflow(azureml, "artifacts/list"), params={"run_id": best, "path": "outputs/mlflow-model"},
                      headers=AUTH).json()["files"]
    assert {f["path"] for f in files} >= {"outputs/mlflow-model/MLmodel", "outputs/mlflow-model/artifacts"}
    history = f"{azureml.endpoint}/history/v1.0{azureml.workspace.scope}/runs"
    details = httpx.get(f"{history}/colours-1/details", params={"api-version": "v1.0"}, headers=AUTH).json()
    assert details["status"] == "Completed" and details["endTimeUtc"]
    log = httpx.get(details["logFiles"]["user_logs/std_log.txt"]).text  # a SAS-like URL: no token
    assert f"best trial: {best}" in log and "accuracy=1" in log
    children = httpx.get(f"{history}/colours-1/children", headers=AUTH).json()["value"]
    assert len(children) == 2


def test_a_classifier_is_measured_not_invented(azureml):
    """Validation labels that contradict the training labels give a low accuracy."""
    with arm(azureml) as c:
        train = _dataset(azureml, c, "c-train", classification_rows({"red": 5, "blue": 5}))
        swapped = [r.__class__(r.image, "blue" if r.label == "red" else "red")
                   for r in classification_rows({"red": 3, "blue": 3})]
        valid = _dataset(azureml, c, "c-swapped", swapped)
        assert c.put("/jobs/swapped", json=automl_job_body(azureml, "ImageClassification", train, valid)).status_code == 201
        wait_job(azureml, c, "swapped", {"Completed"})
    run = httpx.get(_mlflow(azureml, "runs/get"), params={"run_id": "swapped_HD_0"}, headers=AUTH).json()["run"]
    assert {m["key"]: m["value"] for m in run["data"]["metrics"]}["accuracy"] == 0.0


def test_multilabel_and_detection_jobs_train_and_log_their_primary_metrics(azureml_pixels):
    azureml = azureml_pixels
    with arm(azureml) as c:
        multi = [r.__class__(r.image, [r.label]) for r in classification_rows({"red": 4, "yellow": 4})]
        ml = _dataset(azureml, c, "multi", multi)
        det = _dataset(azureml, c, "boxes", detection_rows({"red": 5, "blue": 5}))
        assert c.put("/jobs/ml-1", json=automl_job_body(azureml, "ImageClassificationMultilabel", ml)).status_code == 201
        assert c.put("/jobs/od-1", json=automl_job_body(azureml, "ImageObjectDetection", det,
                                                         primaryMetric="MeanAveragePrecision")).status_code == 201
        wait_job(azureml, c, "ml-1", {"Completed"})
        wait_job(azureml, c, "od-1", {"Completed"})
    ml_run = httpx.get(_mlflow(azureml, "runs/get"), params={"run_id": "ml-1_HD_0"}, headers=AUTH).json()["run"]
    od_run = httpx.get(_mlflow(azureml, "runs/get"), params={"run_id": "od-1_HD_0"}, headers=AUTH).json()["run"]
    assert "iou" in {m["key"] for m in ml_run["data"]["metrics"]}
    od = {m["key"]: m["value"] for m in od_run["data"]["metrics"]}
    assert od["mean_average_precision"] > 0.5  # every class's mean box overlaps its objects


def test_a_missing_mltable_fails_the_job_with_the_service_message(azureml):
    with arm(azureml) as c:
        assert register_data(c, "nothing", "1", "azureml://datastores/workspaceblobstore/paths/none/").status_code == 201
        ref = f"{azureml.workspace.scope}/data/nothing/versions/1"
        assert c.put("/jobs/broken", json=automl_job_body(azureml, "ImageClassification", ref)).status_code == 201
        job = wait_job(azureml, c, "broken", {"Failed", "Completed"})
        assert job["properties"]["status"] == "Failed"
    details = httpx.get(f"{azureml.endpoint}/history/v1.0{azureml.workspace.scope}/runs/broken/details",
                        headers=AUTH).json()
    assert "Not able to find MLTable file" in details["error"]["error"]["message"]


def test_submission_refuses_unknown_data_and_unsupported_tasks(azureml):
    with arm(azureml) as c:
        r = c.put("/jobs/j", json=automl_job_body(azureml, "ImageClassification", "azureml:ghost:1"))
        assert r.status_code == 400 and "ghost:1" in r.json()["error"]["message"]
        r = c.put("/jobs/j", json=automl_job_body(azureml, "TextClassification", "azureml:ghost:1"))
        assert r.status_code == 400 and "taskType" in r.json()["error"]["message"]
        train = _dataset(azureml, c, "c", classification_rows({"red": 2, "blue": 2}))
        body = automl_job_body(azureml, "ImageClassification", train)
        body["properties"]["computeId"] = azureml.workspace.scope + "/computes/cpu-cluster"
        r = c.put("/jobs/j", json=body)
        assert r.status_code == 400 and "cpu-cluster" in r.json()["error"]["message"]
        assert c.get("/jobs/j").status_code == 404


def test_job_names_are_forever_and_only_metadata_changes(azureml):
    with arm(azureml) as c:
        train = _dataset(azureml, c, "c", classification_rows({"red": 3, "blue": 3}))
        body = automl_job_body(azureml, "ImageClassification", train)
        assert c.put("/jobs/once", json=body).status_code == 201
        body["properties"]["tags"] = {"new": "tag"}
        again = c.put("/jobs/once", json=body)
        assert again.status_code == 200 and again.json()["properties"]["tags"] == {"new": "tag"}
        body["properties"]["taskDetails"]["limitSettings"]["maxTrials"] = 3
        changed = c.put("/jobs/once", json=body)
        assert changed.status_code == 400 and "taskDetails" in changed.json()["error"]["message"]
        listed = c.get("/jobs", params={"jobType": "AutoML", "tag": "new=tag"}).json()["value"]
        assert [j["name"] for j in listed] == ["once"]
        deleted = c.delete("/jobs/once")
        assert deleted.status_code == 202 and "mfeOperationResults" in deleted.headers["location"]
        assert c.get("/jobs/once").status_code == 404
        assert c.put("/jobs/once", json=body).status_code == 400  # a deleted job's name stays taken


def test_cancel_is_a_location_lro_that_ends_canceled(azureml):
    with arm(azureml) as c:
        train = _dataset(azureml, c, "c", classification_rows({"red": 3, "blue": 3}))
        assert c.put("/jobs/stop-me", json=automl_job_body(azureml, "ImageClassification", train)).status_code == 201
        r = c.post("/jobs/stop-me/cancel")
        assert r.status_code == 202
        location = r.headers["location"]
        assert c.get("/jobs/stop-me").json()["properties"]["status"] == "CancelRequested"
        assert httpx.get(location, headers=AUTH).status_code == 202
        azureml.advance_clock(30)
        assert httpx.get(location, headers=AUTH).status_code == 200
        assert c.get("/jobs/stop-me").json()["properties"]["status"] == "Canceled"
        assert c.post("/jobs/stop-me/cancel").status_code == 200  # already terminal: a no-op


def test_unfinished_training_resumes_after_a_restart(azurite, tmp_path):
    from tests.fixtures.azureml import blob_config, start_validated

    blob = blob_config(azurite)
    srv, _ = start_validated(azurite, blob=blob, state_dir=tmp_path)
    with arm(srv) as c:
        train = _dataset(srv, c, "c", classification_rows({"red": 3, "blue": 3}))
        srv.service.runner.shutdown()  # the emulator "crashes" before training runs
        body = automl_job_body(srv, "ImageClassification", train)
        assert c.put("/jobs/survivor", json=body).status_code == 201
    srv.stop()
    srv2, watch = start_validated(azurite, blob=blob, state_dir=tmp_path)
    try:
        with arm(srv2) as c:
            assert wait_job(srv2, c, "survivor", {"Completed", "Failed"})["properties"]["status"] == "Completed"
    finally:
        srv2.stop()
    assert not watch.violations


def test_a_status_outside_the_enum_can_be_shown_before_the_job_starts(azureml):
    """Microsoft's examples answer ``Scheduled``; clients must read unknown values as "running"."""
    azureml.settings.pending_status = "Scheduled"
    with arm(azureml) as c:
        train = _dataset(azureml, c, "c", classification_rows({"red": 3, "blue": 3}))
        created = c.put("/jobs/sched", json=automl_job_body(azureml, "ImageClassification", train))
        assert created.json()["properties"]["status"] == "Scheduled"
        azureml.advance_clock(5)
        assert c.get("/jobs/sched").json()["properties"]["status"] == "Starting"
