"""The azureml stack under mocks: every resource and setting, the role wiring, dev vs prod.

Every test builds its stack inside ``@pulumi.runtime.test`` and returns an Output, so a failing
assertion inside ``apply`` fails the test.
"""

from __future__ import annotations

import dataclasses

import pulumi
import pytest

from infra import roles
from infra.azureml_config import AzureMLConfig, ComputeConfig
from tests.infra.mocks import (
    checked,
    role_definition_id,
    SUBSCRIPTION,
    TENANT,
    DeployedAzureML,
    azureml_dev_config,
    azureml_prod_config,
    child_principal_for,
    deploy_azureml,
    principal_for,
    run_deploy_azureml,
)

STACKS = {"azureml-dev": azureml_dev_config, "azureml-prod": azureml_prod_config}
ML = "azure-native:machinelearningservices"


def test_every_resource_of_each_example_stack():
    dev = run_deploy_azureml(azureml_dev_config(), stack="azureml-dev")
    prod = run_deploy_azureml(azureml_prod_config(), stack="azureml-prod")
    common = {
        "resource-group": "azure-native:resources:ResourceGroup",
        "storage": "azure-native:storage:StorageAccount",
        "blob-service": "azure-native:storage:BlobServiceProperties",
        "container": "azure-native:storage:BlobContainer",
        "key-vault": "azure-native:keyvault:Vault",
        "log-analytics": "azure-native:operationalinsights:Workspace",
        "app-insights": "azure-native:applicationinsights:Component",
        "workspace": f"{ML}:Workspace",
        "datastore": f"{ML}:Datastore",
        "gpu-compute": f"{ML}:Compute",
        "workspace-blob-access": "azure-native:authorization:RoleAssignment",
        "compute-blob-access": "azure-native:authorization:RoleAssignment",
        "ci-workspace-access": "azure-native:authorization:RoleAssignment",
        "ci-blob-access": "azure-native:authorization:RoleAssignment",
    }
    assert {k: r.typ for k, r in dev.resources.items()} == common
    # The endpoint shell exists only where endpointName is set (prod).
    assert {k: r.typ for k, r in prod.resources.items()} == {**common, "online-endpoint": f"{ML}:OnlineEndpoint"}


@pytest.mark.parametrize("stack", STACKS)
@pulumi.runtime.test
def test_storage_has_the_vision_stacks_secure_defaults(stack: str):
    config = STACKS[stack]()

    def check(d: DeployedAzureML) -> None:
        sa = d.mocks.inputs("storage")
        assert sa["accountName"] == config.storage_account_name
        assert sa["kind"] == "StorageV2" and sa["minimumTlsVersion"] == "TLS1_2"
        assert sa["enableHttpsTrafficOnly"] is True and sa["allowBlobPublicAccess"] is False
        assert sa["allowSharedKeyAccess"] is False and sa["defaultToOAuthAuthentication"] is True
        assert sa["allowCrossTenantReplication"] is False
        assert sa["publicNetworkAccess"] == config.public_network_access
        expected_action = "Allow" if config.public_network_access == "Enabled" else "Deny"
        assert sa["networkRuleSet"] == {"defaultAction": expected_action, "bypass": "AzureServices"}
        assert d.mocks.inputs("container")["publicAccess"] == "None"

    return checked(deploy_azureml(config, stack=stack), check)


@pytest.mark.parametrize("stack", STACKS)
@pulumi.runtime.test
def test_workspace_and_its_companions(stack: str):
    config = STACKS[stack]()

    def check(d: DeployedAzureML) -> None:
        r = d.mocks.resources
        ws = d.mocks.inputs("workspace")
        assert ws["workspaceName"] == config.workspace_name
        assert ws["identity"] == {"type": "SystemAssigned"}
        assert ws["storageAccount"] == r["storage"].id
        assert ws["keyVault"] == r["key-vault"].id
        assert ws["applicationInsights"] == r["app-insights"].id
        assert "containerRegistry" not in ws  # created by the service on first need; nothing idles
        assert ws["systemDatastoresAuthMode"] == "Identity"
        assert ws["publicNetworkAccess"] == config.public_network_access
        assert ws["managedNetwork"]["isolationMode"] == config.managed_network
        assert ws["v1LegacyMode"] is False and ws["location"] == config.location

        kv = d.mocks.inputs("key-vault")["properties"]
        assert kv["enableRbacAuthorization"] is True and kv["enableSoftDelete"] is True
        assert kv["tenantId"] == TENANT
        assert kv["softDeleteRetentionInDays"] == config.key_vault.soft_delete_days
        assert kv.get("enablePurgeProtection") is (True if config.key_vault.purge_protection else None)
        assert "accessPolicies" not in kv
        assert kv["publicNetworkAccess"] == config.public_network_access.lower()

        appi = d.mocks.inputs("app-insights")
        assert appi["workspaceResourceId"] == r["log-analytics"].id
        assert appi["ingestionMode"] == "LogAnalytics" and appi["resourceName"] == config.application_insights_name
        law = d.mocks.inputs("log-analytics")
        assert law["sku"] == {"name": "PerGB2018"} and law["retentionInDays"] == config.log_retention_days

    return checked(deploy_azureml(config, stack=stack), check)


@pytest.mark.parametrize("stack", STACKS)
@pulumi.runtime.test
def test_datastore_is_identity_based(stack: str):
    config = STACKS[stack]()

    def check(d: DeployedAzureML) -> None:
        ds = d.mocks.inputs("datastore")
        assert ds["name"] == config.datastore_name and ds["workspaceName"] == config.workspace_name
        props = ds["properties"]
        assert props["datastoreType"] == "AzureBlob"
        assert props["accountName"] == config.storage_account_name
        assert props["containerName"] == config.container_name
        assert props["credentials"] == {"credentialsType": "None"}  # no account key, no SAS stored
        assert props["serviceDataAccessAuthIdentity"] == "WorkspaceSystemAssignedIdentity"
        assert props["protocol"] == "https" and props["endpoint"] == "core.windows.net"

    return checked(deploy_azureml(config, stack=stack), check)


@pytest.mark.parametrize("stack", STACKS)
@pulumi.runtime.test
def test_gpu_cluster_costs_nothing_idle(stack: str):
    config = STACKS[stack]()

    def check(d: DeployedAzureML) -> None:
        compute = d.mocks.inputs("gpu-compute")
        assert compute["computeName"] == config.compute.name
        assert compute["identity"] == {"type": "SystemAssigned"}
        outer = compute["properties"]
        assert outer["computeType"] == "AmlCompute" and outer["disableLocalAuth"] is True
        props = outer["properties"]
        assert props["vmSize"] == config.compute.vm_size
        assert props["vmPriority"] == config.compute.priority
        assert props["remoteLoginPortPublicAccess"] == "Disabled"
        assert props["scaleSettings"] == {
            "minNodeCount": 0,
            "maxNodeCount": config.compute.max_nodes,
            "nodeIdleTimeBeforeScaleDown": f"PT{config.compute.idle_seconds_before_scale_down}S",
        }
        assert props["enableNodePublicIp"] is (config.managed_network == "Disabled")

    return checked(deploy_azureml(config, stack=stack), check)


@pulumi.runtime.test
def test_endpoint_shell_uses_entra_tokens():
    config = azureml_prod_config()

    def check(d: DeployedAzureML) -> None:
        ep = d.mocks.inputs("online-endpoint")
        assert ep["endpointName"] == "vision-gitops-prod"
        assert ep["properties"]["authMode"] == "AADToken"
        assert ep["properties"]["publicNetworkAccess"] == "Disabled"
        assert "traffic" not in ep["properties"]  # no deployment: nothing billed per instance-hour
        assert ep["identity"] == {"type": "SystemAssigned"} and ep["location"] == "westeurope"
        assert d.mocks.resources["online-endpoint"].id.endswith("/workspaces/mlw-vision-gitops-prod/onlineEndpoints/vision-gitops-prod")

    return checked(deploy_azureml(config, stack="azureml-prod"), check)


@pytest.mark.parametrize("stack", STACKS)
@pulumi.runtime.test
def test_role_wiring_is_least_privilege(stack: str):
    config = STACKS[stack]()

    def check(d: DeployedAzureML) -> None:
        container_id = d.mocks.resources["container"].id
        workspace_id = d.mocks.resources["workspace"].id
        assert container_id.endswith(f"/storageAccounts/{config.storage_account_name}/blobServices/default/containers/training")
        assert workspace_id.endswith(f"/Microsoft.MachineLearningServices/workspaces/{config.workspace_name}")
        workspace_principal = principal_for(config.workspace_name)
        compute_principal = child_principal_for(config.workspace_name, config.compute.name)
        expected = {
            "workspace-blob-access": (container_id, roles.STORAGE_BLOB_DATA_READER, workspace_principal),
            "compute-blob-access": (container_id, roles.STORAGE_BLOB_DATA_READER, compute_principal),
            "ci-workspace-access": (workspace_id, roles.AZUREML_DATA_SCIENTIST, config.ci_principal_id),
            "ci-blob-access": (container_id, roles.STORAGE_BLOB_DATA_CONTRIBUTOR, config.ci_principal_id),
        }
        assignments = {k: r.inputs for k, r in d.mocks.resources.items() if r.typ.endswith(":RoleAssignment")}
        assert set(assignments) == set(expected)
        for logical, (scope, role, principal) in expected.items():
            ra = assignments[logical]
            assert ra["scope"] == scope, logical
            assert ra["principalId"] == principal, logical
            assert ra["roleDefinitionId"] == role_definition_id(role), logical
            assert ra["principalType"] == "ServicePrincipal", logical
            assert ra["roleAssignmentName"] == roles.role_assignment_name(scope, role, principal), logical
        assert len({ra["roleAssignmentName"] for ra in assignments.values()}) == 4
        assert len({workspace_principal, compute_principal, config.ci_principal_id}) == 3
        # Nothing at subscription or resource-group scope.
        rg_prefix = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{config.resource_group_name}"
        for ra in assignments.values():
            assert ra["scope"].startswith(rg_prefix + "/providers/") and ra["scope"] not in (rg_prefix, f"/subscriptions/{SUBSCRIPTION}")

    return checked(deploy_azureml(config, stack=stack), check)


@pulumi.runtime.test
def test_principal_outputs_are_the_identities_of_the_resources():
    config = azureml_dev_config()
    d = deploy_azureml(config)
    return pulumi.Output.all(d.stack.workspace_principal_id, d.stack.compute_principal_id).apply(
        lambda ids: _expect(ids, [principal_for(config.workspace_name), child_principal_for(config.workspace_name, "gpu-cluster")])
    )


def _expect(actual: list[str], expected: list[str]) -> None:
    assert actual == expected


def test_dev_and_prod_differ_as_documented():
    dev, prod = azureml_dev_config(), azureml_prod_config()
    changed = {f.name for f in dataclasses.fields(AzureMLConfig) if getattr(dev, f.name) != getattr(prod, f.name)}
    assert changed == {
        "location", "workspace_name", "storage_account_name", "key_vault", "ci_principal_id", "resource_group_name",
        "log_analytics_workspace_name", "application_insights_name", "log_retention_days", "public_network_access",
        "managed_network", "storage_sku", "blob_versioning", "blob_soft_delete_days", "compute", "endpoint_name", "tags",
    }  # fmt: skip
    compute_changed = {f.name for f in dataclasses.fields(ComputeConfig) if getattr(dev.compute, f.name) != getattr(prod.compute, f.name)}
    assert compute_changed == {"priority", "max_nodes", "idle_seconds_before_scale_down"}
    d = {k: r.inputs for k, r in run_deploy_azureml(dev, stack="azureml-dev").resources.items()}
    p = {k: r.inputs for k, r in run_deploy_azureml(prod, stack="azureml-prod").resources.items()}
    assert d["workspace"]["publicNetworkAccess"] == "Enabled" and p["workspace"]["publicNetworkAccess"] == "Disabled"
    assert "enablePurgeProtection" not in d["key-vault"]["properties"]
    assert p["key-vault"]["properties"]["enablePurgeProtection"] is True
    assert p["key-vault"]["properties"]["networkAcls"] == {"defaultAction": "Deny", "bypass": "AzureServices"}
    assert d["gpu-compute"]["properties"]["properties"]["vmPriority"] == "LowPriority"
    assert p["gpu-compute"]["properties"]["properties"]["enableNodePublicIp"] is False
    assert d["blob-service"]["isVersioningEnabled"] is False and p["blob-service"]["isVersioningEnabled"] is True
    assert p["workspace"]["tags"] == {"environment": "prod", "project": "vision-gitops"}


@pulumi.runtime.test
def test_existing_resource_group_is_looked_up_not_created():
    config = dataclasses.replace(azureml_dev_config(), resource_group_name="rg-shared-ml", use_existing_resource_group=True)

    def check(d: DeployedAzureML) -> None:
        assert d.stack.resource_group is None and "resource-group" not in d.mocks.resources
        assert ("azure-native:resources:getResourceGroup", {"resourceGroupName": "rg-shared-ml"}) in d.mocks.calls
        for logical in ("workspace", "storage", "key-vault", "gpu-compute", "datastore"):
            assert d.mocks.inputs(logical)["resourceGroupName"] == "rg-shared-ml", logical

    return checked(deploy_azureml(config), check)


@pulumi.runtime.test
def test_warm_nodes_when_configured():
    config = dataclasses.replace(azureml_dev_config(), compute=ComputeConfig(min_nodes=1, max_nodes=2))

    def check(d: DeployedAzureML) -> None:
        scale = d.mocks.inputs("gpu-compute")["properties"]["properties"]["scaleSettings"]
        assert scale["minNodeCount"] == 1 and scale["maxNodeCount"] == 2

    return checked(deploy_azureml(config), check)
