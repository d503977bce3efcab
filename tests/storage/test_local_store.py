"""LocalFolderStore and the upload helpers without any network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconcile.coco.validate import ValidationOptions, validate_bytes
from reconcile.errors import ConfigError, InputError, NotFoundError
from reconcile.storage.base import BlobStore, image_blob_name, label_blob_name, sha256_hex
from reconcile.storage.fetch import fetch_label
from reconcile.storage.local import LocalFolderStore
from reconcile.storage.upload import build_local_coco, upload_label_file, upload_local_coco
from tests.storage.helpers import Interrupted, InterruptingStore, make_local_coco


@pytest.fixture
def store(tmp_path: Path) -> LocalFolderStore:
    return LocalFolderStore(tmp_path / "blobs")


def test_store_roundtrip_and_urls(store: LocalFolderStore) -> None:
    assert isinstance(store, BlobStore)
    assert store.put("labels/x.coco.json", b"{}") is True
    assert store.put("labels/x.coco.json", b"[]") is False  # immutable once written
    assert store.get("labels/x.coco.json") == b"{}"
    uri = store.url("labels/x.coco.json")
    assert uri.startswith("file:///") and uri.startswith(store.url_prefix)
    assert store.name_for(uri) == "labels/x.coco.json"
    assert store.name_for("https://elsewhere/labels/x.coco.json") is None
    assert list(store.list_names("labels/")) == ["labels/x.coco.json"]
    with pytest.raises(NotFoundError):
        store.get("labels/missing.coco.json")
    with pytest.raises(ConfigError):
        store.put("../escape", b"x")


def test_blob_names_are_content_addressed() -> None:
    d = "ab" * 32
    assert label_blob_name(d) == f"labels/{d}.coco.json"
    assert image_blob_name(d, "dir/Photo.JPG") == f"images/{d}.jpg"
    assert image_blob_name(d, "no-extension") == f"images/{d}"


def test_build_fills_urls_deterministically_and_validates(store: LocalFolderStore, tmp_path: Path) -> None:
    coco, images = make_local_coco(tmp_path)
    before = validate_bytes(coco, ValidationOptions(kind="imageClassification", require_urls=False, purpose="eval"))
    assert before.valid, before.problems
    build = build_local_coco(coco, images, store)
    assert build_local_coco(coco, images, store) == build  # same inputs, same bytes and digest
    doc = json.loads(build.data)
    assert all(im["absolute_url"].startswith(store.url_prefix + "images/") for im in doc["images"])
    after = validate_bytes(
        build.data,
        ValidationOptions(
            kind="imageClassification",
            purpose="eval",
            storage_prefix=store.url_prefix,
            allowed_schemes=frozenset({"file"}),
        ),
    )
    assert after.valid, after.problems
    assert not store.exists(build.label_name)  # building uploads nothing


def test_upload_resumes_after_interruption(store: LocalFolderStore, tmp_path: Path) -> None:
    coco, images = make_local_coco(tmp_path, n_images=5)
    build = build_local_coco(coco, images, store)
    with pytest.raises(Interrupted):
        upload_local_coco(InterruptingStore(store, fail_after=3), build, workers=1, progress=False)
    assert len(list(store.list_names("images/"))) == 3
    assert not any(n.startswith("labels/") for n in store.list_names())
    done = upload_local_coco(store, build, progress=True)
    assert (done.images.uploaded, done.images.skipped, done.label.uploaded) == (2, 3, 1)
    assert fetch_label(done.uri, store).sha256 == build.sha256 == done.sha256


def test_same_content_is_uploaded_once(store: LocalFolderStore, tmp_path: Path) -> None:
    coco, images = make_local_coco(tmp_path, n_images=4, duplicate_content=True)
    build = build_local_coco(coco, images, store)
    res = upload_local_coco(store, build, progress=False)
    assert (res.images.uploaded, res.images.skipped) == (3, 0)
    assert len(list(store.list_names("images/"))) == 3


def test_missing_image_is_named_before_any_upload(store: LocalFolderStore, tmp_path: Path) -> None:
    coco, images = make_local_coco(tmp_path)
    (images / "002.PNG").unlink()
    with pytest.raises(InputError, match="002.PNG"):
        build_local_coco(coco, images, store)
    assert list(store.list_names()) == []


def test_file_name_cannot_escape_images_dir(store: LocalFolderStore, tmp_path: Path) -> None:
    doc = {"images": [{"id": 1, "file_name": "../secret.jpg", "width": 10, "height": 10}], "annotations": [], "categories": []}
    with pytest.raises(InputError, match="relative path"):
        build_local_coco(json.dumps(doc).encode(), tmp_path, store)


def test_digest_drift_on_local_store(store: LocalFolderStore) -> None:
    res = upload_label_file(store, b'{"a":1}')
    (store.root / label_blob_name(res.sha256)).write_bytes(b'{"a":2}')
    remote = fetch_label(res.uri, store)
    assert remote.sha256 == sha256_hex(b'{"a":2}') != res.sha256


def test_fetch_errors_are_typed(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        fetch_label((tmp_path / "none.json").as_uri())
    with pytest.raises(ConfigError):
        fetch_label("ftp://host/x.json")
