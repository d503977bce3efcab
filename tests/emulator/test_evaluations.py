"""Evaluations: create-only PUT, notStarted -> running -> succeeded | failed, delete rules, listing."""

from __future__ import annotations

import pytest

from reconcile.emulator import lifecycle
from tests.fixtures.emulator import api, classification_coco, detection_coco, wait_for_status, write_coco


@pytest.fixture
def trained(emulator, tmp_path):
    """A succeeded classifier 'm' trained on cat 6 / dog 4, plus datasets 'test' (IC) and 'det' (OD)."""
    with api(emulator) as c:
        for name, kind, doc in (
            ("train", "imageClassification", classification_coco({"cat": 6, "dog": 4})),
            ("test", "imageClassification", classification_coco({"cat": 1, "dog": 3}, size=64)),
            ("det", "imageObjectDetection", detection_coco({"car": [[0.1, 0.1, 0.5, 0.5]] * 2})),
        ):
            uri = write_coco(tmp_path / f"{name}.json", doc)
            assert c.put(f"/datasets/{name}", json={"annotationKind": kind, "annotationFileUris": [uri]}).status_code == 201
        c.put("/models/m", json={"trainingParameters": {"trainingDatasetName": "train", "timeBudgetInHours": 1}})
        wait_for_status(emulator, c, "/models/m", {"succeeded"})
    return emulator


def _evaluate(c, name, dataset="test", model="m"):
    return c.put(f"/models/{model}/evaluations/{name}", json={"evaluationParameters": {"testDatasetName": dataset}})


def test_evaluation_lifecycle(trained):
    with api(trained) as c:
        r = _evaluate(c, "e1")
        assert r.status_code == 201
        assert r.json()["status"] == "notStarted" and r.json()["modelName"] == "m"
        assert "modelPerformance" not in r.json()
        trained.clock.advance(lifecycle.QUEUE_SECONDS)
        assert c.get("/models/m/evaluations/e1").json()["status"] == "running"
        assert c.delete("/models/m/evaluations/e1").status_code == 409
        assert c.delete("/models/m").status_code == 409  # an evaluation is still running
        trained.clock.advance(lifecycle.evaluation_seconds(4))
        done = c.get("/models/m/evaluations/e1").json()
    assert done["status"] == "succeeded"
    assert done["modelPerformance"]["accuracyTop1"] == 0.25
    assert done["modelPerformance"]["tagPerformance"] == {"cat": {"accuracy": 1.0}, "dog": {"accuracy": 0.0}}


def test_evaluation_put_existing_is_409_and_unknown_model_404(trained):
    with api(trained) as c:
        assert _evaluate(c, "e").status_code == 201
        again = c.put("/models/m/evaluations/e", content=b"garbage")
        unknown = _evaluate(c, "e", model="nope")
        get_unknown = c.get("/models/m/evaluations/none")
    assert again.status_code == 409 and again.json()["error"]["code"] == "ModelEvaluationAlreadyExists"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "ModelNotFound"
    assert get_unknown.status_code == 404 and get_unknown.json()["error"]["code"] == "ModelEvaluationNotFound"


def test_evaluation_needs_a_test_dataset_name(trained):
    with api(trained) as c:
        r = c.put("/models/m/evaluations/e", json={"evaluationParameters": {}})
        bad = c.put("/models/m/evaluations/e", json={"evaluationParameters": {"testDatasetName": "a b"}})
    assert r.status_code == 400 and bad.status_code == 400


def test_evaluation_of_a_model_that_has_not_succeeded_is_409(emulator):
    with api(emulator) as c:
        c.put("/models/busy", json={"trainingParameters": {"trainingDatasetName": "x", "timeBudgetInHours": 1}})
        r = _evaluate(c, "e", model="busy")
    assert r.status_code == 409 and r.json()["error"]["code"] == "InvalidModelState"


@pytest.mark.parametrize(("dataset", "code"), [("det", "incorrectModelKind"), ("ghost", "datasetNotFound")])
def test_evaluation_failures(trained, dataset, code):
    with api(trained) as c:
        assert _evaluate(c, "e", dataset=dataset).status_code == 201
        done = wait_for_status(trained, c, "/models/m/evaluations/e", {"succeeded", "failed"})
        assert c.delete("/models/m/evaluations/e").status_code == 204
    assert done["status"] == "failed" and done["error"]["code"] == code


def test_evaluation_list_pages_and_model_delete_cascades(trained):
    with api(trained) as c:
        for i in range(4):
            _evaluate(c, f"e{i}")
        page = c.get("/models/m/evaluations", params={"top": 3}).json()
        assert [e["name"] for e in page["value"]] == ["e0", "e1", "e2"] and "skip=3" in page["nextLink"]
        assert c.get("/models/nope/evaluations").status_code == 404
        trained.clock.advance(3600)
        assert {e["status"] for e in c.get("/models/m/evaluations").json()["value"]} == {"succeeded"}
        assert c.delete("/models/m").status_code == 204
        assert c.get("/models/m/evaluations/e0").status_code == 404
