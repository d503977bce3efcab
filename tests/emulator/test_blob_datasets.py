"""Annotation files and images read over http(s) from Azurite blob storage, with and without SAS."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.fixtures.azurite import ACCOUNT, ACCOUNT_KEY
from tests.fixtures.emulator import api, classification_coco, png_bytes, wait_for_status

pytestmark = pytest.mark.azurite


@pytest.fixture
def container(azurite):
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    client = service.create_container(f"emu-{uuid.uuid4().hex[:12]}")
    yield client
    client.delete_container()


def _sas(container) -> str:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    return generate_container_sas(
        ACCOUNT, container.container_name, account_key=ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=True), expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )


def test_training_reads_blob_annotations_with_a_sas_token(emulator, container):
    base = f"{container.url}/images/img"
    doc = classification_coco({"cat": 3, "dog": 3}, url_base=base)
    container.upload_blob("train.json", json.dumps(doc))
    container.upload_blob("images/probe.png", png_bytes(77, 33))
    sas = _sas(container)
    with api(emulator) as c:
        assert c.put("/datasets/blob", json={
            "annotationKind": "imageClassification",
            "annotationFileUris": [f"{container.url}/train.json"],
            "authentication": {"kind": "sas", "sasToken": sas},
        }).status_code == 201
        assert c.put("/datasets/nosas", json={
            "annotationKind": "imageClassification", "annotationFileUris": [f"{container.url}/train.json"],
            "authentication": {"kind": "managedIdentity"},
        }).status_code == 201
        for model, dataset in (("ok", "blob"), ("denied", "nosas")):
            c.put(f"/models/{model}", json={"trainingParameters": {"trainingDatasetName": dataset, "timeBudgetInHours": 1}})
        ok = wait_for_status(emulator, c, "/models/ok", {"succeeded", "failed"})
        denied = wait_for_status(emulator, c, "/models/denied", {"succeeded", "failed"})
        analyzed = c.post("/imageanalysis:analyze", params={"model-name": "ok"},
                          json={"url": f"{container.url}/images/probe.png?{sas}"})
    assert ok["status"] == "succeeded", ok
    assert denied["status"] == "failed" and denied["error"]["code"] == "datasetNotFound"
    assert "sig=" not in denied["error"]["message"]
    assert analyzed.status_code == 200 and analyzed.json()["metadata"] == {"width": 77, "height": 33}


def test_missing_blob_fails_dataset_not_found(emulator, container):
    with api(emulator) as c:
        c.put("/datasets/gone", json={"annotationKind": "imageClassification",
                                      "annotationFileUris": [f"{container.url}/missing.json"],
                                      "authentication": {"kind": "sas", "sasToken": _sas(container)}})
        c.put("/models/m", json={"trainingParameters": {"trainingDatasetName": "gone", "timeBudgetInHours": 1}})
        done = wait_for_status(emulator, c, "/models/m", {"succeeded", "failed"})
    assert done["error"]["code"] == "datasetNotFound"
