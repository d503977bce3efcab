"""Declares an Azure Machine Learning stack from an :class:`AzureMLConfig` (:func:`build_azureml_stack`).

Resources (logical names are fixed, so URNs stay stable across config changes):

- ``resource-group`` (or a lookup of an existing one): :func:`infra.resource_group.declare_resource_group`;
- ``storage`` + ``blob-service`` + ``container``: the same secure storage as vision stacks
  (:func:`infra.storage.declare_training_storage`); the account is also the workspace's own storage;
- ``key-vault``: RBAC authorisation (no access policies), soft delete, purge protection configurable;
- ``log-analytics`` + ``app-insights``: workspace-based Application Insights (no classic component);
- ``workspace``: system-assigned identity, system datastores reached by identity (no account key is
  stored, which shared-key-free storage needs anyway), public network access and managed network
  isolation from config; no container registry (AutoML for images runs curated environments, and
  the workspace creates one on first need);
- ``datastore``: the container registered with **no credentials** (identity-based access);
- ``gpu-compute``: an AmlCompute cluster of NC/ND nodes scaling from ``computeMinNodes`` (0 by
  default: an idle cluster has no nodes and costs nothing) with an idle scale-down time, its own
  system-assigned identity, SSH and local auth off;
- ``online-endpoint`` (only when ``endpointName`` is set): an empty managed online endpoint with
  Entra ID (``AADToken``) auth; it bills nothing until a deployment with instances is added;
- four role assignments, none above the workspace or the container (:func:`infra.rbac.assign_role`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import applicationinsights, authorization, keyvault, operationalinsights, resources, storage
from pulumi_azure_native import machinelearningservices as ml

from infra import roles
from infra.azureml_config import AzureMLConfig
from infra.rbac import assign_role, principal_id_of
from infra.resource_group import declare_resource_group
from infra.storage import declare_training_storage


@dataclass(frozen=True)
class AzureMLStack:
    """The declared resources of one azureml stack, for outputs and tests."""

    config: AzureMLConfig
    resource_group: resources.ResourceGroup | None
    """None when an existing resource group is used."""
    resource_group_name: pulumi.Output[str]
    subscription_id: pulumi.Output[str]
    storage_account: storage.StorageAccount
    blob_service: storage.BlobServiceProperties
    container: storage.BlobContainer
    key_vault: keyvault.Vault
    log_analytics: operationalinsights.Workspace
    app_insights: applicationinsights.Component
    workspace: ml.Workspace
    workspace_principal_id: pulumi.Output[str]
    datastore: ml.Datastore
    compute: ml.Compute
    compute_principal_id: pulumi.Output[str]
    endpoint: ml.OnlineEndpoint | None
    """None unless ``endpointName`` is configured."""
    workspace_blob_access: authorization.RoleAssignment
    """The workspace identity on the container: Storage Blob Data Reader (datastore browsing, validation)."""
    compute_blob_access: authorization.RoleAssignment
    """The cluster identity on the container: Storage Blob Data Reader (training jobs read images and labels)."""
    ci_workspace_access: authorization.RoleAssignment
    """The CI principal on the workspace: AzureML Data Scientist (data assets, jobs, models, endpoints)."""
    ci_blob_access: authorization.RoleAssignment
    """The CI principal on the container: Storage Blob Data Contributor (uploads images and labels)."""

    def all_resources(self) -> list[pulumi.CustomResource]:
        """Every declared resource (for waiting on all of them)."""
        declared: list[pulumi.CustomResource | None] = [
            self.resource_group, self.storage_account, self.blob_service, self.container, self.key_vault,
            self.log_analytics, self.app_insights, self.workspace, self.datastore, self.compute, self.endpoint,
            self.workspace_blob_access, self.compute_blob_access, self.ci_workspace_access, self.ci_blob_access,
        ]  # fmt: skip
        return [r for r in declared if r is not None]


def build_azureml_stack(config: AzureMLConfig) -> AzureMLStack:
    """Declare every resource of one azureml stack. Must run inside a Pulumi program (or under mocks).

    Declares nothing else and reads no Pulumi config: everything comes from ``config``.
    """
    tags = dict(config.tags)
    client = authorization.get_client_config_output()
    subscription_id = client.subscription_id
    public = config.public_network_access == "Enabled"

    group = declare_resource_group(config)
    resource_group, rg_name = group.resource, group.name

    training = declare_training_storage(
        config,
        resource_group_name=rg_name,
        public_network_access=config.public_network_access,
        # Public access off: only private endpoints (the managed network's) and trusted services get in.
        network_rule_set=storage.NetworkRuleSetArgs(
            default_action=storage.DefaultAction.ALLOW if public else storage.DefaultAction.DENY,
            bypass=storage.Bypass.AZURE_SERVICES,
        ),
    )
    container = training.container

    kv = config.key_vault
    key_vault = keyvault.Vault(
        "key-vault",
        vault_name=kv.name,
        resource_group_name=rg_name,
        location=config.location,
        properties=keyvault.VaultPropertiesArgs(
            tenant_id=client.tenant_id,
            sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
            enable_rbac_authorization=True,
            enable_soft_delete=True,
            soft_delete_retention_in_days=kv.soft_delete_days,
            # ARM refuses false for this property: "off" is expressed by leaving it out.
            enable_purge_protection=True if kv.purge_protection else None,
            public_network_access="enabled" if public else "disabled",
            network_acls=keyvault.NetworkRuleSetArgs(
                bypass=keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
                default_action=keyvault.NetworkRuleAction.ALLOW if public else keyvault.NetworkRuleAction.DENY,
            ),
        ),
        tags=tags,
    )
    log_analytics = operationalinsights.Workspace(
        "log-analytics",
        workspace_name=config.log_analytics_workspace_name,
        resource_group_name=rg_name,
        location=config.location,
        sku=operationalinsights.WorkspaceSkuArgs(name=operationalinsights.WorkspaceSkuNameEnum.PER_GB2018),
        retention_in_days=config.log_retention_days,
        tags=tags,
    )
    app_insights = applicationinsights.Component(
        "app-insights",
        resource_name_=config.application_insights_name,
        resource_group_name=rg_name,
        location=config.location,
        kind="web",
        application_type=applicationinsights.ApplicationType.WEB,
        workspace_resource_id=log_analytics.id,
        ingestion_mode=applicationinsights.IngestionMode.LOG_ANALYTICS,
        tags=tags,
    )

    workspace = ml.Workspace(
        "workspace",
        workspace_name=config.workspace_name,
        resource_group_name=rg_name,
        location=config.location,
        kind="Default",
        sku=ml.SkuArgs(name="Basic", tier=ml.SkuTier.BASIC),
        identity=ml.ManagedServiceIdentityArgs(type=ml.ManagedServiceIdentityType.SYSTEM_ASSIGNED),
        storage_account=training.account.id,
        key_vault=key_vault.id,
        application_insights=app_insights.id,
        public_network_access=config.public_network_access,
        managed_network=ml.ManagedNetworkSettingsArgs(isolation_mode=config.managed_network),
        system_datastores_auth_mode=ml.SystemDatastoresAuthMode.IDENTITY,
        v1_legacy_mode=False,
        description="vision-gitops: AutoML for images (datasets, training jobs, models)",
        tags=tags,
    )
    workspace_principal_id = workspace.identity.apply(lambda i: principal_id_of(i, "workspace"))

    c = config.compute
    compute = ml.Compute(
        "gpu-compute",
        compute_name=c.name,
        workspace_name=workspace.name,
        resource_group_name=rg_name,
        location=config.location,
        identity=ml.ManagedServiceIdentityArgs(type=ml.ManagedServiceIdentityType.SYSTEM_ASSIGNED),
        properties=ml.AmlComputeArgs(
            compute_type="AmlCompute",
            description="GPU cluster for AutoML image training; scales to computeMinNodes when idle",
            disable_local_auth=True,
            properties=ml.AmlComputePropertiesArgs(
                vm_size=c.vm_size,
                vm_priority=c.priority,
                os_type=ml.OsType.LINUX,
                scale_settings=ml.ScaleSettingsArgs(
                    min_node_count=c.min_nodes,
                    max_node_count=c.max_nodes,
                    node_idle_time_before_scale_down=c.idle_time_before_scale_down,
                ),
                remote_login_port_public_access=ml.RemoteLoginPortPublicAccess.DISABLED,
                # Nodes without public IPs need a virtual network: the managed one when it is on.
                enable_node_public_ip=config.managed_network == "Disabled",
            ),
        ),
        tags=tags,
    )
    compute_principal_id = compute.identity.apply(lambda i: principal_id_of(i, "compute cluster"))

    workspace_blob_access = assign_role(
        "workspace-blob-access",
        scope=container.id,
        role_guid=roles.STORAGE_BLOB_DATA_READER,
        principal_id=workspace_principal_id,
        subscription_id=subscription_id,
        description="Workspace identity reads the datastore's container",
    )
    compute_blob_access = assign_role(
        "compute-blob-access",
        scope=container.id,
        role_guid=roles.STORAGE_BLOB_DATA_READER,
        principal_id=compute_principal_id,
        subscription_id=subscription_id,
        description="GPU cluster identity reads training images and labels",
    )
    ci_principal = pulumi.Output.from_input(config.ci_principal_id)
    ci_workspace_access = assign_role(
        "ci-workspace-access",
        scope=workspace.id,
        role_guid=roles.AZUREML_DATA_SCIENTIST,
        principal_id=ci_principal,
        subscription_id=subscription_id,
        description="CI principal registers data and models and runs AutoML jobs (reconcile plan/apply)",
    )
    ci_blob_access = assign_role(
        "ci-blob-access",
        scope=container.id,
        role_guid=roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
        principal_id=ci_principal,
        subscription_id=subscription_id,
        description="CI principal uploads images, JSONL labels and MLTable files",
    )

    datastore = ml.Datastore(
        "datastore",
        name=config.datastore_name,
        workspace_name=workspace.name,
        resource_group_name=rg_name,
        properties=ml.AzureBlobDatastoreArgs(
            datastore_type="AzureBlob",
            account_name=training.account.name,
            container_name=container.name,
            endpoint="core.windows.net",
            protocol="https",
            # No stored secret: jobs read with the compute identity, the studio with the workspace identity.
            credentials=ml.NoneDatastoreCredentialsArgs(credentials_type="None"),
            service_data_access_auth_identity=ml.ServiceDataAccessAuthIdentity.WORKSPACE_SYSTEM_ASSIGNED_IDENTITY,
            description="vision-gitops images, labels and MLTables (identity-based access)",
            tags=tags,
        ),
        opts=pulumi.ResourceOptions(depends_on=[workspace_blob_access]),
    )

    endpoint: ml.OnlineEndpoint | None = None
    if config.endpoint_name:
        endpoint = ml.OnlineEndpoint(
            "online-endpoint",
            endpoint_name=config.endpoint_name,
            workspace_name=workspace.name,
            resource_group_name=rg_name,
            location=config.location,
            identity=ml.ManagedServiceIdentityArgs(type=ml.ManagedServiceIdentityType.SYSTEM_ASSIGNED),
            properties=ml.OnlineEndpointPropertiesArgs(
                auth_mode=ml.EndpointAuthMode.AAD_TOKEN,
                public_network_access=config.public_network_access,
                description="vision-gitops scoring endpoint (Entra ID tokens only; deployments come from specs)",
            ),
            tags=tags,
            # The reconciler owns the traffic split once it adds deployments.
            opts=pulumi.ResourceOptions(ignore_changes=["properties.traffic"]),
        )

    return AzureMLStack(
        config=config,
        resource_group=resource_group,
        resource_group_name=rg_name,
        subscription_id=subscription_id,
        storage_account=training.account,
        blob_service=training.blob_service,
        container=container,
        key_vault=key_vault,
        log_analytics=log_analytics,
        app_insights=app_insights,
        workspace=workspace,
        workspace_principal_id=workspace_principal_id,
        datastore=datastore,
        compute=compute,
        compute_principal_id=compute_principal_id,
        endpoint=endpoint,
        workspace_blob_access=workspace_blob_access,
        compute_blob_access=compute_blob_access,
        ci_workspace_access=ci_workspace_access,
        ci_blob_access=ci_blob_access,
    )
