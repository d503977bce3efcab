"""POST /imageanalysis:analyze?model-name=: predictions of the trained baseline, image headers, errors."""

from __future__ import annotations

import struct

import pytest

from reconcile.emulator.images import ImageFormatError, image_size
from tests.fixtures.emulator import api, classification_coco, detection_coco, png_bytes, wait_for_status, write_coco


def jpeg_bytes(w: int, h: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, h, w, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


def gif_bytes(w: int, h: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", w, h) + b"\x00\x00\x00;"


def bmp_bytes(w: int, h: int) -> bytes:
    return b"BM" + b"\x00" * 12 + struct.pack("<Iii", 40, w, -h) + b"\x00" * 28


@pytest.mark.parametrize("make", [png_bytes, jpeg_bytes, gif_bytes, bmp_bytes])
def test_image_size_from_headers(make):
    assert image_size(make(123, 45)) == (123, 45)


@pytest.mark.parametrize("data", [b"", b"hello", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0\x00\x10"])
def test_image_size_rejects_non_images(data):
    with pytest.raises(ImageFormatError):
        image_size(data)


@pytest.fixture
def models(emulator, tmp_path):
    with api(emulator) as c:
        ic = write_coco(tmp_path / "ic.json", classification_coco({"cat": 6, "dog": 4}))
        od = write_coco(tmp_path / "od.json", detection_coco({"car": [[0.1, 0.2, 0.5, 0.25]] * 5, "bus": [[0, 0, 1, 1]] * 2}))
        c.put("/datasets/ic", json={"annotationKind": "imageClassification", "annotationFileUris": [ic]})
        c.put("/datasets/od", json={"annotationKind": "imageObjectDetection", "annotationFileUris": [od]})
        c.put("/models/cls", json={"trainingParameters": {"trainingDatasetName": "ic", "timeBudgetInHours": 1}})
        c.put("/models/det", json={"trainingParameters": {"trainingDatasetName": "od", "timeBudgetInHours": 1}})
        wait_for_status(emulator, c, "/models/cls", {"succeeded"})
        wait_for_status(emulator, c, "/models/det", {"succeeded"})
    return emulator


def test_classifier_prediction_from_binary_body(models):
    with api(models, "2023-07-01-preview") as c:
        r = c.post("/imageanalysis:analyze", params={"model-name": "cls"}, content=jpeg_bytes(640, 480),
                   headers={"content-type": "image/jpeg"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["modelVersion"] == "2023-07-01-preview"
    assert body["metadata"] == {"width": 640, "height": 480}
    tags = body["customModelResult"]["tagsResult"]["values"]
    assert [t["name"] for t in tags][0] in {"cat", "dog"}
    assert sum(t["confidence"] for t in tags) == pytest.approx(1.0)
    assert body["customModelResult"]["objectsResult"] == {"values": []}


def test_detector_prediction_from_file_url(models, tmp_path):
    image = tmp_path / "shelf.png"
    image.write_bytes(png_bytes(200, 100))
    with api(models) as c:
        r = c.post("/imageanalysis:analyze", params={"model-name": "det"}, json={"url": image.as_uri()})
    assert r.status_code == 200, r.text
    result = r.json()["customModelResult"]
    assert result["tagsResult"] == {"values": []}
    objects = result["objectsResult"]["values"]
    assert objects and objects[0]["id"] == "1"
    car = next(o for o in objects if o["tags"][0]["name"] == "car")
    assert car["boundingBox"] == {"x": 20, "y": 20, "w": 100, "h": 25}  # the mean car box in pixels


def test_analyze_errors(models, emulator):
    with api(models) as c:
        c.put("/models/busy", json={"trainingParameters": {"trainingDatasetName": "ic", "timeBudgetInHours": 1}})
        png = {"content": png_bytes(10, 10), "headers": {"content-type": "application/octet-stream"}}
        unknown = c.post("/imageanalysis:analyze", params={"model-name": "nope"}, **png)
        busy = c.post("/imageanalysis:analyze", params={"model-name": "busy"}, **png)
        no_model = c.post("/imageanalysis:analyze", **png)
        features = c.post("/imageanalysis:analyze", params={"features": "tags"}, **png)
        both = c.post("/imageanalysis:analyze", params={"features": "tags", "model-name": "cls"}, **png)
        not_image = c.post("/imageanalysis:analyze", params={"model-name": "cls"}, content=b"text",
                           headers={"content-type": "image/png"})
        empty = c.post("/imageanalysis:analyze", params={"model-name": "cls"}, content=b"",
                       headers={"content-type": "image/png"})
        bad_url = c.post("/imageanalysis:analyze", params={"model-name": "cls"}, json={"url": "file:///no/such.png"})
        no_url = c.post("/imageanalysis:analyze", params={"model-name": "cls"}, json={"uri": "x"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "NotFound"
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "InvalidModelState"
    for r, inner in ((no_model, "MissingParameter"), (features, "NotSupportedVisualFeature"),
                     (both, "InvalidParameter"), (not_image, "InvalidImageFormat"), (empty, "InvalidImageSize"),
                     (bad_url, "InvalidImageUrl"), (no_url, "InvalidBody")):
        assert r.status_code == 400, r.text
        assert r.json()["error"]["innererror"]["code"] == inner
