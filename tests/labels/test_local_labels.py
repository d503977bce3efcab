"""Labels in git: local COCO files are validated before any write, uploaded content-addressed
(never twice), registered under their digest, and a change shows as a semantic label diff."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reconcile.errors import CocoError
from reconcile.plan import render

SHAPES = Path(__file__).resolve().parents[2] / "data" / "shapes" / "classification"
WRITES = {"PUT", "PATCH", "DELETE", "POST"}


def _local_project(project) -> tuple:
    proj = project([])
    shutil.copytree(SHAPES, proj.root / "data")
    proj.write_specs([
        {"kind": "Dataset", "name": "shapes", "annotationKind": "imageClassification",
         "labels": [{"file": "data/train.coco.json", "images": "data/images"}]},
        {"kind": "Model", "name": "clf", "modelKind": "Generic-Classifier", "trainingDataset": "shapes", "budgetHours": 1},
    ])
    return proj, proj.root / "data" / "train.coco.json"


def _blobs(root: Path) -> list[Path]:
    return sorted(p for p in (root / ".blobs").rglob("*") if p.is_file())


def test_local_labels_upload_once_and_train(project, emulator) -> None:
    proj, _ = _local_project(project)
    plan = proj.plan()
    ds = next(c for c in plan.changes if c.address == "dataset/shapes")
    assert ds.action == "create" and ds.labels[0].upload
    assert ds.labels[0].uri.endswith(f"labels/{ds.labels[0].sha256}.coco.json")
    assert not (proj.root / ".blobs").exists()  # planning uploads nothing

    result = proj.apply(plan, wait=True)
    assert result.exit_code == 0, result.failed
    blobs = _blobs(proj.root)
    images = [p for p in blobs if "images" in p.parts]
    assert len(images) == len(json.loads((proj.root / "data/train.coco.json").read_text())["images"])
    uploaded = json.loads(next(p for p in blobs if p.name.endswith(".coco.json")).read_text())
    assert all(im["absolute_url"].startswith("file://") for im in uploaded["images"])
    with proj.session() as s:
        assert s.backend.get_model("clf").status == "succeeded"
    assert not proj.plan().has_changes

    # Re-applying the same content writes no blob and no dataset again.
    mtimes = {p: p.stat().st_mtime_ns for p in blobs}
    emulator.request_log.clear()
    proj.apply()
    assert {p: p.stat().st_mtime_ns for p in _blobs(proj.root)} == mtimes
    assert not [r for r in emulator.request_log if r.method in WRITES]


def test_changed_labels_are_a_patch_with_a_label_diff(project, emulator) -> None:
    proj, coco = _local_project(project)
    proj.apply()
    doc = json.loads(coco.read_text())
    # Rename category 1, add a category, drop two images and relabel two images to the new category.
    old_name = doc["categories"][0]["name"]
    doc["categories"][0]["name"] = "disc"
    doc["categories"].append({"id": 4, "name": "star"})
    dropped = {im["id"] for im in doc["images"][:2]}
    doc["images"] = doc["images"][2:]
    doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] not in dropped]
    doc["annotations"][0]["category_id"] = 4
    doc["annotations"][1]["category_id"] = 4
    coco.write_text(json.dumps(doc))

    plan = proj.plan()
    ds = next(c for c in plan.changes if c.address == "dataset/shapes")
    assert ds.action == "update"
    assert {f.path for f in ds.changes} == {"labels", "customProperties.vision-gitops.labels-sha256"}
    diff = ds.label_diff
    assert diff is not None and diff.note is None
    assert diff.categories_added == ["star"]
    assert diff.categories_renamed == [(old_name, "disc")]
    assert diff.images_removed == 2 and diff.images_added == 0
    assert any(c.name == "star" and (c.images_before, c.images_after) == (0, 2) for c in diff.per_category)
    text, md = render.to_rich(plan).plain, render.to_markdown(plan)
    for out in (text, md):
        assert "categories added: star" in out and "images: +0 -2" in out
    assert '"images"' not in md  # never a raw JSON diff

    emulator.request_log.clear()
    result = proj.apply(plan)
    assert not result.failed
    assert [f"{r.method} {r.path}" for r in emulator.request_log if r.method in WRITES] == [
        "PATCH /computervision/datasets/shapes"]
    assert not proj.plan().has_changes


def test_invalid_local_labels_fail_the_plan_before_any_write(project, emulator) -> None:
    proj, coco = _local_project(project)
    doc = json.loads(coco.read_text())
    doc["annotations"].append({"id": 999, "image_id": 1, "category_id": 2})  # a second label on image 1
    coco.write_text(json.dumps(doc))
    emulator.request_log.clear()
    with pytest.raises(CocoError, match="data/train.coco.json"):
        proj.plan()
    assert not [r for r in emulator.request_log if r.method in WRITES]
    assert not (proj.root / ".blobs").exists()


def test_budget_under_the_service_minimum_fails_the_plan(project, emulator) -> None:
    """Pre-flight: a Generic-Detector needs 0.0066667 h per training image (docs/service-api.md §5);
    210 images need 2 h, so a 1 h budget must fail the plan, not a paid run."""
    from reconcile.errors import SpecError

    proj = project([])
    src = SHAPES.parent / "detection"
    (proj.root / "det" / "images").mkdir(parents=True)
    doc = json.loads((src / "train.coco.json").read_text())
    base_images, base_anns = doc["images"], doc["annotations"]
    doc["images"], doc["annotations"] = [], []
    for copy in range(5):
        for im in base_images:
            new_id = len(doc["images"]) + 1
            name = f"c{copy}-{im['file_name']}"
            shutil.copy(src / "images" / im["file_name"], proj.root / "det" / "images" / name)
            doc["images"].append({**im, "id": new_id, "file_name": name})
            for a in base_anns:
                if a["image_id"] == im["id"]:
                    doc["annotations"].append({**a, "id": len(doc["annotations"]) + 1, "image_id": new_id})
    (proj.root / "det" / "train.coco.json").write_text(json.dumps(doc))
    proj.write_specs([
        {"kind": "Dataset", "name": "det", "annotationKind": "imageObjectDetection",
         "labels": [{"file": "det/train.coco.json", "images": "det/images"}]},
        {"kind": "Model", "name": "detector", "modelKind": "Generic-Detector", "trainingDataset": "det",
         "budgetHours": 1},
    ])
    emulator.request_log.clear()
    with pytest.raises(SpecError) as exc:
        proj.plan()
    message = str(exc.value)
    assert "specs/all.yaml:" in message and "budgetHours" in message and "notEnoughBudget" in message
    assert "at least 2" in message
    assert not [r for r in emulator.request_log if r.method in WRITES]


def test_the_uploader_checks_a_label_file_it_was_not_asked_to_check_first(project, emulator) -> None:
    # upload() is safe on its own: a file changed since the plan is refused, not uploaded.
    from reconcile.errors import StalePlanError
    from reconcile.labels import LabelUploader

    proj, coco = _local_project(project)
    ds = next(c for c in proj.plan().changes if c.address == "dataset/shapes")
    doc = json.loads(coco.read_text())
    doc["categories"][0]["name"] = "disc"
    coco.write_text(json.dumps(doc))
    with proj.session() as s, pytest.raises(StalePlanError, match="changed since the plan was made"):
        LabelUploader(s).upload(ds, ds.labels[0])
    assert not (proj.root / ".blobs").exists()
