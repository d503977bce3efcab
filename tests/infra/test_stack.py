"""The declared resources under mocks: security settings, role wiring, dev vs prod differences.

Every test builds its stack inside ``@pulumi.runtime.test`` and returns an Output, so a failing
assertion inside ``apply`` fails the test (pulumi-azure.md, section 3, gotcha 4).
"""

from __future__ import annotations

import dataclasses

import pulumi
import pytest

from infra import roles
from infra.config import InfraConfig
from tests.infra.mocks import (
    checked,
    role_definition_id,
    TENANT,
    Deployed,
    deploy,
    dev_config,
    principal_for,
    prod_config,
    run_deploy,
)

STACKS = {"dev": dev_config, "prod": prod_config}


@pytest.mark.parametrize("stack", STACKS)
@pulumi.runtime.test
def test_storage_account_secure_settings(stack: str):
    config = STACKS[stack]()

    def check(d: Deployed) -> None:
        sa = d.mocks.inputs("storage")
        assert sa["accountName"] == config.storage_account_name
        assert sa["kind"] == "StorageV2"
        assert sa["minimumTlsVersion"] == "TLS1_2"
        assert sa["enableHttpsTrafficOnly"] is True
        assert sa["allowBlobPublicAccess"] is False
        assert sa["allowSharedKeyAccess"] is False
        assert sa["defaultToOAuthAuthentication"] is True
        assert sa["allowCrossTenantReplication"] is False
        assert sa["location"] == config.location
        assert sa["resourceGroupName"] == config.resource_group_name

    return checked(deploy(config, stack=stack), check)


@pytest.mark.parametrize("stack", STACKS)
@pulumi.runtime.test
def test_container_is_private_and_in_the_storage_account(stack: str):
    config = STACKS[stack]()

    def check(d: Deployed) -> None:
        container = d.mocks.inputs("container")
        assert container["publicAccess"] == "None"
        assert container["containerName"] == config.container_name == "training"
        assert container["accountName"] == d.mocks.resources["storage"].name == config.storage_account_name
        blob_service = d.mocks.inputs("blob-service")
        assert blob_service["blobServicesName"] == "default"
        assert blob_service["accountName"] == config.storage_account_name

    return checked(deploy(config, stack=stack), check)


@pytest.mark.parametrize("stack", STACKS)
@pulumi.runtime.test
def test_vision_account_shape(stack: str):
    config = STACKS[stack]()

    def check(d: Deployed) -> None:
        vision = d.mocks.inputs("vision")
        assert vision["kind"] == "ComputerVision"
        assert vision["sku"] == {"name": "S1"}
        assert vision["accountName"] == config.vision_account_name
        assert vision["identity"] == {"type": "SystemAssigned"}
        props = vision["properties"]
        assert props["customSubDomainName"] == config.vision_subdomain
        assert props["disableLocalAuth"] is config.disable_local_auth
        assert props["publicNetworkAccess"] == "Enabled"
        assert props["networkAcls"]["bypass"] == "AzureServices"
        assert vision["location"] == config.location

    return checked(deploy(config, stack=stack), check)


@pytest.mark.parametrize("stack", STACKS)
@pulumi.runtime.test
def test_role_wiring(stack: str):
    config = STACKS[stack]()
    vision_role = roles.STORAGE_BLOB_DATA_CONTRIBUTOR if stack == "dev" else roles.STORAGE_BLOB_DATA_READER

    def check(d: Deployed) -> None:
        container_id = d.mocks.resources["container"].id
        vision_id = d.mocks.resources["vision"].id
        assert container_id.endswith(f"/storageAccounts/{config.storage_account_name}/blobServices/default/containers/training")
        assert vision_id.endswith(f"/Microsoft.CognitiveServices/accounts/{config.vision_account_name}")
        vision_principal = principal_for(config.vision_account_name)
        expected = {
            "vision-blob-access": (container_id, vision_role, vision_principal),
            "ci-vision-access": (vision_id, roles.COGNITIVE_SERVICES_USER, config.ci_principal_id),
            "ci-blob-access": (container_id, roles.STORAGE_BLOB_DATA_CONTRIBUTOR, config.ci_principal_id),
        }
        names = set()
        for logical, (scope, role, principal) in expected.items():
            ra = d.mocks.inputs(logical)
            assert ra["scope"] == scope, logical
            assert ra["principalId"] == principal, logical
            assert ra["roleDefinitionId"] == role_definition_id(role), logical
            assert ra["principalType"] == "ServicePrincipal", logical
            assert ra["roleAssignmentName"] == roles.role_assignment_name(scope, role, principal), logical
            names.add(ra["roleAssignmentName"])
        assert len(names) == 3
        assert vision_principal != config.ci_principal_id
        assert ("azure-native:authorization:getClientConfig", {}) in d.mocks.calls

    return checked(deploy(config, stack=stack), check)


@pulumi.runtime.test
def test_vision_principal_output_is_the_identity_of_the_account():
    d = deploy(prod_config())
    return pulumi.Output.all(d.stack.vision_principal_id, d.stack.vision_blob_access.principal_id).apply(
        lambda ids: _same_principal(ids, principal_for("vision-gitops-prod"))
    )


def _same_principal(ids: list[str], expected: str) -> None:
    assert ids == [expected, expected]


def test_dev_and_prod_differ_as_documented():
    dev, prod = dev_config(), prod_config()
    # The examples differ in exactly these settings; anything else is shared on purpose.
    changed = {f.name for f in dataclasses.fields(InfraConfig) if getattr(dev, f.name) != getattr(prod, f.name)}
    assert changed == {
        "location", "vision_account_name", "vision_subdomain", "storage_account_name", "ci_principal_id",
        "resource_group_name", "disable_local_auth", "network", "storage_sku", "blob_versioning",
        "blob_soft_delete_days", "vision_storage_role", "tags",
    }
    dev_mocks = run_deploy(dev, stack="dev")
    prod_mocks = run_deploy(prod, stack="prod")
    d = {k: r.inputs for k, r in dev_mocks.resources.items()}
    p = {k: r.inputs for k, r in prod_mocks.resources.items()}
    assert set(d) == set(p) == {
        "resource-group", "vision", "storage", "blob-service", "container",
        "vision-blob-access", "ci-vision-access", "ci-blob-access",
    }
    assert d["vision"]["location"] == "westus2" and p["vision"]["location"] == "westeurope"
    assert d["vision"]["properties"]["disableLocalAuth"] is False
    assert p["vision"]["properties"]["disableLocalAuth"] is True
    assert d["vision"]["properties"]["networkAcls"] == {"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": []}
    assert p["vision"]["properties"]["networkAcls"]["defaultAction"] == "Deny"
    assert p["vision"]["properties"]["networkAcls"]["ipRules"] == [{"value": "203.0.113.0/24"}, {"value": "198.51.100.7"}]
    assert d["storage"]["networkRuleSet"]["defaultAction"] == "Allow"
    assert "resourceAccessRules" not in d["storage"]["networkRuleSet"]
    assert p["storage"]["networkRuleSet"]["defaultAction"] == "Deny"
    assert p["storage"]["networkRuleSet"]["ipRules"] == [
        {"iPAddressOrRange": "203.0.113.0/24", "action": "Allow"},
        {"iPAddressOrRange": "198.51.100.7", "action": "Allow"},
    ]
    # Locked-down storage still lets the Vision account's own identity in.
    assert p["storage"]["networkRuleSet"]["resourceAccessRules"] == [
        {"resourceId": prod_mocks.resources["vision"].id, "tenantId": TENANT}
    ]
    assert d["storage"]["sku"] == {"name": "Standard_LRS"} and p["storage"]["sku"] == {"name": "Standard_ZRS"}
    assert d["blob-service"]["isVersioningEnabled"] is False and p["blob-service"]["isVersioningEnabled"] is True
    assert d["blob-service"]["deleteRetentionPolicy"] == {"enabled": True, "days": 7}
    assert p["blob-service"]["deleteRetentionPolicy"] == {"enabled": True, "days": 30}
    assert p["blob-service"]["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 30}
    assert d["vision-blob-access"]["roleDefinitionId"] == role_definition_id(roles.STORAGE_BLOB_DATA_CONTRIBUTOR)
    assert p["vision-blob-access"]["roleDefinitionId"] == role_definition_id(roles.STORAGE_BLOB_DATA_READER)
    assert d["vision"]["tags"] == {"environment": "dev", "project": "vision-gitops"}
    assert p["storage"]["tags"] == {"environment": "prod", "project": "vision-gitops"}


@pulumi.runtime.test
def test_existing_resource_group_is_looked_up_not_created():
    config = dataclasses.replace(dev_config(), resource_group_name="rg-shared", use_existing_resource_group=True)

    def check(d: Deployed) -> None:
        assert d.stack.resource_group is None
        assert not any(r.typ == "azure-native:resources:ResourceGroup" for r in d.mocks.resources.values())
        assert ("azure-native:resources:getResourceGroup", {"resourceGroupName": "rg-shared"}) in d.mocks.calls
        for logical in ("vision", "storage", "container", "blob-service"):
            assert d.mocks.inputs(logical)["resourceGroupName"] == "rg-shared", logical
        assert "/resourceGroups/rg-shared/" in d.mocks.resources["container"].id

    return checked(deploy(config), check)


@pulumi.runtime.test
def test_created_resource_group():
    def check(d: Deployed) -> None:
        rg = d.mocks.inputs("resource-group")
        assert rg["resourceGroupName"] == "rg-vision-gitops-dev"
        assert rg["location"] == "westus2"
        assert d.mocks.inputs("vision")["resourceGroupName"] == "rg-vision-gitops-dev"

    return checked(deploy(dev_config()), check)


@pulumi.runtime.test
def test_soft_delete_off_and_shared_key_on_when_configured():
    config = dataclasses.replace(dev_config(), blob_soft_delete_days=0, allow_shared_key_access=True)

    def check(d: Deployed) -> None:
        blob_service = d.mocks.inputs("blob-service")
        assert blob_service["deleteRetentionPolicy"] == {"enabled": False}
        assert blob_service["containerDeleteRetentionPolicy"] == {"enabled": False}
        sa = d.mocks.inputs("storage")
        assert sa["allowSharedKeyAccess"] is True
        assert sa["defaultToOAuthAuthentication"] is False
        # The rest of the secure defaults do not depend on that switch.
        assert sa["minimumTlsVersion"] == "TLS1_2" and sa["allowBlobPublicAccess"] is False

    return checked(deploy(config), check)


def test_role_assignment_names_are_stable_across_deploys():
    logical = ("vision-blob-access", "ci-vision-access", "ci-blob-access")

    def names(config: InfraConfig) -> list[str]:
        mocks = run_deploy(config)
        return [mocks.inputs(n)["roleAssignmentName"] for n in logical]

    first = names(prod_config())
    assert names(prod_config()) == first
    assert len(set(first)) == 3
    # A new CI principal renames its assignments (a new assignment, not an update); the Vision identity's stays.
    other_ci = names(dataclasses.replace(prod_config(), ci_principal_id="abcdefab-1234-4321-8888-0123456789ab"))
    assert other_ci[0] == first[0] and other_ci[1] != first[1] and other_ci[2] != first[2]
