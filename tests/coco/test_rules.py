"""One test per rule: a file that breaks it (the code is reported, at a real JSON path) and a passing file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from reconcile.coco.rules import RULES
from reconcile.coco.validate import ValidationOptions, validate_bytes, validate_exact, validate_file
from tests.coco.helpers import IC, OD, PREFIX, base_doc, clone, encode, resolve

Doc = dict[str, Any]


@dataclass(frozen=True)
class Case:
    code: str
    kind: str
    mutate: Callable[[Doc], Any]
    options: dict[str, Any] = field(default_factory=dict)


def _set(path: list[Any], value: Any) -> Callable[[Doc], Doc]:
    def f(doc: Doc) -> Doc:
        cur = doc
        for step in path[:-1]:
            cur = cur[step]
        cur[path[-1]] = value
        return doc

    return f


def _delete(path: list[Any]) -> Callable[[Doc], Doc]:
    def f(doc: Doc) -> Doc:
        cur = doc
        for step in path[:-1]:
            cur = cur[step]
        del cur[path[-1]]
        return doc

    return f


def _many_boxes(doc: Doc) -> Doc:
    doc["annotations"] += [
        {"id": 100 + k, "image_id": 1, "category_id": 1, "bbox": [0.1, 0.1, 0.1, 0.1]} for k in range(1000)
    ]
    return doc


def _many_categories(n: int) -> Callable[[Doc], Doc]:
    def f(doc: Doc) -> Doc:
        doc["categories"] += [{"id": 3 + k, "name": f"extra{k}"} for k in range(n)]
        return doc

    return f


def _shift_image_ids(doc: Doc) -> Doc:
    for im in doc["images"]:
        im["id"] += 10
    for a in doc["annotations"]:
        a["image_id"] += 10
    return doc


def _one_category(doc: Doc) -> Doc:
    doc["categories"] = doc["categories"][:1]
    for a in doc["annotations"]:
        a["category_id"] = 1
    return doc


def _single_image_category(doc: Doc) -> Doc:
    doc["annotations"][1]["category_id"] = 2  # category 1 now on image 1 only
    return doc


def _multi_label(doc: Doc) -> Doc:
    doc["annotations"].append({"id": 9, "image_id": 1, "category_id": 2})
    return doc


def _no_label(doc: Doc) -> Doc:
    doc["annotations"][3]["image_id"] = 3  # image 4 loses its label, image 3 gets two
    return doc


def _image_no_annotation(doc: Doc) -> Doc:
    doc["images"].append({"id": 5, "width": 100, "height": 80, "file_name": "5.jpg", "absolute_url": PREFIX + "5.jpg"})
    return doc


CASES = [
    Case("E_ROOT_TYPE", OD, lambda d: [d]),
    Case("E_SECTION_MISSING", OD, _delete(["images"])),
    Case("E_SECTION_TYPE", IC, _set(["categories"], {"1": "cat"})),
    Case("E_RECORD_TYPE", OD, _set(["annotations", 0], 5)),
    Case("E_INLINE_UNSUPPORTED", IC, lambda d: d, {"inline": True, "api_version": "2023-04-01-preview"}),
    Case("E_FIELD_MISSING", OD, _delete(["images", 0, "file_name"])),
    Case("E_ID_TYPE", OD, _set(["annotations", 1, "id"], True)),
    Case("E_ID_TYPE", IC, _set(["images", 1, "id"], 2.0)),
    Case("E_ID_TYPE", IC, _set(["annotations", 0, "category_id"], "1")),
    Case("E_ID_RANGE", OD, _set(["annotations", 0, "id"], 0)),
    Case("E_ID_RANGE", OD, _set(["annotations", 0, "id"], 2**64)),
    Case("E_IMG_ID_DUP", OD, _set(["images", 1, "id"], 1)),
    Case("E_ANN_ID_DUP", IC, _set(["annotations", 3, "id"], 1)),
    Case("E_CAT_ID_DUP", OD, _set(["categories", 1, "id"], 1)),
    Case("E_ANN_IMG_REF", OD, _set(["annotations", 2, "image_id"], 99)),
    Case("E_ANN_CAT_REF", IC, _set(["annotations", 2, "category_id"], 7)),
    Case("E_FILE_NAME", OD, _set(["images", 0, "file_name"], "")),
    Case("E_FILE_NAME_DUP", OD, _set(["images", 3, "file_name"], "1.jpg")),
    Case("E_IMG_URL_MISSING", IC, _delete(["images", 2, "absolute_url"])),
    Case("E_IMG_URL", OD, _set(["images", 0, "absolute_url"], "http://acct.blob.core.windows.net/images/1.jpg")),
    Case("E_IMG_URL", OD, _set(["images", 0, "absolute_url"], "images/1.jpg")),
    Case("E_IMG_URL", OD, _set(["images", 0, "absolute_url"], PREFIX)),
    Case("E_IMG_URL", IC, _set(["images", 0, "absolute_url"], 42)),
    Case("E_IMG_URL_PREFIX", OD, lambda d: d, {"storage_prefix": "https://other.blob.core.windows.net/images/"}),
    Case("W_IMG_URL_QUERY", OD, _set(["images", 0, "absolute_url"], PREFIX + "1.jpg?sv=1&sig=TOPSECRET")),
    Case("E_IMG_DIM_TYPE", OD, _set(["images", 0, "width"], 100.5)),
    Case("E_IMG_DIM_TYPE", IC, _set(["images", 0, "height"], "80")),
    Case("E_IMG_DIM_RANGE", OD, _set(["images", 0, "width"], 9)),
    Case("E_IMG_DIM_RANGE", IC, _set(["images", 0, "width"], 10_241)),
    Case("E_IMG_DIM_RANGE", OD, _set(["images", 0, "height"], 49), {"purpose": "eval"}),
    Case("E_CAT_NAME", OD, _set(["categories", 0, "name"], "  ")),
    Case("W_CAT_NAME_DUP", OD, _set(["categories", 1, "name"], "cat")),
    Case("E_BBOX_MISSING", OD, _delete(["annotations", 0, "bbox"])),
    Case("E_BBOX_FORBIDDEN", IC, _set(["annotations", 0, "bbox"], [0.1, 0.1, 0.2, 0.2])),
    Case("E_BBOX_SHAPE", OD, _set(["annotations", 0, "bbox"], [0.1, 0.1, 0.2])),
    Case("E_BBOX_SHAPE", OD, _set(["annotations", 0, "bbox", 2], "0.2")),
    Case("E_BBOX_SHAPE", OD, _set(["annotations", 0, "bbox", 2], False)),
    Case("E_BBOX_RANGE", OD, _set(["annotations", 0, "bbox"], [0.5, 0.1, 0.6, 0.2])),
    Case("E_BBOX_RANGE", OD, _set(["annotations", 0, "bbox"], [10, 20, 30, 40])),
    Case("E_BBOX_RANGE", OD, _set(["annotations", 0, "bbox"], [0.1, 0.1, 0.0, 0.2])),
    Case("E_BBOX_RANGE", OD, _set(["annotations", 0, "bbox"], [0.1, 1.0, 0.1, 0.2])),
    Case("W_BBOX_TOLERANCE", OD, _set(["annotations", 0, "bbox"], [0.5, 0.1, 0.5000000000000002, 0.2])),
    Case("W_AREA", OD, _set(["annotations", 0, "area"], "big")),
    Case("E_IC_NO_LABEL", IC, _no_label),
    Case("E_IC_MULTI_LABEL", IC, _multi_label),
    Case("E_REGIONS_PER_IMAGE", OD, _many_boxes),
    Case("E_IMAGE_COUNT", OD, lambda d: {"images": [], "annotations": [], "categories": d["categories"]}),
    Case("E_IMAGE_COUNT", IC, lambda d: d, {"inline": True, "api_version": "2023-07-01-preview"}),
    Case("E_CATEGORY_COUNT", IC, _one_category),
    Case("E_CATEGORY_COUNT", OD, _many_categories(99), {"inline": True, "api_version": "2023-07-01-preview"}),
    Case("W_CATEGORY_COUNT", OD, _many_categories(999)),
    Case("E_IMAGES_PER_CATEGORY", IC, _single_image_category),
    Case("W_IMAGES_PER_CATEGORY", OD, _single_image_category),
    Case("W_IMG_NO_ANN", OD, _image_no_annotation),
    Case("W_CAT_UNUSED", OD, _many_categories(1)),
    Case("W_IDS_NOT_DENSE", IC, _shift_image_ids),
]


def _with_big_image_count(doc: Doc, case: Case) -> Doc:
    # The inline cap is 1,000 images: make 1,001 valid ones for that case only.
    if case.code == "E_IMAGE_COUNT" and case.options.get("inline"):
        doc["images"] = [
            {"id": i, "width": 100, "height": 80, "file_name": f"{i}.jpg", "absolute_url": f"{PREFIX}{i}.jpg"}
            for i in range(1, 1002)
        ]
        doc["annotations"] = [{"id": i, "image_id": i, "category_id": 1 + i % 2} for i in range(1, 1002)]
    return doc


def _options(case: Case, **extra: Any) -> ValidationOptions:
    return ValidationOptions(kind=case.kind, **{**case.options, **extra})


@pytest.mark.parametrize("kind", [OD, IC])
def test_base_documents_pass_cleanly(kind: str) -> None:
    report = validate_bytes(encode(base_doc(kind)), ValidationOptions(kind=kind))
    assert report.valid and report.problems == ()
    assert report.summary is not None and report.summary.images == 4


def test_every_rule_has_a_case() -> None:
    covered = {c.code for c in CASES} | {"E_JSON", "E_FILE_READ"}
    assert covered == set(RULES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.code}-{c.kind[5:8]}")
def test_rule_fails_and_passes(case: Case) -> None:
    options = _options(case)
    doc = _with_big_image_count(case.mutate(clone(base_doc(case.kind))), case)
    report = validate_bytes(encode(doc), options)
    codes = report.codes()
    assert case.code in codes, report.problems
    problem = next(p for p in report.problems if p.code == case.code)
    assert problem.severity == RULES[case.code].severity
    assert problem.examples and len(problem.examples) <= options.max_examples
    for ex in problem.examples:
        resolve(doc, ex.path)  # every example names a real place in the file
    assert report.valid == (not report.errors)
    if problem.severity == "warning" and len(codes) == 1:
        assert report.valid
    assert validate_exact(encode(doc), options) == report  # one truth, whichever path produced it
    passing = validate_bytes(encode(base_doc(case.kind)), _options(case, inline=False, api_version="2023-07-01-preview", storage_prefix=None))
    assert case.code not in passing.codes()


def test_sas_token_never_reaches_the_report() -> None:
    doc = base_doc(OD)
    doc["images"][0]["absolute_url"] = PREFIX + "1.jpg?sv=1&sig=TOPSECRET"
    doc["images"][1]["absolute_url"] = "http://x/2.jpg?sig=TOPSECRET"
    report = validate_bytes(encode(doc), ValidationOptions(kind=OD))
    assert "TOPSECRET" not in str(report.to_dict())
    assert report.codes() == {"E_IMG_URL": 1, "W_IMG_URL_QUERY": 1}


@pytest.mark.parametrize(
    ("kind", "mutate", "options"),
    [
        (OD, _set(["annotations", 0, "bbox"], [0.5, 0.5, 0.5, 0.5]), {}),  # touches the right and bottom edges
        (OD, _set(["annotations", 0, "bbox"], [0, 0, 1, 1]), {}),  # whole image, integers
        (IC, _set(["images", 0, "width"], 224.0), {}),  # Azure's own examples use integral floats
        (IC, _set(["images", 0, "width"], 10), {}),
        (IC, _set(["images", 0, "height"], 10_240), {}),
        (OD, _set(["images", 0, "width"], 16_000), {"purpose": "eval"}),
        (OD, lambda d: [im.update(coco_url=im.pop("absolute_url")) for im in d["images"]] and d, {}),
        (OD, _set(["images", 0, "absolute_url"], "file:///data/1.jpg"), {"allowed_schemes": frozenset({"https", "file"})}),
        (IC, lambda d: d, {"storage_prefix": PREFIX}),
        (IC, lambda d: [im.pop("absolute_url") for im in d["images"]] and d, {"require_urls": False}),
        (IC, _set(["annotations", 0, "bbox"], None), {}),
        (OD, _set(["annotations", 0, "segmentation"], [[1, 2, 3]]), {}),
        (IC, lambda d: d, {"inline": True, "api_version": "2023-07-01-preview"}),
    ],
)
def test_borderline_files_pass(kind: str, mutate: Callable[[Doc], Any], options: dict[str, Any]) -> None:
    doc = mutate(clone(base_doc(kind)))
    report = validate_bytes(encode(doc), ValidationOptions(kind=kind, **options))
    assert report.valid and report.problems == (), report.problems


def test_tolerance_is_configurable() -> None:
    doc = _set(["annotations", 0, "bbox"], [0.5, 0.1, 0.5000000000000002, 0.2])(base_doc(OD))
    strict = validate_bytes(encode(doc), ValidationOptions(kind=OD, bbox_tolerance=0.0))
    assert strict.codes() == {"E_BBOX_RANGE": 1} and not strict.valid


def test_counts_and_examples_cover_every_occurrence() -> None:
    doc = base_doc(OD)
    for a in doc["annotations"]:
        a["bbox"] = [0.9, 0.9, 0.5, 0.5]
    report = validate_bytes(encode(doc), ValidationOptions(kind=OD, max_examples=3))
    problem = report.errors[0]
    assert (problem.code, problem.count, len(problem.examples)) == ("E_BBOX_RANGE", 8, 3)
    assert [e.path for e in problem.examples] == [
        "annotations[0].bbox[2]",
        "annotations[0].bbox[3]",
        "annotations[1].bbox[2]",
    ]


def test_unreadable_file_is_a_report(tmp_path) -> None:
    report = validate_file(tmp_path / "missing.json", ValidationOptions(kind=OD))
    assert not report.valid and report.codes() == {"E_FILE_READ": 1}
    assert report.summary is None
