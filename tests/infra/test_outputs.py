"""Stack outputs: exact keys and values, nothing secret, the `pulumi stack output --json` file, the entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest

from infra.config import PROJECT
from infra.outputs import (
    OUTPUT_KEYS,
    StackOutputs,
    render_outputs_json,
    resolved_outputs,
    stack_outputs,
    write_outputs_json,
)
from tests.infra.mocks import deploy, dev_config, principal_for, prod_config, run_main

#: What the reconciler's project config reads (reconcile.specs.config, ``stackOutputs:``); spelled
#: out here rather than imported, so a rename in infra/outputs.py breaks this test.
EXPECTED_KEYS = [
    "visionEndpoint",
    "visionAccountName",
    "visionSubdomain",
    "visionPrincipalId",
    "resourceGroupName",
    "location",
    "storageAccountName",
    "blobEndpoint",
    "containerName",
    "containerUrl",
    "ciPrincipalId",
]


def test_output_keys_are_the_contract():
    assert list(OUTPUT_KEYS) == EXPECTED_KEYS


@pulumi.runtime.test
def test_dev_outputs():
    config = dev_config()
    d = deploy(config, stack="dev")

    def check(outputs: StackOutputs) -> None:
        assert outputs.to_json_dict() == {
            "visionEndpoint": "https://vision-gitops-dev.cognitiveservices.azure.com/",
            "visionAccountName": "vision-gitops-dev",
            "visionSubdomain": "vision-gitops-dev",
            "visionPrincipalId": principal_for("vision-gitops-dev"),
            "resourceGroupName": "rg-vision-gitops-dev",
            "location": "westus2",
            "storageAccountName": "visiongitopsdev",
            "blobEndpoint": "https://visiongitopsdev.blob.core.windows.net/",
            "containerName": "training",
            "containerUrl": "https://visiongitopsdev.blob.core.windows.net/training",
            "ciPrincipalId": config.ci_principal_id,
        }

    return resolved_outputs(d.stack).apply(check)


@pulumi.runtime.test
def test_prod_outputs_follow_the_resources():
    d = deploy(prod_config(), stack="prod")

    def check(args: list) -> None:
        outputs, mocks = args[0], d.mocks
        assert outputs.vision_account_name == mocks.resources["vision"].name == "vision-gitops-prod"
        assert outputs.storage_account_name == mocks.resources["storage"].name
        assert outputs.container_name == mocks.resources["container"].name
        assert outputs.vision_principal_id == mocks.inputs("vision-blob-access")["principalId"]
        assert outputs.ci_principal_id == mocks.inputs("ci-blob-access")["principalId"]
        assert outputs.location == "westeurope"

    return pulumi.Output.all(resolved_outputs(d.stack), d.settled()).apply(check)


@pulumi.runtime.test
def test_no_output_is_secret_or_a_credential():
    d = deploy(prod_config(), stack="prod")
    values = stack_outputs(d.stack)
    secret_flags = [pulumi.Output.from_input(v.is_secret()) for v in values.values()]

    def check(args: list) -> None:
        outputs: StackOutputs = args[0]
        assert not any(args[1:]), "an output is marked secret: outputs must not carry secrets"
        for key, value in outputs.to_json_dict().items():
            lowered = (key + "=" + value).lower()
            for marker in ("key", "secret", "password", "connectionstring", "sig=", "sas", "token"):
                assert marker not in lowered, (key, value)

    return pulumi.Output.all(resolved_outputs(d.stack), *secret_flags).apply(check)


def _sample() -> StackOutputs:
    return StackOutputs(
        vision_endpoint="https://vision-gitops-dev.cognitiveservices.azure.com/",
        vision_account_name="vision-gitops-dev",
        vision_subdomain="vision-gitops-dev",
        vision_principal_id="0f0f0f0f-1111-4222-8333-444444444444",
        resource_group_name="rg-vision-gitops-dev",
        location="westus2",
        storage_account_name="visiongitopsdev",
        blob_endpoint="https://visiongitopsdev.blob.core.windows.net/",
        container_name="training",
        container_url="https://visiongitopsdev.blob.core.windows.net/training",
        ci_principal_id="11111111-2222-3333-4444-555555555555",
    )


def test_render_matches_pulumi_stack_output_json():
    text = render_outputs_json(_sample())
    # `pulumi stack output --json` prints a 2-space indented object with sorted keys and a final newline.
    assert text.endswith("}\n")
    assert text.splitlines()[1] == '  "blobEndpoint": "https://visiongitopsdev.blob.core.windows.net/",'
    assert list(json.loads(text)) == sorted(EXPECTED_KEYS)


def test_from_json_dict_rejects_missing_empty_and_extra_keys():
    data = _sample().to_json_dict()
    assert StackOutputs.from_json_dict(data) == _sample()
    with pytest.raises(ValueError, match="missing or empty keys \\['ciPrincipalId'\\]"):
        StackOutputs.from_json_dict({k: v for k, v in data.items() if k != "ciPrincipalId"})
    with pytest.raises(ValueError, match="\\['containerUrl'\\]"):
        StackOutputs.from_json_dict({**data, "containerUrl": ""})
    with pytest.raises(ValueError, match="unexpected keys \\['storageKey'\\]"):
        StackOutputs.from_json_dict({**data, "storageKey": "x"})


def _mocked_dev_outputs() -> StackOutputs:
    captured: list[StackOutputs] = []

    @pulumi.runtime.test
    def session():
        d = deploy(dev_config(), stack="dev")
        return resolved_outputs(d.stack).apply(captured.append)

    session()
    assert len(captured) == 1
    return captured[0]


def test_handoff_file_from_the_mocked_stack(tmp_path: Path):
    """The dev stack's outputs, written where docs/infra.md tells the deploy job to write them."""
    outputs = _mocked_dev_outputs()
    path = write_outputs_json(outputs, tmp_path / "infra" / "outputs" / "dev.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert sorted(data) == sorted(EXPECTED_KEYS)
    assert all(isinstance(v, str) and v for v in data.values())
    assert data["visionEndpoint"] == f"https://{data['visionSubdomain']}.cognitiveservices.azure.com/"
    assert data["containerUrl"] == data["blobEndpoint"] + data["containerName"]
    assert StackOutputs.from_json_dict(data) == outputs


class _StaticCredential:
    """A TokenCredential stand-in: the emulator checks the bearer token, not Entra ID."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[str] = []

    def get_token(self, scope: str) -> tuple[str, float]:
        self.scopes.append(scope)
        return self.token, 4102444800.0  # 2100-01-01


def test_reconciler_config_reads_the_stack_outputs_and_reaches_the_emulator(tmp_path: Path):
    """Hand-off: the mocked stack's outputs file -> reconcile.specs.config -> an Entra-style call to the emulator."""
    from reconcile.client.auth import BearerAuth
    from reconcile.client.http import VisionClient
    from reconcile.emulator.server import start_emulator
    from reconcile.specs.config import STACK_OUTPUT_KEYS, load_config

    assert list(STACK_OUTPUT_KEYS) == EXPECTED_KEYS
    outputs = _mocked_dev_outputs()
    write_outputs_json(outputs, tmp_path / "infra" / "outputs" / "dev.json")
    config_file = tmp_path / "vision-gitops.yaml"
    config_file.write_text(
        "environments:\n"
        "  dev:\n"
        "    stackOutputs: infra/outputs/dev.json\n"
        "    auth: {kind: entra}\n",
        encoding="utf-8",
    )
    config = load_config(config_file, environment="dev", env={})
    assert config.endpoint == "https://vision-gitops-dev.cognitiveservices.azure.com"
    assert config.auth.kind == "entra" and config.auth.scope == "https://cognitiveservices.azure.com/.default"
    assert config.storage.kind == "azure"
    assert config.storage.account_url == "https://visiongitopsdev.blob.core.windows.net"
    assert config.storage.container == "training"
    assert config.stack_outputs is not None
    assert config.stack_outputs.model_dump(by_alias=True) == outputs.to_json_dict()

    # Azure's endpoint is not reachable here: send the same Entra-style (bearer) calls to the emulator.
    credential = _StaticCredential("entra-token-for-tests")
    with start_emulator(key=None, token=credential.token) as emulator:
        client = VisionClient(
            endpoint=emulator.endpoint,
            api_version=config.api_version,
            auth=BearerAuth(credential, scope=config.auth.scope),
            rate_limit_tps=config.rate_limit_tps,
            max_retries=0,
            timeout=config.timeout_seconds,
        )
        with client:
            assert list(client.list("datasets")) == []
    assert credential.scopes == [config.auth.scope]


# --- the real entry point (infra/__main__.py), run as the Pulumi CLI runs it ---------------------------


def test_main_reads_config_builds_and_exports(monkeypatch: pytest.MonkeyPatch):
    mocks, exported = run_main(
        monkeypatch,
        {
            f"{PROJECT}:location": "East US",
            f"{PROJECT}:visionAccountName": "vision-main",
            f"{PROJECT}:storageAccountName": "visionmain",
            f"{PROJECT}:ciPrincipalId": "22222222-3333-4444-5555-666666666666",
        },
    )
    assert list(exported) == EXPECTED_KEYS
    assert exported["visionEndpoint"] == "https://vision-main.cognitiveservices.azure.com/"
    assert exported["location"] == "eastus"
    assert mocks.inputs("vision")["properties"]["disableLocalAuth"] is True
    assert mocks.inputs("ci-vision-access")["principalId"] == "22222222-3333-4444-5555-666666666666"


def test_main_turns_config_errors_into_a_clean_run_error(monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(pulumi.RunError) as info:
        run_main(monkeypatch, {f"{PROJECT}:visionAccountName": "vision-main", f"{PROJECT}:storageAccountName": "Bad"})
    text = str(info.value)
    assert text.startswith("invalid infrastructure config in Pulumi config of stack 'main'")
    assert "vision-gitops:storageAccountName:" in text
    assert "vision-gitops:ciPrincipalId: is required" in text
    assert "vision-gitops:location: is required" in text
    assert info.value.__cause__ is None and info.value.__suppress_context__
