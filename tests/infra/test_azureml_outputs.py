"""Outputs of azureml stacks: exactly the contract a ``service: azureml`` environment reads.

The hand-off test (outputs file -> the reconciler's azureml config loader -> a call to the Azure ML
emulator) waits for issue 12, which adds both that loader and the emulator; until then these tests
pin the keys and values the program exports.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pulumi
import pytest

from infra.azureml_outputs import (
    AZUREML_OPTIONAL_OUTPUT_KEYS,
    AZUREML_OUTPUT_KEYS,
    AzureMLStackOutputs,
    azureml_stack_outputs,
    resolved_azureml_outputs,
)
from infra.config import PROJECT
from infra.outputs import OUTPUT_KEYS, write_outputs_json
from tests.infra.mocks import SUBSCRIPTION, azureml_dev_config, azureml_prod_config, deploy_azureml, run_main

#: The contract of docs/infra.md, spelled out here so that a rename in infra/azureml_outputs.py breaks this test.
EXPECTED_KEYS = [
    "subscriptionId",
    "resourceGroupName",
    "workspaceName",
    "location",
    "computeName",
    "datastoreName",
    "containerUrl",
]


def test_output_keys_are_the_contract():
    assert list(AZUREML_OUTPUT_KEYS) == EXPECTED_KEYS
    assert AZUREML_OPTIONAL_OUTPUT_KEYS == ("endpointName",)
    # A vision outputs file can never be mistaken for an azureml one (and the reverse).
    assert not set(OUTPUT_KEYS) >= set(EXPECTED_KEYS) and not set(EXPECTED_KEYS) >= set(OUTPUT_KEYS)


def _resolved(config, stack: str) -> tuple[AzureMLStackOutputs, dict[str, bool]]:
    captured: list = []

    @pulumi.runtime.test
    def session():
        d = deploy_azureml(config, stack=stack)
        values = azureml_stack_outputs(d.stack)
        secret = [pulumi.Output.from_input(v.is_secret()) for v in values.values()]
        return pulumi.Output.all(resolved_azureml_outputs(d.stack), d.settled(), *secret).apply(
            lambda args: captured.append((args[0], dict(zip(values, args[2:]))))
        )

    session()
    assert len(captured) == 1
    return captured[0]


def test_dev_outputs_exactly():
    outputs, secret = _resolved(azureml_dev_config(), "azureml-dev")
    assert outputs.to_json_dict() == {
        "subscriptionId": SUBSCRIPTION,
        "resourceGroupName": "rg-vision-gitops-aml-dev",
        "workspaceName": "mlw-vision-gitops-dev",
        "location": "eastus",
        "computeName": "gpu-cluster",
        "datastoreName": "vision_gitops",
        "containerUrl": "https://visiongitopsmldev.blob.core.windows.net/training",
    }
    assert list(secret) == EXPECTED_KEYS and not any(secret.values())


def test_prod_outputs_exactly_with_the_endpoint():
    outputs, secret = _resolved(azureml_prod_config(), "azureml-prod")
    assert outputs.to_json_dict() == {
        "subscriptionId": SUBSCRIPTION,
        "resourceGroupName": "rg-vision-gitops-aml-prod",
        "workspaceName": "mlw-vision-gitops-prod",
        "location": "westeurope",
        "computeName": "gpu-cluster",
        "datastoreName": "vision_gitops",
        "containerUrl": "https://visiongitopsmlprod.blob.core.windows.net/training",
        "endpointName": "vision-gitops-prod",
    }
    assert list(secret) == [*EXPECTED_KEYS, "endpointName"] and not any(secret.values())


def test_outputs_follow_the_resources_not_the_config():
    # Renamed resources rename the outputs: the values are read back from what was declared.
    config = dataclasses.replace(azureml_dev_config(), datastore_name="other_store", workspace_name="mlw-other")
    outputs, _ = _resolved(config, "renamed")
    assert outputs.workspace_name == "mlw-other" and outputs.datastore_name == "other_store"


def test_no_output_is_a_credential():
    outputs, _ = _resolved(azureml_prod_config(), "azureml-prod")
    for key, value in outputs.to_json_dict().items():
        lowered = (key + "=" + value).lower()
        for marker in ("key", "secret", "password", "connectionstring", "sig=", "sas", "token"):
            assert marker not in lowered, (key, value)


def test_outputs_file_round_trip(tmp_path: Path):
    outputs, _ = _resolved(azureml_prod_config(), "azureml-prod")
    path = write_outputs_json(outputs, tmp_path / "infra" / "outputs" / "azureml-prod.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert list(data) == sorted([*EXPECTED_KEYS, "endpointName"])
    assert AzureMLStackOutputs.from_json_dict(data) == outputs


def test_from_json_dict_rejects_missing_empty_and_extra_keys():
    data = {k: "x" for k in EXPECTED_KEYS}
    assert AzureMLStackOutputs.from_json_dict(data).endpoint_name is None
    with pytest.raises(ValueError, match=r"missing or empty keys \['computeName'\]"):
        AzureMLStackOutputs.from_json_dict({k: v for k, v in data.items() if k != "computeName"})
    with pytest.raises(ValueError, match=r"\['endpointName'\]"):
        AzureMLStackOutputs.from_json_dict({**data, "endpointName": ""})
    with pytest.raises(ValueError, match=r"unexpected keys \['visionEndpoint'\]"):
        AzureMLStackOutputs.from_json_dict({**data, "visionEndpoint": "https://x"})


def test_main_builds_and_exports_an_azureml_stack(monkeypatch: pytest.MonkeyPatch):
    mocks, resolved = run_main(
        monkeypatch,
        {
            f"{PROJECT}:service": "azureml",
            f"{PROJECT}:location": "North Europe",
            f"{PROJECT}:workspaceName": "mlw-main",
            f"{PROJECT}:storageAccountName": "mlmain",
            f"{PROJECT}:keyVaultName": "kv-ml-main",
            f"{PROJECT}:ciPrincipalId": "22222222-3333-4444-5555-666666666666",
            f"{PROJECT}:computeMaxNodes": "3",
        },
        stack="main-aml",
    )
    assert list(resolved) == EXPECTED_KEYS
    assert resolved["location"] == "northeurope" and resolved["workspaceName"] == "mlw-main"
    assert mocks.inputs("gpu-compute")["properties"]["properties"]["scaleSettings"]["maxNodeCount"] == 3
    assert "vision" not in mocks.resources


def test_main_turns_azureml_config_errors_into_a_clean_run_error(monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(pulumi.RunError) as info:
        run_main(
            monkeypatch,
            {f"{PROJECT}:service": "azureml", f"{PROJECT}:workspaceName": "mlw-main", f"{PROJECT}:computeVmSize": "Standard_D2s_v3"},
            stack="main-aml",
        )
    text = str(info.value)
    assert text.startswith("invalid infrastructure config in Pulumi config of stack 'main-aml'")
    for fragment in ("vision-gitops:location: is required", "vision-gitops:keyVaultName: is required", "vision-gitops:computeVmSize:"):
        assert fragment in text, fragment
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_main_refuses_an_unknown_service(monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(pulumi.RunError, match=r"vision-gitops:service: must be one of vision, azureml \(got 'sagemaker'\)"):
        run_main(monkeypatch, {f"{PROJECT}:service": "sagemaker"}, stack="main-aml")
