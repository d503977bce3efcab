"""Models: validation per api-version, the training state machine, failures, cancel and delete."""

from __future__ import annotations

import pytest

from reconcile.api import versions
from reconcile.emulator import lifecycle
from tests.fixtures.emulator import (
    api,
    classification_coco,
    detection_coco,
    start_validated,
    wait_for_status,
    write_coco,
)

CLASSES = {"cat": 6, "dog": 4}


@pytest.fixture
def ic_uri(tmp_path):
    return write_coco(tmp_path / "train.json", classification_coco(CLASSES))


@pytest.fixture
def od_uri(tmp_path):
    boxes = {"car": [[0.1, 0.1, 0.4, 0.4]] * 4, "bus": [[0.5, 0.5, 0.4, 0.4]] * 3}
    return write_coco(tmp_path / "det.json", detection_coco(boxes))


def _dataset(c, name, uri, kind="imageClassification"):
    r = c.put(f"/datasets/{name}", json={"annotationKind": kind, "annotationFileUris": [uri]})
    assert r.status_code == 201, r.text


def _model(c, name, dataset, budget=1, kind=None, test=None):
    tp = {"trainingDatasetName": dataset, "timeBudgetInHours": budget}
    if kind:
        tp["modelKind"] = kind
    body = {"trainingParameters": tp}
    if test:
        body["evaluationParameters"] = {"testDatasetName": test}
    return c.put(f"/models/{name}", json=body)


def test_classifier_lifecycle_and_metrics(emulator, ic_uri):
    with api(emulator) as c:
        _dataset(c, "ds", ic_uri)
        created = _model(c, "m", "ds", kind="Generic-Classifier")
        assert created.status_code == 201
        body = created.json()
        assert body["status"] == "notStarted" and "trainingCostInMinutes" not in body
        assert body["trainingParameters"] == {"trainingDatasetName": "ds", "timeBudgetInHours": 1,
                                              "modelKind": "Generic-Classifier"}
        emulator.clock.advance(lifecycle.QUEUE_SECONDS)
        training = c.get("/models/m").json()
        assert training["status"] == "training" and "trainingCostInMinutes" not in training
        seconds = lifecycle.training_seconds("Generic-Classifier", 10, 1.0, 1)
        emulator.clock.advance(seconds - 1)
        assert c.get("/models/m").json()["status"] == "training"
        emulator.clock.advance(1)
        done = c.get("/models/m").json()
    assert done["status"] == "succeeded"
    assert 0 < done["trainingCostInMinutes"] <= 60
    perf = done["modelPerformance"]
    assert set(perf) == {"accuracyTop1", "accuracyTop5", "averagePrecision", "calibrationECE", "tagPerformance"}
    assert all(set(v) == {"accuracy"} for v in perf["tagPerformance"].values())
    assert all(0.0 <= perf[k] <= 1.0 for k in ("accuracyTop1", "accuracyTop5", "averagePrecision", "calibrationECE"))


def test_training_time_never_exceeds_the_budget():
    assert lifecycle.training_seconds("Generic-Detector", 1_000_000, 1.0, 2) == 2 * 3600
    assert lifecycle.training_seconds("Generic-Classifier", 10, 1.0, 1) < 3600
    assert lifecycle.cost_minutes(7201, 2) == 120


def test_metrics_come_from_the_test_dataset(emulator, tmp_path, ic_uri):
    # Trained prior: cat 0.6, dog 0.4 -> always predicts "cat". Test set: 1 cat, 3 dogs.
    test_uri = write_coco(tmp_path / "test.json", classification_coco({"cat": 1, "dog": 3}))
    with api(emulator) as c:
        _dataset(c, "train", ic_uri)
        _dataset(c, "test", test_uri)
        assert _model(c, "m", "train", test="test").status_code == 201
        done = wait_for_status(emulator, c, "/models/m", {"succeeded", "failed"})
    assert done["evaluationParameters"] == {"testDatasetName": "test"}
    assert "modelKind" not in done["trainingParameters"]  # omitted in the request: not echoed
    perf = done["modelPerformance"]
    assert perf["accuracyTop1"] == 0.25
    assert perf["accuracyTop5"] == 1.0
    assert perf["averagePrecision"] == 0.5  # constant scores: AP = prevalence; mean of 0.25 and 0.75
    assert perf["calibrationECE"] == pytest.approx(0.35)
    assert perf["tagPerformance"] == {"cat": {"accuracy": 1.0}, "dog": {"accuracy": 0.0}}


def test_detector_metrics(emulator, od_uri, tmp_path):
    test_uri = write_coco(tmp_path / "t.json", detection_coco({"car": [[0.1, 0.1, 0.4, 0.4]], "bus": [[0.0, 0.0, 0.2, 0.2]]}))
    with api(emulator) as c:
        _dataset(c, "od", od_uri, "imageObjectDetection")
        _dataset(c, "odt", test_uri, "imageObjectDetection")
        assert _model(c, "d", "od", kind="Generic-Detector", test="odt").status_code == 201
        done = wait_for_status(emulator, c, "/models/d", {"succeeded", "failed"})
    perf = done["modelPerformance"]
    assert set(perf) == {"meanAveragePrecision30", "meanAveragePrecision50", "meanAveragePrecision75", "tagPerformance"}
    # car's mean box hits the car exactly; bus's mean box misses the test bus.
    assert perf["tagPerformance"] == {"car": {"averagePrecision50": 0.5}, "bus": {"averagePrecision50": 0.0}}
    assert perf["meanAveragePrecision50"] == 0.25


@pytest.mark.parametrize(
    ("version", "kind", "budget", "ok"),
    [
        ("2023-02-01-preview", None, 288, True),
        ("2023-02-01-preview", None, 289, False),
        ("2023-02-01-preview", "Product-Recognizer", 1, False),
        ("2023-04-01-preview", "Product-Recognizer", 336, True),
        ("2023-04-01-preview", "Generic-Classifier", 337, False),
        ("2023-04-01-preview", "Generic-Detector", 1344, True),
        ("2023-07-01-preview", "Generic-Detector", 1345, False),
        ("2023-07-01-preview", None, 0, False),
        ("2023-07-01-preview", "GenericClassifier", 1, False),
        ("2023-07-01-preview", "generic-classifier", 1, True),
    ],
)
def test_model_validation_per_version(emulator, version, kind, budget, ok):
    with api(emulator, version) as c:
        r = _model(c, "m", "ds", budget=budget, kind=kind)
    if ok:
        assert r.status_code == 201, r.text
    else:
        assert r.status_code == 400
        assert r.json()["error"]["innererror"]["code"] in {"InvalidTimeBudget", "UnsupportedModelKind"}


@pytest.mark.parametrize(
    "body",
    [{}, {"trainingParameters": {"timeBudgetInHours": 1}}, {"trainingParameters": {"trainingDatasetName": "ds"}},
     {"trainingParameters": {"trainingDatasetName": "-bad", "timeBudgetInHours": 1}},
     {"trainingParameters": {"trainingDatasetName": "ds", "timeBudgetInHours": True}},
     {"trainingParameters": {"trainingDatasetName": "ds", "timeBudgetInHours": 1}, "evaluationParameters": "x"}],
)
def test_model_body_errors(emulator, body):
    with api(emulator) as c:
        r = c.put("/models/m", json=body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidRequest"


def test_pascal_case_model_body_from_the_samples(emulator):
    text = "{'TrainingParameters': {'TrainingDatasetName': 'ds', 'TimeBudgetInHours': 1, 'ModelKind': 'Generic-Classifier',},}"
    with api(emulator) as c:
        r = c.put("/models/pc", content=text, headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text
    assert r.json()["trainingParameters"]["modelKind"] == "Generic-Classifier"


def test_put_existing_model_is_409_whatever_the_body(emulator):
    with api(emulator) as c:
        assert _model(c, "m", "ds").status_code == 201
        again = c.put("/models/m", json={"nonsense": True})
    assert again.status_code == 409 and again.json()["error"]["code"] == "ModelAlreadyExists"


def _fail_code(emulator, c, name):
    done = wait_for_status(emulator, c, f"/models/{name}", {"succeeded", "failed"})
    assert done["status"] == "failed", done
    assert done["trainingCostInMinutes"] == 0
    return done["error"]


def test_missing_dataset_fails_dataset_not_found(emulator):
    with api(emulator) as c:
        _model(c, "m", "ghost")
        err = _fail_code(emulator, c, "m")
    assert err["code"] == "datasetNotFound" and "ghost" in err["message"]


@pytest.mark.parametrize("uri", ["file:///nonexistent/train.json", "http://127.0.0.1:9/train.json"])
def test_unreadable_annotation_file_fails_dataset_not_found(emulator, uri):
    with api(emulator) as c:
        _dataset(c, "ds", uri)
        _model(c, "m", "ds")
        err = _fail_code(emulator, c, "m")
    assert err["code"] == "datasetNotFound"


def test_invalid_coco_fails_dataset_corrupt(emulator, tmp_path):
    doc = classification_coco({"cat": 1, "dog": 3})  # 1 image for "cat" < 2 per class for training
    uri = write_coco(tmp_path / "bad.json", doc)
    notjson = tmp_path / "x.json"
    notjson.write_text("{nope")
    with api(emulator) as c:
        _dataset(c, "few", uri)
        _dataset(c, "garbage", notjson.as_uri())
        _model(c, "m1", "few")
        _model(c, "m2", "garbage")
        errors = [_fail_code(emulator, c, "m1"), _fail_code(emulator, c, "m2")]
    assert [e["code"] for e in errors] == ["datasetCorrupt", "datasetCorrupt"]


def test_small_budget_fails_not_enough_budget(emulator, tmp_path):
    boxes = {"car": [[0.1, 0.1, 0.3, 0.3]] * 160}  # 160 images x 0.0066667 h = 1.07 h -> minimum 2 h
    uri = write_coco(tmp_path / "big.json", detection_coco(boxes))
    with api(emulator) as c:
        _dataset(c, "big", uri, "imageObjectDetection")
        _model(c, "m", "big", budget=1, kind="Generic-Detector")
        err = _fail_code(emulator, c, "m")
    assert err["code"] == "notEnoughBudget"
    assert versions.min_budget_hours("Generic-Detector", 160) == 2
    assert "minimum is 2 hours" in err["message"] and "suggested budget is 6 hours" in err["message"]


def test_classifier_on_detection_dataset_fails_incorrect_model_kind(emulator, od_uri):
    with api(emulator) as c:
        _dataset(c, "od", od_uri, "imageObjectDetection")
        _model(c, "m", "od", kind="Generic-Classifier")
        err = _fail_code(emulator, c, "m")
    assert err["code"] == "incorrectModelKind"


def test_product_recognizer_trains_on_detection_data(emulator, od_uri):
    with api(emulator) as c:
        _dataset(c, "od", od_uri, "imageObjectDetection")
        _model(c, "pr", "od", kind="Product-Recognizer")
        done = wait_for_status(emulator, c, "/models/pr", {"succeeded", "failed"})
        old = api(emulator, "2023-02-01-preview").get("/models/pr").json()
    assert done["status"] == "succeeded" and "meanAveragePrecision50" in done["modelPerformance"]
    assert "modelKind" not in old["trainingParameters"]  # 02-01 has no Product-Recognizer enum value


def test_unregistering_the_dataset_during_training_fails_the_run(emulator, ic_uri):
    with api(emulator) as c:
        _dataset(c, "ds", ic_uri)
        _model(c, "m", "ds")
        emulator.clock.advance(lifecycle.QUEUE_SECONDS + 10)
        assert c.get("/models/m").json()["status"] == "training"
        assert c.delete("/datasets/ds").status_code == 204
        done = c.get("/models/m").json()
    assert done["status"] == "failed" and done["error"]["code"] == "datasetNotFound"
    assert done["trainingCostInMinutes"] <= 60


def test_cancel_before_start(emulator, ic_uri):
    with api(emulator) as c:
        _dataset(c, "ds", ic_uri)
        _model(c, "m", "ds")
        r = c.post("/models/m:cancel")
        assert r.status_code == 202 and r.content == b""
        assert c.get("/models/m").json()["status"] == "cancelling"
        assert c.delete("/models/m").status_code == 409
        assert c.post("/models/m:cancel").status_code == 202  # idempotent
        emulator.clock.advance(lifecycle.CANCEL_SECONDS)
        done = c.get("/models/m").json()
    assert done["status"] == "cancelled" and done["trainingCostInMinutes"] == 0


def test_cancel_during_training_bills_what_was_used(emulator, ic_uri):
    with api(emulator) as c:
        _dataset(c, "ds", ic_uri)
        _model(c, "m", "ds")
        emulator.clock.advance(lifecycle.QUEUE_SECONDS + 150)
        assert c.get("/models/m").json()["status"] == "training"
        assert c.post("/models/m:cancel").status_code == 202
        emulator.clock.advance(3600)
        done = c.get("/models/m").json()
        assert c.post("/models/m:cancel").status_code == 202
    assert done["status"] == "cancelled" and done["trainingCostInMinutes"] == 3
    assert "modelPerformance" not in done


def test_cancel_terminal_or_unknown_model(emulator, ic_uri):
    with api(emulator) as c:
        _dataset(c, "ds", ic_uri)
        _model(c, "m", "ds")
        wait_for_status(emulator, c, "/models/m", {"succeeded"})
        done = c.post("/models/m:cancel")
        unknown = c.post("/models/nope:cancel")
    assert done.status_code == 409 and done.json()["error"]["code"] == "InvalidModelState"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "ModelNotFound"


def test_delete_only_when_terminal(emulator, ic_uri):
    with api(emulator) as c:
        _dataset(c, "ds", ic_uri)
        _model(c, "m", "ds")
        refused = c.delete("/models/m")
        emulator.clock.advance(lifecycle.QUEUE_SECONDS)
        refused_training = c.delete("/models/m")
        wait_for_status(emulator, c, "/models/m", {"succeeded"})
        ok = c.delete("/models/m")
        gone = c.get("/models/m")
        again = c.delete("/models/m")
    assert refused.status_code == refused_training.status_code == 409
    assert "cancel" in refused.json()["error"]["message"].lower()
    assert ok.status_code == 204 and gone.status_code == 404 and again.status_code == 404


def test_models_list_refreshes_states_and_pages(emulator, ic_uri):
    with api(emulator) as c:
        _dataset(c, "ds", ic_uri)
        for i in range(12):
            _model(c, f"m{i:02d}", "ds")
        emulator.clock.advance(3600)
        page = c.get("/models", params={"top": 5}).json()
        rest = c.get("/models", params={"skip": 10}).json()
    assert [m["status"] for m in page["value"]] == ["succeeded"] * 5
    assert "skip=5" in page["nextLink"] and "top=5" in page["nextLink"]
    assert [m["name"] for m in rest["value"]] == ["m10", "m11"] and "nextLink" not in rest


def _trained(srv, uri: str, model: str) -> dict:
    with api(srv) as c:
        if c.get("/datasets/ds").status_code == 404:
            _dataset(c, "ds", uri)
        _model(c, model, "ds")
        srv.clock.advance(3600)
        return c.get(f"/models/{model}").json()


def test_training_is_deterministic_and_depends_on_the_data(emulator, ic_uri, tmp_path):
    a, b = _trained(emulator, ic_uri, "a"), _trained(emulator, ic_uri, "b")
    assert a["status"] == b["status"] == "succeeded"
    assert a["modelPerformance"] == b["modelPerformance"]
    assert a["trainingCostInMinutes"] == b["trainingCostInMinutes"]
    # Another emulator (fresh state, other port) trains the same data to the same result ...
    other, _ = start_validated()
    with other:
        again = _trained(other, ic_uri, "a")
    assert again["modelPerformance"] == a["modelPerformance"]
    # ... and other data to another one: the result is computed from the data, not fixed.
    fewer = write_coco(tmp_path / "fewer.json", classification_coco({"cat": 3, "dog": 3}))
    other, _ = start_validated()
    with other:
        different = _trained(other, fewer, "a")
    assert different["status"] == "succeeded"
    assert different["modelPerformance"] != a["modelPerformance"]


def test_inline_annotation_data_trains_in_07_01(emulator):
    doc = classification_coco({"cat": 3, "dog": 2})
    with api(emulator, "2023-07-01-preview") as c:
        r = c.put("/datasets/inline", json={"annotationKind": "imageClassification", "annotationData": doc})
        assert r.status_code == 201, r.text
        _model(c, "m", "inline")
        done = wait_for_status(emulator, c, "/models/m", {"succeeded", "failed"})
    assert done["status"] == "succeeded", done


def test_older_api_version_renders_in_its_own_schema(emulator):
    with api(emulator, "2023-04-01-preview") as c4, api(emulator, "2023-02-01-preview") as c2:
        assert _model(c4, "big", "ds", budget=1344, kind="Generic-Detector").status_code == 201
        assert c4.get("/models/big").json()["trainingParameters"]["timeBudgetInHours"] == 1344
        assert c2.get("/models/big").json()["trainingParameters"]["timeBudgetInHours"] == 288


def test_inline_data_and_uris_are_merged_for_training(emulator, tmp_path):
    uri = write_coco(tmp_path / "more.json", classification_coco({"cat": 2, "bird": 2}))
    inline = classification_coco({"cat": 2, "dog": 2})
    with api(emulator, "2023-07-01-preview") as c:
        c.put("/datasets/both", json={"annotationKind": "imageClassification", "annotationData": inline,
                                      "annotationFileUris": [uri]})
        c.put("/models/m", json={"trainingParameters": {"trainingDatasetName": "both", "timeBudgetInHours": 1}})
        done = wait_for_status(emulator, c, "/models/m", {"succeeded", "failed"})
        probe = tmp_path / "p.png"
        from tests.fixtures.emulator import png_bytes

        probe.write_bytes(png_bytes(20, 20))
        tags = c.post("/imageanalysis:analyze", params={"model-name": "m"}, json={"url": probe.as_uri()}).json()
    assert done["status"] == "succeeded", done
    names = {t["name"] for t in tags["customModelResult"]["tagsResult"]["values"]}
    assert "cat" in names and names <= {"cat", "dog", "bird"}
