"""Issue 13's hand-off: an azureml stack's outputs file → the config loader → a call to the Azure ML emulator."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest

from infra.azureml_outputs import AzureMLStackOutputs
from reconcile.backends.azureml.target import API_VERSION, ARM_SCOPE
from reconcile.errors import ConfigError
from reconcile.session import open_session
from reconcile.specs.config import load_config
from tests.backends.azureml.conftest import TOKEN, _Credential, blob_config, start_validated  # noqa: F401
from tests.fixtures.azurite import Azurite

pytestmark = pytest.mark.azurite  # emulator datastore on Azurite

CONFIG = """\
defaultEnvironment: ml
specs: [specs]
environments:
  ml:
    service: azureml
    endpoint: {endpoint}
    stackOutputs: infra/outputs/ml.json
    auth: {{kind: entra}}
    storage: {{kind: azurite, container: {container}}}
"""


def _project(tmp_path: Path, outputs: dict, endpoint: str, container: str) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "infra" / "outputs").mkdir(parents=True)
    (tmp_path / "infra" / "outputs" / "ml.json").write_text(json.dumps(outputs))
    cfg = tmp_path / "vision-gitops.yaml"
    cfg.write_text(CONFIG.format(endpoint=endpoint, container=container))
    return cfg


def test_outputs_file_to_config_to_emulator(tmp_path: Path, azurite: Azurite, monkeypatch: pytest.MonkeyPatch) -> None:
    blob = blob_config(azurite)
    srv, watch = start_validated(None, blob=blob, tls=True)
    try:
        ws = srv.workspace
        outputs = AzureMLStackOutputs(
            subscription_id=ws.subscription, resource_group_name=ws.resource_group, workspace_name=ws.name,
            location=ws.region, compute_name="gpu-cluster", datastore_name="workspaceblobstore",
            container_url=f"https://{azurite.blob_endpoint.split('//')[1]}/{blob.container}").to_json_dict()
        cfg = load_config(_project(tmp_path, outputs, srv.endpoint, blob.container),
                          env={"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string})
        assert cfg.service == "azureml" and cfg.api_version == API_VERSION
        assert cfg.auth.kind == "entra" and cfg.auth.scope == ARM_SCOPE
        assert cfg.azureml is not None and cfg.azureml.workspace == ws.name and cfg.azureml.compute == "gpu-cluster"
        monkeypatch.setattr("reconcile.client.auth._default_credential", lambda: _Credential())
        verify = ssl.create_default_context(cafile=str(srv.cert_file))
        with open_session(cfg, env={"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string},
                          client_options={"verify": verify}) as session:
            assert session.backend.capabilities.service == "azureml"
            live = session.backend.observe()
            assert live.datasets == {} and live.models == {}
        paths = [r.path for r in srv.request_log.snapshot()]
        assert any(p.endswith(f"/workspaces/{ws.name}/data") for p in paths), paths
    finally:
        srv.stop()
    assert not watch.violations


def test_vision_outputs_in_an_azureml_environment_name_the_file_and_keys(tmp_path: Path) -> None:
    cfg = _project(tmp_path, {"visionEndpoint": "https://x.cognitiveservices.azure.com"}, "https://management.azure.com",
                   "images")
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    text = str(err.value) + " ".join(getattr(err.value, "problems", []) or [])
    assert "infra/outputs/ml.json" in text and "subscriptionId" in text
