"""The validator's contract: options, JSON errors with locations, summaries, fast/exact agreement, generator."""

from __future__ import annotations

import json

import pytest

from reconcile.coco.generate import generate_coco, shape_for
from reconcile.coco.report import CategoryCount
from reconcile.coco.validate import ValidationOptions, validate_bytes, validate_exact
from reconcile.errors import UsageError
from tests.coco.helpers import IC, OD, base_doc, encode


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "imageSegmentation"},
        {"kind": OD, "purpose": "test"},
        {"kind": OD, "api_version": "2020-01-01"},
        {"kind": OD, "bbox_tolerance": float("nan")},
        {"kind": OD, "bbox_tolerance": 0.5},
        {"kind": OD, "allowed_schemes": frozenset()},
        {"kind": OD, "max_examples": -1},
    ],
)
def test_impossible_options_are_usage_errors(kwargs: dict) -> None:
    with pytest.raises(UsageError):
        ValidationOptions(**kwargs)


def test_json_errors_name_line_and_column() -> None:
    report = validate_bytes(b'{\n  "images": [1,,2]\n}', ValidationOptions(kind=OD))
    (problem,) = report.problems
    assert problem.code == "E_JSON" and problem.examples[0].detail.startswith("line 2 column ")
    assert validate_bytes(b"", ValidationOptions(kind=OD)).problems[0].examples[0].detail == "the file is empty"
    big = validate_bytes(b'{"images":\n [1, 1e999]}', ValidationOptions(kind=OD)).problems[0]
    assert big.examples[0].detail == "line 2 column 6: number 1e999 is beyond float range"


def test_bom_and_memoryview_inputs() -> None:
    data = encode(base_doc(IC))
    assert validate_bytes(b"\xef\xbb\xbf" + data, ValidationOptions(kind=IC)).valid
    assert validate_bytes(memoryview(bytearray(data)), ValidationOptions(kind=IC)).valid


def test_summary_counts_per_category() -> None:
    report = validate_bytes(encode(base_doc(OD)), ValidationOptions(kind=OD))
    s = report.summary
    assert s is not None
    assert (s.images, s.annotations, s.categories) == (4, 4, 2)
    assert s.per_category == {"cat": CategoryCount(2, 2), "dog": CategoryCount(2, 2)}
    assert s.category_names == {1: "cat", 2: "dog"} and s.file_names[0] == "1.jpg"
    assert report.to_dict()["summary"]["per_category"]["cat"] == {"images": 2, "boxes": 2}
    ic = validate_bytes(encode(base_doc(IC)), ValidationOptions(kind=IC)).summary
    assert ic is not None and ic.per_category["dog"] == CategoryCount(2, 0)


@pytest.mark.parametrize("kind", [OD, IC])
@pytest.mark.parametrize("defect", [None, "bbox", "image_ref"])
def test_generated_files(kind: str, defect: str | None) -> None:
    data = generate_coco(kind, 3_000, seed=3, defect=defect)
    assert data == generate_coco(kind, 3_000, seed=3, defect=defect)  # seeded: same bytes
    options = ValidationOptions(kind=kind)
    report = validate_bytes(data, options)
    assert report == validate_exact(data, options)
    shape = shape_for(kind, 3_000)
    assert report.summary is not None and report.summary.images == shape.images
    if defect is None:
        assert report.valid and report.problems == ()
    elif defect == "bbox":
        assert report.codes() == ({"E_BBOX_RANGE": 1} if kind == OD else {"E_BBOX_FORBIDDEN": 1})
    else:
        assert report.codes()["E_ANN_IMG_REF"] == 1


def test_large_ids_and_sparse_ids_agree() -> None:
    doc = json.loads(generate_coco(OD, 500, seed=1))
    for im in doc["images"]:
        im["id"] = im["id"] * 1_000_003 + 2**40
    for a in doc["annotations"]:
        a["image_id"] = a["image_id"] * 1_000_003 + 2**40
    data = encode(doc)
    report = validate_bytes(data, ValidationOptions(kind=OD))
    assert report.valid and report.codes() == {"W_IDS_NOT_DENSE": 1}
    assert report == validate_exact(data, ValidationOptions(kind=OD))


def test_docs_list_every_rule() -> None:
    from pathlib import Path

    from reconcile.coco.rules import RULES

    text = (Path(__file__).resolve().parents[2] / "docs" / "coco.md").read_text()
    missing = [code for code in RULES if f"`{code}`" not in text]
    assert not missing, f"docs/coco.md does not document {missing}"


@pytest.mark.parametrize(
    ("mutate", "options"),
    [
        (lambda b: b.replace(b"https://", b"http://"), {}),
        (lambda b: b, {"storage_prefix": "https://other.blob.core.windows.net/images/"}),
        (lambda b: b.replace(b"https://benchacct", b"https://bench acct", 7), {}),
        (lambda b: b.replace(b'"bbox":[0.', b'"bbox":[1'), {}),
    ],
    ids=["http-everywhere", "wrong-prefix", "some-spaces", "pixel-boxes"],
)
@pytest.mark.parametrize("kind", [OD, IC])
def test_files_wrong_everywhere_report_the_same_at_any_chunk_size(mutate, options: dict, kind: str) -> None:
    from reconcile.coco import exact

    data = mutate(generate_coco(kind, 600, seed=5))
    opts = ValidationOptions(kind=kind, max_examples=4, **options)
    reports = []
    previous = exact.CHUNK
    try:
        for chunk in (1, 7, 4096):
            exact.CHUNK = chunk
            reports.append(validate_exact(data, opts))
    finally:
        exact.CHUNK = previous
    reports.append(validate_bytes(data, opts))
    assert all(r == reports[0] for r in reports)
    assert not reports[0].valid or kind == IC
