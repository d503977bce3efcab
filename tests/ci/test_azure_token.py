"""The CI token pre-flight asks for the scope of the environment's service, and fails clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.backends.azureml.target import ARM_SCOPE
from reconcile.ci.azure_token import check_token, main
from reconcile.client.auth import DEFAULT_SCOPE
from reconcile.errors import AuthError
from reconcile.specs.config import load_config

CONFIG = """\
defaultEnvironment: vision
specs: [specs]
environments:
  vision:
    endpoint: https://vision.example.com
    auth: {kind: entra}
    storage: {kind: azurite, container: training}
  ml:
    service: azureml
    stackOutputs: ml.json
    auth: {kind: entra}
  keyed:
    endpoint: https://vision.example.com
    auth: {kind: key, keyEnv: VISION_KEY}
    storage: {kind: azurite, container: training}
"""
OUTPUTS = {"subscriptionId": "00000000-0000-0000-0000-000000000000", "resourceGroupName": "rg",
           "workspaceName": "ws", "location": "westeurope", "computeName": "gpu", "datastoreName": "ds",
           "containerUrl": "https://acct.blob.core.windows.net/training"}


class Recorder:
    """A TokenCredential that records the scopes it is asked for."""

    def __init__(self, fail: bool = False) -> None:
        self.scopes: list[str] = []
        self.fail = fail

    def get_token(self, scope: str) -> tuple[str, float]:
        self.scopes.append(scope)
        if self.fail:
            raise RuntimeError("AADSTS70021: No matching federated identity record found")
        return "tok-secret-value", 4_102_444_800.0


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "ml.json").write_text(json.dumps(OUTPUTS))
    cfg = tmp_path / "vision-gitops.yaml"
    cfg.write_text(CONFIG)
    return cfg


def test_azureml_environments_get_a_management_token(project: Path) -> None:
    cred = Recorder()
    result = check_token(load_config(project, environment="ml", env={}), credential=cred)
    assert cred.scopes == [ARM_SCOPE] == ["https://management.azure.com/.default"]
    assert result.scope == ARM_SCOPE and result.service == "azureml"
    assert "tok-secret-value" not in result.describe()


def test_vision_environments_get_a_cognitive_services_token(project: Path) -> None:
    cred = Recorder()
    check_token(load_config(project, environment="vision", env={}), credential=cred)
    assert cred.scopes == [DEFAULT_SCOPE]


def test_key_environments_need_no_token(project: Path) -> None:
    cred = Recorder()
    result = check_token(load_config(project, environment="keyed", env={"VISION_KEY": "k"}), credential=cred)
    assert cred.scopes == [] and result.scope is None


def test_a_refused_federated_credential_names_the_scope(project: Path) -> None:
    with pytest.raises(AuthError, match="management.azure.com"):
        check_token(load_config(project, environment="ml", env={}), credential=Recorder(fail=True))


def test_the_command_line_exits_1_with_a_message_on_bad_config(project: Path) -> None:
    run = CliRunner().invoke(main, ["--env", "nope", "--config", str(project)])
    assert run.exit_code == 1 and "error:" in run.output and "Traceback" not in run.output
