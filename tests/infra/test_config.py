"""InfraConfig: the example stack files, every config error, regions, naming and role helpers."""

from __future__ import annotations

import uuid
from pathlib import Path

import pulumi
import pytest
import yaml

from infra import naming, regions, roles
from infra.config import KEYS, PROJECT, InfraConfig, NetworkConfig
from reconcile.errors import ConfigError
from tests.infra.mocks import DEV_FILE, PROD_FILE, ROOT

VALID = {
    "location": "westus2",
    "visionAccountName": "vision-gitops-test",
    "storageAccountName": "visiongitopstest",
    "ciPrincipalId": "11111111-2222-3333-4444-555555555555",
}


def _error(values: dict, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        InfraConfig.from_mapping(values, **kwargs)
    return info.value


def _only_problem(values: dict, **kwargs) -> str:
    problems = _error(values, **kwargs).problems
    assert len(problems) == 1, problems
    return problems[0]


# --- the example stacks ----------------------------------------------------------------


def test_pulumi_yaml_runs_infra_with_the_repo_venv():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == PROJECT
    assert project["main"] == "infra/"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert (ROOT / "infra" / "__main__.py").is_file()


def test_dev_example():
    config = InfraConfig.from_stack_file(DEV_FILE)
    assert config.location == "westus2"
    assert config.vision_account_name == config.vision_subdomain == "vision-gitops-dev"
    assert config.vision_endpoint == "https://vision-gitops-dev.cognitiveservices.azure.com/"
    assert config.disable_local_auth is False
    assert config.network == NetworkConfig("Enabled", "Allow", ())
    assert config.vision_storage_role == "Contributor"
    assert config.use_existing_resource_group is False


def test_prod_example():
    config = InfraConfig.from_stack_file(PROD_FILE)
    assert config.location == "westeurope"  # written as the display name "West Europe"
    assert config.disable_local_auth is True
    assert config.allow_shared_key_access is False
    assert config.network == NetworkConfig("Enabled", "Deny", ("203.0.113.0/24", "198.51.100.7"))
    assert config.blob_versioning is True and config.blob_soft_delete_days == 30
    assert config.vision_storage_role == "Reader"
    assert config.storage_sku == "Standard_ZRS"


def test_defaults_are_the_secure_ones():
    config = InfraConfig.from_mapping(VALID)
    assert config.disable_local_auth is True
    assert config.allow_shared_key_access is False
    assert config.vision_sku == "S1"
    assert config.vision_storage_role == "Reader"
    assert config.blob_versioning is True and config.blob_soft_delete_days == 7
    assert config.container_name == "training"
    assert config.resource_group_name == "rg-vision-gitops-test"
    assert config.vision_subdomain == "vision-gitops-test"


def test_string_values_as_the_pulumi_cli_passes_them():
    config = InfraConfig.from_mapping(
        {
            **VALID,
            "disableLocalAuth": "false",
            "blobSoftDeleteDays": "0",
            "networkDefaultAction": "deny",
            "allowedIpRanges": '["203.0.113.0/24", "198.51.100.7/32"]',
            "tags": '{"team": "ml"}',
            "visionSku": "f0",
        }
    )
    assert config.disable_local_auth is False
    assert config.blob_soft_delete_days == 0
    assert config.network == NetworkConfig("Enabled", "Deny", ("203.0.113.0/24", "198.51.100.7"))
    assert config.tags == {"team": "ml"}
    assert config.vision_sku == "F0"


def test_comma_separated_ip_ranges():
    config = InfraConfig.from_mapping({**VALID, "networkDefaultAction": "Deny", "allowedIpRanges": "203.0.113.9, 198.51.100.0/24"})
    assert config.network.ip_rules == ("203.0.113.9", "198.51.100.0/24")


def test_location_falls_back_to_azure_native_location():
    values = {k: v for k, v in VALID.items() if k != "location"}
    assert InfraConfig.from_mapping(values, fallback_location="East US").location == "eastus"


def test_existing_resource_group():
    config = InfraConfig.from_mapping({**VALID, "existingResourceGroupName": "rg-shared"})
    assert config.use_existing_resource_group is True
    assert config.resource_group_name == "rg-shared"


# --- every config error ------------------------------------------------------------------


@pytest.mark.parametrize("key", ["visionAccountName", "storageAccountName", "ciPrincipalId"])
def test_required_keys(key: str):
    values = {k: v for k, v in VALID.items() if k != key}
    problem = _only_problem(values)
    assert problem.startswith(f"vision-gitops:{key}: is required")
    assert f"pulumi config set {key}" in problem


def test_missing_location_names_both_keys():
    problem = _only_problem({k: v for k, v in VALID.items() if k != "location"})
    assert problem.startswith("vision-gitops:location: is required")
    assert "azure-native:location" in problem and "westus2" in problem


@pytest.mark.parametrize("location", ["northeurope", "Japan East", "southcentralus"])
def test_unsupported_region(location: str):
    problem = _only_problem({**VALID, "location": location})
    assert problem.startswith("vision-gitops:location:")
    assert "allowUnsupportedRegion" in problem and "westus2 (West US 2)" in problem


def test_unsupported_region_with_override():
    config = InfraConfig.from_mapping({**VALID, "location": "North Europe", "allowUnsupportedRegion": True})
    assert config.location == "northeurope"


def test_garbage_region():
    assert "is not a region name" in _only_problem({**VALID, "location": "west/us"})


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("storageAccountName", "Vision_Storage", "3-24 lowercase letters and digits"),
        ("storageAccountName", "ab", "3-24 lowercase letters and digits"),
        ("storageAccountName", "a" * 25, "3-24 lowercase letters and digits"),
        ("visionAccountName", "-vision", "2-64 letters, digits and hyphens"),
        ("visionAccountName", "v" * 65, "2-64 letters, digits and hyphens"),
        ("visionSubdomain", "Vision-Dev", "lowercase"),
        ("visionSubdomain", "vision-", "starting and ending with a letter or digit"),
        ("visionSubdomain", "v" * 64, "2-63"),
        ("containerName", "Training", "3-63 lowercase"),
        ("containerName", "a--b", "single hyphens"),
        ("resourceGroupName", "rg.", "not ending with '.'"),
        ("ciPrincipalId", "my-ci-app", "az ad sp show"),
        ("visionSku", "S0", "F0, S1"),
        ("storageSku", "Premium_LRS", "Standard_LRS"),
        ("publicNetworkAccess", "Open", "Enabled, Disabled"),
        ("networkDefaultAction", "Block", "Allow, Deny"),
        ("visionStorageRole", "Owner", "Reader, Contributor"),
        ("disableLocalAuth", "yes", "true or false"),
        ("blobVersioning", 1, "true or false"),
        ("blobSoftDeleteDays", 366, "0 to 365"),
        ("blobSoftDeleteDays", "seven", "0 to 365"),
        ("tags", "not json", "JSON object"),
        ("tags", {"a": 1}, "string values"),
        ("visionAccountName", ["x"], "must be a string"),
        ("allowedIpRanges", {"a": "b"}, "list of strings"),
        ("allowedIpRanges", "[1.2.3.4", "JSON list"),
    ],
)
def test_invalid_value_names_the_key(key: str, value: object, fragment: str):
    values = {**VALID, key: value}
    if key == "allowedIpRanges":
        values["networkDefaultAction"] = "Deny"
    problem = _only_problem(values)
    assert problem.startswith(f"vision-gitops:{key}:"), problem
    assert fragment in problem, problem


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ("10.1.0.0/16", "RFC 1918"),
        ("192.168.1.10", "RFC 1918"),
        ("203.0.113.1/24", "host bits zero"),
        ("2001:db8::/32", "only IPv4"),
        ("203.0.113.0/31", "/31"),
        ("example.com", "not an IPv4 address"),
    ],
)
def test_invalid_ip_rules(entry: str, fragment: str):
    problem = _only_problem({**VALID, "networkDefaultAction": "Deny", "allowedIpRanges": [entry]})
    assert problem.startswith("vision-gitops:allowedIpRanges:") and fragment in problem, problem


def test_ip_rules_without_deny_have_no_effect():
    problem = _only_problem({**VALID, "allowedIpRanges": ["203.0.113.0/24"]})
    assert "networkDefaultAction" in problem and "Deny" in problem


def test_both_resource_group_keys():
    problem = _only_problem({**VALID, "existingResourceGroupName": "rg-a", "resourceGroupName": "rg-b"})
    assert problem.startswith("vision-gitops:existingResourceGroupName:") and "not both" in problem


def test_default_subdomain_from_a_too_long_account_name():
    problem = _only_problem({**VALID, "visionAccountName": "v" * 64})
    assert problem.startswith("vision-gitops:visionSubdomain:") and "set visionSubdomain" in problem


def test_unknown_key_is_a_typo_not_a_default():
    problem = _only_problem({**VALID, "disableLocalAuht": True})
    assert problem.startswith("vision-gitops:disableLocalAuht: is not a known key")
    assert "disableLocalAuth" in problem


def test_secret_value_for_a_plain_key():
    problem = _only_problem({**VALID, "ciPrincipalId": {"secure": "v1:abc"}})
    assert "not secret" in problem


def test_every_problem_is_reported_at_once_with_source_and_hint():
    error = _error({"visionAccountName": "-x", "storageAccountName": "X", "ciPrincipalId": "no"}, source="Pulumi.qa.yaml")
    keys = [p.split(":")[1] for p in error.problems]
    assert keys == ["location", "visionAccountName", "storageAccountName", "ciPrincipalId"]
    text = str(error)
    assert text.startswith("invalid infrastructure config in Pulumi.qa.yaml")
    assert "hint:" in text and "docs/infra.md" in text
    assert "Traceback" not in text


def test_stack_file_errors(tmp_path: Path):
    missing = tmp_path / "Pulumi.none.yaml"
    with pytest.raises(ConfigError, match="cannot read stack config"):
        InfraConfig.from_stack_file(missing)
    bad_yaml = tmp_path / "Pulumi.bad.yaml"
    bad_yaml.write_text("config: [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        InfraConfig.from_stack_file(bad_yaml)
    bad_shape = tmp_path / "Pulumi.shape.yaml"
    bad_shape.write_text("config: 3\n")
    with pytest.raises(ConfigError, match="'config' must be a mapping"):
        InfraConfig.from_stack_file(bad_shape)
    wrong = tmp_path / "Pulumi.wrong.yaml"
    wrong.write_text(yaml.safe_dump({"config": {f"{PROJECT}:{k}": v for k, v in VALID.items()} | {f"{PROJECT}:visionSku": "S9"}}))
    error = _error_of(lambda: InfraConfig.from_stack_file(wrong))
    assert str(wrong) in error.message and error.problems == ["vision-gitops:visionSku: must be one of F0, S1 (got 'S9')"]


def _error_of(fn) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        fn()
    return info.value


def test_every_key_is_documented():
    doc = (ROOT / "docs" / "infra.md").read_text()
    for key in KEYS:
        assert f"`{key}`" in doc, key


# --- reading the Pulumi runtime config ------------------------------------------------------


@pulumi.runtime.test
def test_from_pulumi_config_reads_the_stack_config():
    from pulumi.runtime import config as runtime_config

    from tests.infra.mocks import AzureMocks

    pulumi.runtime.set_mocks(AzureMocks(), project=PROJECT, stack="qa", preview=False)
    runtime_config.set_all_config(
        {
            f"{PROJECT}:visionAccountName": "vision-qa",
            f"{PROJECT}:storageAccountName": "visionqa",
            f"{PROJECT}:ciPrincipalId": "AAAAAAAA-2222-3333-4444-555555555555",
            f"{PROJECT}:blobVersioning": "false",
            f"{PROJECT}:allowedIpRanges": '["203.0.113.0/24"]',
            f"{PROJECT}:networkDefaultAction": "Deny",
            "azure-native:location": "West US 2",
            "other-project:ignored": "x",
        }
    )
    try:
        config = InfraConfig.from_pulumi_config()
        assert config.location == "westus2"
        assert config.ci_principal_id == "aaaaaaaa-2222-3333-4444-555555555555"
        assert config.blob_versioning is False
        assert config.network.ip_rules == ("203.0.113.0/24",)
        runtime_config.set_all_config({f"{PROJECT}:visionAccountName": "vision-qa", f"{PROJECT}:visionSkew": "S1"})
        error = _error_of(InfraConfig.from_pulumi_config)
        assert error.message == "invalid infrastructure config in Pulumi config of stack 'qa'"
        assert any(p.startswith("vision-gitops:visionSkew: is not a known key") for p in error.problems)
    finally:
        runtime_config.set_all_config({})


# --- regions, names, roles ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("West US 2", "westus2"), ("westus2", "westus2"), (" East US ", "eastus"), ("WEST-EUROPE", "westeurope")],
)
def test_region_forms(value: str, expected: str):
    assert regions.normalize_region(value) == expected
    assert regions.supports_customization(value)


def test_names_accepted():
    assert naming.storage_account_problem("abc") is None
    assert naming.storage_account_problem("a" * 24) is None
    assert naming.vision_account_problem("Vision-01") is None
    assert naming.subdomain_problem("v1") is None
    assert naming.container_problem("training-data") is None
    assert naming.resource_group_problem("rg_vision(dev).1") is None
    assert naming.guid_problem(str(uuid.uuid4())) is None


def test_role_definition_id_and_assignment_name():
    assert roles.role_definition_id("sub", roles.COGNITIVE_SERVICES_USER) == (
        "/subscriptions/sub/providers/Microsoft.Authorization/roleDefinitions/a97b65f3-24c7-4388-baec-2e87135dc908"
    )
    with pytest.raises(ValueError, match="subscription id is empty"):
        roles.role_definition_id("", roles.COGNITIVE_SERVICES_USER)
    name = roles.role_assignment_name("/subscriptions/S/x", roles.STORAGE_BLOB_DATA_READER, "P")
    assert uuid.UUID(name).version == 5
    assert name == roles.role_assignment_name("/SUBSCRIPTIONS/s/X", roles.STORAGE_BLOB_DATA_READER, "p")
    assert name != roles.role_assignment_name("/subscriptions/S/x", roles.STORAGE_BLOB_DATA_CONTRIBUTOR, "P")
    assert name != roles.role_assignment_name("/subscriptions/S/y", roles.STORAGE_BLOB_DATA_READER, "P")
    with pytest.raises(ValueError, match="principal id is empty"):
        roles.role_assignment_name("/subscriptions/S/x", roles.STORAGE_BLOB_DATA_READER, "")
