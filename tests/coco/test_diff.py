"""label_diff: categories by id, per-category counts, images by file_name."""

from __future__ import annotations

import pytest

from reconcile.coco.diff import label_diff, summarize
from reconcile.errors import CocoError
from tests.coco.helpers import IC, OD, PREFIX, base_doc, encode


def test_identical_files_have_no_change() -> None:
    data = encode(base_doc(OD))
    d = label_diff(data, data)
    assert not d.changed
    assert d.per_category == () and d.categories_renamed == () and (d.images_added, d.images_removed) == (0, 0)


def test_categories_counts_and_images() -> None:
    old = base_doc(OD)
    new = base_doc(OD)
    new["categories"][0]["name"] = "kitten"  # rename id 1
    new["categories"].append({"id": 3, "name": "bird"})
    new["images"].append({"id": 5, "width": 100, "height": 80, "file_name": "5.jpg", "absolute_url": PREFIX + "5.jpg"})
    new["annotations"].append({"id": 5, "image_id": 5, "category_id": 3, "bbox": [0, 0, 0.5, 0.5]})
    new["annotations"].append({"id": 6, "image_id": 5, "category_id": 2, "bbox": [0.5, 0.5, 0.5, 0.5]})
    new["images"] = [im for im in new["images"] if im["file_name"] != "1.jpg"]
    new["annotations"] = [a for a in new["annotations"] if a["image_id"] != 1]

    d = label_diff(encode(old), encode(new), kind=OD)
    assert d.categories_added == ((3, "bird"),)
    assert d.categories_removed == ()
    assert d.categories_renamed == ((1, "cat", "kitten"),)
    rows = {c.id: c for c in d.per_category}
    assert (rows[1].name, rows[1].images_before, rows[1].images_after) == ("cat -> kitten", 2, 1)
    assert (rows[2].boxes_before, rows[2].boxes_after) == (2, 3)
    assert (rows[3].images_before, rows[3].images_after) == (0, 1)
    assert (d.images_added, d.images_removed) == (1, 1)
    assert d.images_added_examples == ("5.jpg",) and d.images_removed_examples == ("1.jpg",)
    assert (d.images_before, d.images_after, d.annotations_before, d.annotations_after) == (4, 4, 4, 5)
    assert d.changed


def test_summaries_are_accepted_and_examples_capped() -> None:
    old = base_doc(IC)
    new = base_doc(IC)
    for k in range(20):
        new["images"].append({"id": 10 + k, "width": 100, "height": 80, "file_name": f"n{k}.jpg", "absolute_url": f"{PREFIX}n{k}.jpg"})
    d = label_diff(summarize(encode(old), IC), summarize(encode(new), IC), kind=IC, max_examples=3)
    assert d.images_added == 20 and len(d.images_added_examples) == 3
    assert d.images_added_examples == ("n0.jpg", "n1.jpg", "n2.jpg")
    assert all(c.boxes_before == c.boxes_after == 0 for c in d.per_category)


def test_unreadable_labels_raise_coco_error() -> None:
    with pytest.raises(CocoError, match="new labels"):
        label_diff(encode(base_doc(OD)), b"{not json")
