"""AzureMLConfig and the service dispatch: the example azureml stacks, every azureml config error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.azureml_config import AZUREML_KEYS, AzureMLConfig, ComputeConfig, KeyVaultConfig
from infra.config import KEYS, PROJECT, InfraConfig
from infra.stack_config import load_stack_file
from reconcile.errors import ConfigError
from tests.infra.mocks import AZUREML_DEV_FILE, AZUREML_PROD_FILE, DEV_FILE, PROD_FILE, ROOT

VALID = {
    "service": "azureml",
    "location": "westeurope",
    "workspaceName": "mlw-test",
    "storageAccountName": "mltest",
    "keyVaultName": "kv-ml-test",
    "ciPrincipalId": "11111111-2222-3333-4444-555555555555",
}


def _problems(values: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        AzureMLConfig.from_mapping(values)
    return info.value.problems


def _only_problem(values: dict) -> str:
    problems = _problems(values)
    assert len(problems) == 1, problems
    return problems[0]


# --- dispatch on the service key ---------------------------------------------------------------


def test_every_example_stack_loads_as_its_service():
    stacks = {p.name: load_stack_file(p) for p in sorted(ROOT.glob("Pulumi.*.yaml"))}
    assert {name: type(config).__name__ for name, config in stacks.items()} == {
        "Pulumi.azureml-dev.yaml": "AzureMLConfig",
        "Pulumi.azureml-prod.yaml": "AzureMLConfig",
        "Pulumi.dev.yaml": "InfraConfig",
        "Pulumi.prod.yaml": "InfraConfig",
    }
    # The vision examples load the same through the old entry point.
    assert load_stack_file(DEV_FILE) == InfraConfig.from_stack_file(DEV_FILE)
    assert load_stack_file(PROD_FILE) == InfraConfig.from_stack_file(PROD_FILE)


def test_service_defaults_to_vision(tmp_path: Path):
    document = yaml.safe_load(DEV_FILE.read_text())
    del document["config"][f"{PROJECT}:service"]
    path = tmp_path / "Pulumi.legacy.yaml"
    path.write_text(yaml.safe_dump(document))
    assert load_stack_file(path) == InfraConfig.from_stack_file(DEV_FILE)


def test_unknown_service_names_the_key(tmp_path: Path):
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text(yaml.safe_dump({"config": {f"{PROJECT}:service": "sagemaker"}}))
    with pytest.raises(ConfigError) as info:
        load_stack_file(path)
    assert info.value.problems == ["vision-gitops:service: must be one of vision, azureml (got 'sagemaker')"]
    assert str(path) in info.value.message


def test_keys_of_the_other_service_are_named_as_such():
    problem = _only_problem({**VALID, "visionSku": "S1"})
    assert problem.startswith("vision-gitops:visionSku: configures vision stacks, not azureml stacks")
    with pytest.raises(ConfigError) as info:
        InfraConfig.from_mapping(
            {"location": "westus2", "visionAccountName": "v-x", "storageAccountName": "vx1", "ciPrincipalId": VALID["ciPrincipalId"], "computeMaxNodes": 2}
        )
    assert info.value.problems == ["vision-gitops:computeMaxNodes: configures azureml stacks, not vision stacks; remove it, or check the service key"]


def test_config_type_and_service_key_must_agree():
    assert "this is the azureml config" in _only_problem({**VALID, "service": "vision"})


# --- the example stacks ------------------------------------------------------------------------


def test_azureml_dev_example():
    config = load_stack_file(AZUREML_DEV_FILE)
    assert isinstance(config, AzureMLConfig)
    assert config.location == "eastus"
    assert config.public_network_access == "Enabled" and config.managed_network == "Disabled"
    assert config.key_vault == KeyVaultConfig("kv-vision-gitops-dev", purge_protection=False, soft_delete_days=7)
    assert config.compute == ComputeConfig("gpu-cluster", "Standard_NC4as_T4_v3", "LowPriority", 0, 1, 120)
    assert config.endpoint_name is None
    assert config.log_analytics_workspace_name == "log-mlw-vision-gitops-dev"
    assert config.application_insights_name == "appi-mlw-vision-gitops-dev"


def test_azureml_prod_example():
    config = load_stack_file(AZUREML_PROD_FILE)
    assert isinstance(config, AzureMLConfig)
    assert config.location == "westeurope"
    assert config.public_network_access == "Disabled"
    assert config.managed_network == "AllowInternetOutbound"
    assert config.key_vault == KeyVaultConfig("kv-vision-gitops-prod", purge_protection=True, soft_delete_days=90)
    assert config.compute.min_nodes == 0 and config.compute.max_nodes == 4
    assert config.compute.idle_time_before_scale_down == "PT300S"
    assert config.endpoint_name == "vision-gitops-prod"
    assert config.storage_sku == "Standard_ZRS" and config.blob_versioning is True


def test_defaults_are_the_secure_and_cheap_ones():
    config = AzureMLConfig.from_mapping(VALID)
    assert config.compute == ComputeConfig()
    assert config.compute.min_nodes == 0 and config.compute.max_nodes == 1
    assert config.key_vault.purge_protection is True and config.key_vault.soft_delete_days == 90
    assert config.allow_shared_key_access is False
    assert config.public_network_access == "Enabled"
    assert config.endpoint_name is None
    assert config.resource_group_name == "rg-mlw-test"
    assert config.datastore_name == "vision_gitops"


def test_string_values_as_the_pulumi_cli_passes_them():
    config = AzureMLConfig.from_mapping(
        {**VALID, "computeMaxNodes": "8", "computeMinNodes": "1", "keyVaultPurgeProtection": "false", "computePriority": "lowpriority"}
    )
    assert config.compute.max_nodes == 8 and config.compute.min_nodes == 1
    assert config.key_vault.purge_protection is False
    assert config.compute.priority == "LowPriority"


def test_derived_names_avoid_underscores():
    config = AzureMLConfig.from_mapping({**VALID, "workspaceName": "MLW_Team_A"})
    assert config.log_analytics_workspace_name == "log-mlw-team-a"
    assert config.application_insights_name == "appi-mlw-team-a"


# --- every azureml config error -----------------------------------------------------------------


@pytest.mark.parametrize("key", ["workspaceName", "storageAccountName", "keyVaultName", "ciPrincipalId", "location"])
def test_required_keys(key: str):
    problem = _only_problem({k: v for k, v in VALID.items() if k != key})
    assert problem.startswith(f"vision-gitops:{key}: is required"), problem


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("workspaceName", "ml", "3-33 letters"),
        ("workspaceName", "-mlw", "3-33 letters"),
        ("keyVaultName", "1kv", "starting with a letter"),
        ("keyVaultName", "kv--x", "single hyphens"),
        ("keyVaultName", "k" * 25, "3-24"),
        ("logAnalyticsWorkspaceName", "log", "4-63"),
        ("applicationInsightsName", "appi.", "not ending with '.'"),
        ("computeName", "gpu_cluster", "2-16 letters"),
        ("computeName", "9gpu", "starting with a letter"),
        ("datastoreName", "vision-gitops", "no hyphens"),
        ("endpointName", "ep", "3-32"),
        ("endpointName", "score-", "ending with a letter or digit"),
        ("endpointName", "score--x", "single hyphens"),
        ("computeVmSize", "Standard_D4s_v3", "not an NC or ND GPU size"),
        ("computeVmSize", "Standard_NV6", "not an NC or ND GPU size"),
        ("computePriority", "Spot", "Dedicated, LowPriority"),
        ("computeMaxNodes", 0, "1 to 100"),
        ("computeMaxNodes", 101, "1 to 100"),
        ("computeMinNodes", -1, "0 to 100"),
        ("computeIdleSecondsBeforeScaleDown", 30, "60 to 86400"),
        ("keyVaultSoftDeleteDays", 6, "7 to 90"),
        ("keyVaultPurgeProtection", "maybe", "true or false"),
        ("logRetentionDays", 7, "30 to 730"),
        ("managedNetwork", "On", "Disabled, AllowInternetOutbound, AllowOnlyApprovedOutbound"),
        ("publicNetworkAccess", "Private", "Enabled, Disabled"),
        ("location", "west/europe", "not a region name"),
        ("tags", {"a": 2}, "string values"),
    ],
)
def test_invalid_value_names_the_key(key: str, value: object, fragment: str):
    problem = _only_problem({**VALID, key: value})
    assert problem.startswith(f"vision-gitops:{key}:"), problem
    assert fragment in problem, problem


@pytest.mark.parametrize("size", ["Standard_NC4as_T4_v3", "Standard_NC6s_v3", "standard_nc24ads_a100_v4", "Standard_ND96asr_v4"])
def test_gpu_sizes_accepted(size: str):
    assert AzureMLConfig.from_mapping({**VALID, "computeVmSize": size}).compute.vm_size == size


def test_min_nodes_above_max():
    problem = _only_problem({**VALID, "computeMinNodes": 3, "computeMaxNodes": 2})
    assert problem.startswith("vision-gitops:computeMinNodes:") and "computeMaxNodes" in problem


def test_private_workspace_needs_a_managed_network():
    problem = _only_problem({**VALID, "publicNetworkAccess": "Disabled"})
    assert problem.startswith("vision-gitops:managedNetwork:") and "publicNetworkAccess is Disabled" in problem
    ok = AzureMLConfig.from_mapping({**VALID, "publicNetworkAccess": "Disabled", "managedNetwork": "AllowOnlyApprovedOutbound"})
    assert ok.managed_network == "AllowOnlyApprovedOutbound"


def test_unknown_key_is_a_typo_not_a_default():
    problem = _only_problem({**VALID, "computeMaxNode": 2})
    assert problem.startswith("vision-gitops:computeMaxNode: is not a known key of azureml stacks")
    assert "computeMaxNodes" in problem


def test_every_problem_at_once():
    problems = _problems({"service": "azureml", "workspaceName": "x", "computeVmSize": "Standard_D2_v3", "keyVaultName": "kv"})
    keys = [p.split(":")[1] for p in problems]
    assert keys == ["location", "workspaceName", "storageAccountName", "keyVaultName", "ciPrincipalId", "computeVmSize"]


def test_every_azureml_key_is_documented():
    doc = (ROOT / "docs" / "infra.md").read_text()
    section = doc[doc.index("## Config keys of azureml stacks") :]
    for key in AZUREML_KEYS:
        assert f"`{key}`" in section, key
    # Shared keys keep one meaning: the same name is never a different setting per service.
    assert set(AZUREML_KEYS) & set(KEYS) >= {"location", "storageAccountName", "ciPrincipalId", "tags", "service"}
