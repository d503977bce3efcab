"""The learning trainer behind the real service: models learn from the pixels, fits run off the
request path, survive a restart, fail with the service's codes on bad images, and are deterministic."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from reconcile.demo.shapes import generate
from reconcile.emulator.clock import ManualClock
from reconcile.emulator.pixel_trainer import PixelTrainer
from reconcile.emulator.records import ModelRecord
from reconcile.emulator.trainer import make_trainer
from tests.fixtures.emulator import api, start_validated, write_coco

TRAIN = {"trainingParameters": {"trainingDatasetName": "train", "timeBudgetInHours": 1},
         "evaluationParameters": {"testDatasetName": "test"}}
DET_TRAIN = {"trainingParameters": {"trainingDatasetName": "train", "timeBudgetInHours": 2,
                                    "modelKind": "Generic-Detector"}}
DAY = 24 * 3600.0


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    """A tiny shapes set (9 train / 6 test images per task, 50 px) with file:// image URLs."""
    root = tmp_path_factory.mktemp("shapes")
    generate(root, train=9, test=6, size=50)
    for task in ("classification", "detection"):
        for split in ("train", "test"):
            path = root / task / f"{split}.coco.json"
            doc = json.loads(path.read_text())
            for im in doc["images"]:
                im["coco_url"] = (root / task / "images" / im["file_name"]).as_uri()
            path.write_text(json.dumps(doc))
    return root


def _dataset(client: Any, name: str, uri: str, kind: str = "imageClassification") -> None:
    r = client.put(f"/datasets/{name}", json={"annotationKind": kind, "annotationFileUris": [uri]})
    assert r.status_code == 201, r.text


def _finish(srv: Any, client: Any, path: str) -> dict:
    """Let emulated time pass, let the fit finish, and read ``path``."""
    srv.clock.advance(DAY)
    client.get(path)  # judges the run and starts the fit
    assert srv.wait_for_runs(120)
    return client.get(path).json()


def _uri(shapes: Path, task: str, split: str) -> str:
    return (shapes / task / f"{split}.coco.json").as_uri()


class BlockingTrainer:
    """The pixel trainer, but each fit waits for :attr:`release` (a stand-in for a long fit)."""

    name = "pixels"
    inline = False

    def __init__(self, *, abort: bool = False) -> None:
        self.inner = PixelTrainer()
        self.release = threading.Event()
        self.started = threading.Event()
        self.abort = abort
        self.fits = 0

    def fit(self, data):
        self.fits += 1
        self.started.set()
        assert self.release.wait(60), "the test never released the fit"
        if self.abort:  # stands for a fit cut short by the stop (skips the real work)
            raise RuntimeError("interrupted")
        return self.inner.fit(data)

    def load(self, state):
        return self.inner.load(state)


def test_a_classifier_learns_the_shapes_and_names_them(shapes):
    srv, watch = start_validated(trainer=make_trainer("pixels"))
    with srv, api(srv) as c:
        _dataset(c, "train", _uri(shapes, "classification", "train"))
        _dataset(c, "test", _uri(shapes, "classification", "test"))
        c.put("/models/m", json=TRAIN)
        body = _finish(srv, c, "/models/m")
        assert body["status"] == "succeeded", body
        perf = body["modelPerformance"]
        assert perf["accuracyTop1"] >= 0.66  # the class prior scores 1/3
        assert set(perf["tagPerformance"]) == {"circle", "square", "triangle"}
        assert 0 <= perf["calibrationECE"] <= 1 and perf["accuracyTop5"] == 1.0
        # An evaluation on the same test set measures the same figures.
        c.put("/models/m/evaluations/e", json={"evaluationParameters": {"testDatasetName": "test"}})
        ev = _finish(srv, c, "/models/m/evaluations/e")
        assert ev["status"] == "succeeded" and ev["modelPerformance"] == perf
        # A held-out image gets calibrated, sorted confidences over the three shapes.
        test_doc = json.loads((shapes / "classification" / "test.coco.json").read_text())
        names = {cat["id"]: cat["name"] for cat in test_doc["categories"]}
        truth = {a["image_id"]: names[a["category_id"]] for a in test_doc["annotations"]}
        hits = 0
        for im in test_doc["images"]:
            png = (shapes / "classification" / "images" / im["file_name"]).read_bytes()
            r = c.post("/imageanalysis:analyze", params={"model-name": "m"}, content=png,
                       headers={"Content-Type": "application/octet-stream"})
            tags = r.json()["customModelResult"]["tagsResult"]["values"]
            confidences = [t["confidence"] for t in tags]
            assert {t["name"] for t in tags} == {"circle", "square", "triangle"}
            assert confidences == sorted(confidences, reverse=True) and sum(confidences) == pytest.approx(1, abs=1e-4)
            hits += tags[0]["name"] == truth[im["id"]]
        assert hits / len(test_doc["images"]) == pytest.approx(perf["accuracyTop1"], abs=1e-6)
    assert not watch.violations


def test_a_detector_returns_pixel_boxes_and_measured_map(shapes):
    srv, watch = start_validated(trainer=make_trainer("pixels"))
    with srv, api(srv) as c:
        _dataset(c, "train", _uri(shapes, "detection", "train"), "imageObjectDetection")
        c.put("/models/d", json=DET_TRAIN)
        body = _finish(srv, c, "/models/d")
        assert body["status"] == "succeeded", body
        perf = body["modelPerformance"]
        assert 0 < perf["meanAveragePrecision50"] <= 1
        assert perf["meanAveragePrecision30"] >= perf["meanAveragePrecision50"] >= perf["meanAveragePrecision75"]
        png = (shapes / "detection" / "images" / "test-001.png").read_bytes()
        r = c.post("/imageanalysis:analyze", params={"model-name": "d"}, content=png,
                   headers={"Content-Type": "application/octet-stream"})
        objects = r.json()["customModelResult"]["objectsResult"]["values"]
        assert objects
        for o in objects:
            b = o["boundingBox"]
            assert b["x"] >= 0 and b["y"] >= 0 and b["x"] + b["w"] <= 50 and b["y"] + b["h"] <= 50
            assert o["tags"][0]["name"] in {"circle", "square", "triangle"}
    assert not watch.violations


def test_same_dataset_and_seed_give_the_same_model_and_metrics(shapes):
    results = []
    for _ in range(2):
        srv, _watch = start_validated(trainer=make_trainer("pixels", seed=3))
        with srv, api(srv) as c:
            _dataset(c, "train", _uri(shapes, "classification", "train"))
            _dataset(c, "test", _uri(shapes, "classification", "test"))
            c.put("/models/m", json=TRAIN)
            body = _finish(srv, c, "/models/m")
            fitted = srv.store.get(ModelRecord, "m").outcome.fitted
            results.append((body["modelPerformance"], fitted))
    assert results[0] == results[1]


def test_the_server_answers_while_a_fit_runs_and_the_model_trains_until_it_ends(shapes):
    trainer = BlockingTrainer()
    srv, watch = start_validated(trainer=trainer)
    try:
        with srv, api(srv) as c:
            _dataset(c, "train", _uri(shapes, "classification", "train"))
            _dataset(c, "test", _uri(shapes, "classification", "test"))
            c.put("/models/m", json=TRAIN)
            srv.clock.advance(DAY)  # far past the emulated training time
            assert c.get("/models/m").json()["status"] == "training"
            assert trainer.started.wait(30)
            # The fit is running (blocked): every request still answers, and the model stays training.
            for _ in range(3):
                assert c.get("/models/m").json()["status"] == "training"
                assert c.get("/models").status_code == 200
                assert c.get("/datasets/train").status_code == 200
            trainer.release.set()
            assert srv.wait_for_runs(120)
            assert c.get("/models/m").json()["status"] == "succeeded"
    finally:
        trainer.release.set()
    assert not watch.violations


def test_a_fit_interrupted_by_a_restart_is_redone(shapes, tmp_path):
    clock = ManualClock()
    first = BlockingTrainer(abort=True)
    srv, _ = start_validated(state_dir=tmp_path / "state", clock=clock, trainer=first)
    try:
        with srv, api(srv) as c:
            _dataset(c, "train", _uri(shapes, "classification", "train"))
            _dataset(c, "test", _uri(shapes, "classification", "test"))
            c.put("/models/m", json=TRAIN)
            clock.advance(DAY)
            assert c.get("/models/m").json()["status"] == "training"
            assert first.started.wait(30)
    finally:
        first.release.set()  # the first emulator is stopped: its fit's result is dropped
    second = BlockingTrainer()
    second.release.set()
    srv2, watch2 = start_validated(state_dir=tmp_path / "state", clock=clock, trainer=second)
    with srv2, api(srv2) as c:
        assert srv2.wait_for_runs(120)
        body = c.get("/models/m").json()
    assert second.fits == 1 and body["status"] == "succeeded" and body["modelPerformance"]["accuracyTop1"] > 0
    assert not watch2.violations


def _bad_dataset(tmp_path: Path, shapes: Path, bad_name: str, bad_bytes: bytes | None) -> str:
    doc = json.loads((shapes / "classification" / "train.coco.json").read_text())
    target = tmp_path / bad_name
    if bad_bytes is not None:
        target.write_bytes(bad_bytes)
    doc["images"][4]["file_name"] = bad_name
    doc["images"][4]["coco_url"] = target.as_uri()
    return write_coco(tmp_path / "bad.coco.json", doc)


@pytest.mark.parametrize(
    ("bad_bytes", "code"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "datasetCorrupt"),  # a damaged PNG
        (b"II*\x00" + b"\x00" * 64, "datasetCorrupt"),  # TIFF: not a format the service takes
        (None, "datasetNotFound"),  # the image URL points at nothing
    ],
    ids=["damaged-png", "tiff", "missing"],
)
def test_bad_images_fail_the_run_with_the_documented_code_naming_the_image(shapes, tmp_path, bad_bytes, code):
    srv, watch = start_validated(trainer=make_trainer("pixels"))
    with srv, api(srv) as c:
        _dataset(c, "train", _bad_dataset(tmp_path, shapes, "broken-image.png", bad_bytes))
        _dataset(c, "test", _uri(shapes, "classification", "test"))
        c.put("/models/m", json=TRAIN)
        body = _finish(srv, c, "/models/m")
        assert body["status"] == "failed"
        assert body["error"]["code"] == code and "broken-image.png" in body["error"]["message"]
        assert c.get("/datasets/test").status_code == 200  # the emulator keeps serving
    assert not watch.violations


def test_the_default_trainer_learns_from_pixels_and_prior_models_still_load_after_a_switch(shapes, tmp_path):
    from reconcile.emulator.server import EmulatorServer

    default = EmulatorServer()  # as the embedded environment and `emulator serve` build it
    try:
        assert default.service.trainer.name == "pixels"
    finally:
        default.stop()
    clock = ManualClock()
    srv, _ = start_validated(state_dir=tmp_path / "state", clock=clock, trainer=make_trainer("prior"))
    with srv, api(srv) as c:
        _dataset(c, "train", _uri(shapes, "classification", "train"))
        _dataset(c, "test", _uri(shapes, "classification", "test"))
        c.put("/models/m", json=TRAIN)
        assert _finish(srv, c, "/models/m")["status"] == "succeeded"
    srv2, watch2 = start_validated(state_dir=tmp_path / "state", clock=clock, trainer=make_trainer("pixels"))
    png = (shapes / "classification" / "images" / "test-001.png").read_bytes()
    with srv2, api(srv2) as c:
        r = c.post("/imageanalysis:analyze", params={"model-name": "m"}, content=png,
                   headers={"Content-Type": "application/octet-stream"})
    # The model fitted by the prior is served by the prior: the class frequencies (3 of each here).
    assert r.status_code == 200
    assert [t["confidence"] for t in r.json()["customModelResult"]["tagsResult"]["values"]] == [0.333333] * 3
    assert not watch2.violations
