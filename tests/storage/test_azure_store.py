"""AzureBlobStore against Azurite: upload, dedupe, resume, drift, error mapping."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from reconcile.errors import AuthError, NotFoundError, ServiceUnavailableError
from reconcile.storage.azure import AzureBlobStore
from reconcile.storage.base import label_blob_name, sha256_hex
from reconcile.storage.fetch import fetch_label
from reconcile.storage.open import open_blob_store
from tests.storage.test_open import environment
from reconcile.storage.upload import build_local_coco, upload_label_file, upload_local_coco
from tests.storage.helpers import InterruptingStore, Interrupted, make_local_coco

pytestmark = pytest.mark.azurite


@pytest.fixture
def store(azurite) -> AzureBlobStore:
    # A fresh container per test keeps tests independent on the shared Azurite.
    return AzureBlobStore.from_connection_string(azurite.connection_string, f"t{uuid.uuid4().hex[:20]}")


def test_label_upload_is_content_addressed_and_idempotent(store: AzureBlobStore) -> None:
    data = b'{"images":[],"annotations":[],"categories":[]}'
    first = upload_label_file(store, data)
    assert first.sha256 == sha256_hex(data)
    assert first.uri == store.url(label_blob_name(first.sha256))
    assert first.uri.startswith(store.url_prefix)
    assert (first.uploaded, first.skipped) == (1, 0)
    again = upload_label_file(store, data)
    assert (again.uri, again.uploaded, again.skipped) == (first.uri, 0, 1)
    assert store.get(label_blob_name(first.sha256)) == data
    assert store.put(label_blob_name(first.sha256), b"other bytes") is False
    assert store.get(label_blob_name(first.sha256)) == data


def test_local_coco_upload_dedupes_and_resumes(store: AzureBlobStore, tmp_path: Path) -> None:
    coco, images = make_local_coco(tmp_path, n_images=6, duplicate_content=True)
    build = build_local_coco(coco, images, store)
    distinct = {b.blob_name for b in build.images}
    assert len(distinct) == 5  # two files share content

    flaky = InterruptingStore(store, fail_after=2)
    with pytest.raises(Interrupted):
        upload_local_coco(flaky, build, workers=1, progress=False)
    assert len(list(store.list_names("images/"))) == 2
    assert not store.exists(build.label_name)  # the label file goes last

    done = upload_local_coco(store, build, workers=3, progress=False)
    assert (done.images.uploaded, done.images.skipped) == (3, 2)
    assert (done.label.uploaded, done.uri) == (1, build.uri)
    assert sorted(store.list_names("images/")) == sorted(distinct)

    again = upload_local_coco(store, build, progress=False)
    assert (again.images.uploaded, again.images.skipped, again.label.uploaded) == (0, 5, 0)


def test_fetch_label_detects_drift(store: AzureBlobStore) -> None:
    data = b'{"images":[],"annotations":[],"categories":[{"id":1,"name":"a"}]}'
    res = upload_label_file(store, data)
    remote = fetch_label(res.uri, store)
    assert remote.sha256 == res.sha256
    # Someone replaces the bytes behind the same URI.
    blob = store._container.get_blob_client(label_blob_name(res.sha256))
    blob.upload_blob(b"{}", overwrite=True)
    assert fetch_label(res.uri, store).sha256 != res.sha256


def test_missing_blob_is_not_found(store: AzureBlobStore) -> None:
    with pytest.raises(NotFoundError):
        store.get("labels/nothing.coco.json")


def test_wrong_key_is_auth_error(azurite, tmp_path) -> None:
    bad = azurite.connection_string.replace("AccountKey=Eby8", "AccountKey=Xby8")
    with pytest.raises(AuthError) as info:
        open_blob_store(environment(tmp_path, "azurite", container="denied"), {"AZURE_STORAGE_CONNECTION_STRING": bad})
    assert "Xby8" not in str(info.value)


def test_unreachable_endpoint_is_retryable() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conn = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )
    from azure.storage.blob import BlobServiceClient

    client = BlobServiceClient.from_connection_string(conn, retry_total=0).get_container_client("x")
    with pytest.raises(ServiceUnavailableError):
        AzureBlobStore(client).exists("labels/a.coco.json")
