"""An Azure ML emulator over HTTPS with Azurite, and the backend pointed at it."""

from __future__ import annotations

import json
import shutil
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def azureml_project(tmp_path: Path, azurite: Azurite, monkeypatch: pytest.MonkeyPatch,
                    write_specs: Any = None) -> Iterator[tuple[AzureMLEmulatorServer, Any]]:
    """A project in ``tmp_path`` (the shapes classification data, stack outputs, an ``ml`` environment on the
    emulator over HTTPS) and a session opened on it; ``write_specs(specs_dir)`` fills ``specs/`` first.
    Yields ``(server, session)``; on exit closes both and asserts the emulator's answers met the swagger."""
    from infra.azureml_outputs import AzureMLStackOutputs
    from reconcile.session import open_session
    from reconcile.specs.config import load_config

    blob = blob_config(azurite)
    srv, watch = start_validated(None, blob=blob, tls=True)
    ws = srv.workspace
    shutil.copytree(ROOT / "data" / "shapes" / "classification", tmp_path / "data" / "shapes" / "classification")
    (tmp_path / "specs").mkdir()
    if write_specs is not None:
        write_specs(tmp_path / "specs")
    (tmp_path / "infra" / "outputs").mkdir(parents=True)
    (tmp_path / "infra" / "outputs" / "ml.json").write_text(json.dumps(AzureMLStackOutputs(
        subscription_id=ws.subscription, resource_group_name=ws.resource_group, workspace_name=ws.name,
        location=ws.region, compute_name="gpu-cluster", datastore_name="workspaceblobstore",
        container_url=f"https://example.blob.core.windows.net/{blob.container}").to_json_dict()))
    (tmp_path / "vision-gitops.yaml").write_text(
        f"defaultEnvironment: ml\nspecs: [specs]\nenvironments:\n  ml:\n    service: azureml\n"
        f"    endpoint: {srv.endpoint}\n    stackOutputs: infra/outputs/ml.json\n    auth: {{kind: entra}}\n"
        f"    storage: {{kind: azurite, container: {blob.container}}}\n")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    monkeypatch.setattr("reconcile.client.auth._default_credential", lambda: _Credential())
    config = load_config(tmp_path / "vision-gitops.yaml")
    session = open_session(config, client_options={"verify": ssl.create_default_context(cafile=str(srv.cert_file))})
    try:
        yield srv, session
    finally:
        session.close()
        srv.stop()
    assert not watch.violations, watch.violations[:5]


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
