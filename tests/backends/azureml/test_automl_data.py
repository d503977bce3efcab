"""COCO → AutoML JSONL + MLTable: shapes, corners and the plan-time checks."""

from __future__ import annotations

import json

import pytest

from reconcile.backends.azureml.automl_data import (
    AutoMLTask,
    convert_coco,
    mltable_text,
    validate_jsonl,
    validate_mltable,
)
from reconcile.errors import InputError

URL = "https://acct/c/vision-gitops/images/"


def _coco(anns, images=None):
    images = images or [{"id": 1, "file_name": "a.png", "width": 40, "height": 20, "absolute_url": URL + "a.png"}]
    return json.dumps({"images": images, "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
                       "annotations": anns}).encode()


def _convert(data: bytes, detection: bool):
    return convert_coco([("x.coco.json", data)], detection=detection,
                        locate=lambda u: u.removeprefix("https://acct/c/") if u.startswith("https://acct/c/") else None,
                        datastore_uri=lambda b: f"azureml://datastores/ds/paths/{b}")


def test_detection_boxes_become_normalised_corners() -> None:
    d = _convert(_coco([{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0.1, 0.2, 0.5, 0.3]}]), True)
    row = json.loads(d.jsonl)
    assert d.task is AutoMLTask.DETECTION
    assert row["image_url"] == "azureml://datastores/ds/paths/vision-gitops/images/a.png"
    assert row["image_details"] == {"format": "png", "width": "40px", "height": "20px"}
    box = row["label"][0]
    assert (box["topX"], box["topY"], box["bottomX"], box["bottomY"]) == (0.1, 0.2, 0.6, 0.5)


def test_one_label_per_image_is_multiclass_and_two_is_multilabel() -> None:
    single = _convert(_coco([{"id": 1, "image_id": 1, "category_id": 2}]), False)
    assert single.task is AutoMLTask.CLASSIFICATION and json.loads(single.jsonl)["label"] == "dog"
    multi = _convert(_coco([{"id": 1, "image_id": 1, "category_id": 2}, {"id": 2, "image_id": 1, "category_id": 1}]),
                     False)
    assert multi.task is AutoMLTask.MULTILABEL and json.loads(multi.jsonl)["label"] == ["cat", "dog"]


def test_image_outside_the_datastore_is_refused_naming_file_and_image() -> None:
    images = [{"id": 1, "file_name": "a.png", "absolute_url": "https://other/a.png"}]
    with pytest.raises(InputError, match=r"x.coco.json: images\[0\]"):
        _convert(_coco([], images), True)


def test_jsonl_check_names_the_line() -> None:
    bad = b'{"image_url":"azureml://datastores/d/paths/a.png","label":[{"label":"c","topX":0.5,"topY":0,"bottomX":0.2,"bottomY":1}]}\n'
    with pytest.raises(InputError, match="f.jsonl:1"):
        validate_jsonl(bad, AutoMLTask.DETECTION, shown="f.jsonl")


def test_mltable_checks() -> None:
    validate_mltable(mltable_text(), shown="MLTable")
    with pytest.raises(InputError, match="paths"):
        validate_mltable(mltable_text("other.jsonl"), shown="MLTable")
    with pytest.raises(InputError, match="stream_info"):
        validate_mltable(mltable_text().replace("stream_info", "string"), shown="MLTable")
