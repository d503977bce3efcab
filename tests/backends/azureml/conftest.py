"""An Azure ML emulator over HTTPS with Azurite, and the backend pointed at it."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reconcile.backends.azureml.backend import AzureMLBackend
from reconcile.backends.azureml.target import API_VERSION, ARM_SCOPE, AzureMLTarget
from reconcile.backends.base import DesiredDataset
from reconcile.client.arm import ArmClient
from reconcile.client.auth import BearerAuth
from reconcile.emulator.azureml.server import AzureMLEmulatorServer
from reconcile.storage.azure import AzureBlobStore
from reconcile.storage.upload import build_local_coco, upload_local_coco
from tests.fixtures.azureml import TOKEN, blob_config, start_validated
from tests.fixtures.azurite import Azurite

ROOT = Path(__file__).resolve().parents[3]


class _Credential:
    def get_token(self, scope: str) -> tuple[str, float]:
        assert scope == ARM_SCOPE
        return (TOKEN, 4e9)


@dataclass
class Rig:
    srv: AzureMLEmulatorServer
    backend: AzureMLBackend
    client: ArmClient
    store: Any
    target: AzureMLTarget

    def label_uri(self, kind: str, split: str) -> str:
        """Upload data/shapes/<kind>/<split>.coco.json and its images; return the label URI."""
        root = ROOT / "data" / "shapes" / kind
        build = build_local_coco((root / f"{split}.coco.json").read_bytes(), root / "images", self.store,
                                 roots=[ROOT])
        upload_local_coco(self.store, build, progress=False)
        return build.uri

    def dataset(self, name: str, kind: str = "classification", split: str = "train", **props: str) -> DesiredDataset:
        annotation = "imageObjectDetection" if kind == "detection" else "imageClassification"
        return DesiredDataset(name=name, annotation_kind=annotation, label_uris=(self.label_uri(kind, split),),
                              custom_properties={"project": "shapes", **props})


def make_client(srv: AzureMLEmulatorServer, **kwargs: Any) -> ArmClient:
    verify = ssl.create_default_context(cafile=str(srv.cert_file))
    return ArmClient(endpoint=srv.endpoint, api_version=API_VERSION, auth=BearerAuth(_Credential(), ARM_SCOPE),
                     verify=verify, **kwargs)


@pytest.fixture
def rig(azurite: Azurite) -> Iterator[Rig]:
    blob = blob_config(azurite)
    srv, watch = start_validated(None, blob=blob, tls=True)
    client = make_client(srv)
    store = AzureBlobStore.from_connection_string(azurite.connection_string, blob.container)
    ws = srv.workspace
    target = AzureMLTarget(subscription_id=ws.subscription, resource_group=ws.resource_group, workspace=ws.name,
                           location=ws.region, compute="gpu-cluster", datastore="workspaceblobstore",
                           container_url=f"{azurite.blob_endpoint}/{blob.container}", arm_endpoint=srv.endpoint)
    try:
        yield Rig(srv, AzureMLBackend(client, target, store), client, store, target)
    finally:
        client.close()
        srv.stop()
    if watch.violations:
        pytest.fail("exchanges violate the swagger:\n" + "\n".join(watch.violations[:20]))
