"""The stack outputs contract: the reconciler reads exactly the keys the Pulumi program exports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.azureml_outputs import AZUREML_OPTIONAL_OUTPUT_KEYS, AZUREML_OUTPUT_KEYS, AzureMLStackOutputs
from reconcile.backends.azureml.target import (
    API_VERSION,
    OPTIONAL_STACK_OUTPUT_KEYS,
    STACK_OUTPUT_KEYS,
    load_target,
)
from reconcile.errors import ConfigError

OUTPUTS = AzureMLStackOutputs(subscription_id="sub", resource_group_name="rg", workspace_name="ws",
                              location="westeurope", compute_name="gpu", datastore_name="images",
                              container_url="https://acct.blob.core.windows.net/images")


def test_keys_match_the_pulumi_outputs_contract() -> None:
    assert STACK_OUTPUT_KEYS == AZUREML_OUTPUT_KEYS
    assert OPTIONAL_STACK_OUTPUT_KEYS == AZUREML_OPTIONAL_OUTPUT_KEYS


def test_outputs_file_becomes_a_target(tmp_path: Path) -> None:
    f = tmp_path / "dev.json"
    f.write_text(json.dumps(OUTPUTS.to_json_dict()))
    t = load_target(f)
    assert t.workspace_id == ("/subscriptions/sub/resourceGroups/rg/providers/"
                              "Microsoft.MachineLearningServices/workspaces/ws")
    assert t.compute_id.endswith("/workspaces/ws/computes/gpu")
    assert t.datastore_uri("a/b") == "azureml://datastores/images/paths/a/b"
    assert API_VERSION == "2024-04-01"


@pytest.mark.parametrize("change, needle", [({"computeName": ""}, "computeName"), ({"visionEndpoint": "x"}, "visionEndpoint")])
def test_bad_outputs_name_the_file_and_key(tmp_path: Path, change: dict, needle: str) -> None:
    f = tmp_path / "bad.json"
    f.write_text(json.dumps({**OUTPUTS.to_json_dict(), **change}))
    with pytest.raises(ConfigError, match=rf"bad.json.*{needle}"):
        load_target(f)


def test_not_json_is_a_config_error(tmp_path: Path) -> None:
    f = tmp_path / "x.json"
    f.write_text("{nope")
    with pytest.raises(ConfigError, match="x.json"):
        load_target(f)
