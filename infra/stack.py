"""Declares one stack's resources from an :class:`InfraConfig` (:func:`build_stack`).

Resources (logical names are fixed, so URNs stay stable across config changes):

- ``resource-group``: created, unless ``existingResourceGroupName`` names one to look up
  (:func:`infra.resource_group.declare_resource_group`);
- ``vision``: the Computer Vision account, explicit name and custom subdomain (Entra ID tokens only
  work against the custom subdomain, and it is immutable once set), system-assigned identity;
- ``storage`` + ``blob-service`` + ``container``: :func:`infra.storage.declare_training_storage`;
- three role assignments (:func:`infra.rbac.assign_role`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, cognitiveservices, resources, storage

from infra import roles
from infra.config import InfraConfig
from infra.rbac import assign_role, principal_id_of
from infra.resource_group import declare_resource_group
from infra.storage import declare_training_storage


@dataclass(frozen=True)
class VisionStack:
    """The declared resources of one stack, for outputs and tests."""

    config: InfraConfig
    resource_group: resources.ResourceGroup | None
    """None when an existing resource group is used."""
    resource_group_name: pulumi.Output[str]
    subscription_id: pulumi.Output[str]
    vision: cognitiveservices.Account
    vision_principal_id: pulumi.Output[str]
    storage_account: storage.StorageAccount
    blob_service: storage.BlobServiceProperties
    container: storage.BlobContainer
    vision_blob_access: authorization.RoleAssignment
    """The Vision identity on the container: Storage Blob Data Reader (Contributor when configured)."""
    ci_vision_access: authorization.RoleAssignment
    """The CI principal on the Vision account: Cognitive Services User."""
    ci_blob_access: authorization.RoleAssignment
    """The CI principal on the container: Storage Blob Data Contributor."""


def build_stack(config: InfraConfig) -> VisionStack:
    """Declare every resource of one stack. Must run inside a Pulumi program (or under mocks).

    Declares nothing else and reads no Pulumi config: everything comes from ``config``.
    """
    tags = dict(config.tags)
    client = authorization.get_client_config_output()
    subscription_id = client.subscription_id

    group = declare_resource_group(config)
    resource_group, rg_name = group.resource, group.name

    net = config.network
    vision = cognitiveservices.Account(
        "vision",
        account_name=config.vision_account_name,
        resource_group_name=rg_name,
        location=config.location,
        kind="ComputerVision",
        sku=cognitiveservices.SkuArgs(name=config.vision_sku),
        identity=cognitiveservices.IdentityArgs(type=cognitiveservices.ResourceIdentityType.SYSTEM_ASSIGNED),
        properties=cognitiveservices.AccountPropertiesArgs(
            custom_sub_domain_name=config.vision_subdomain,
            disable_local_auth=config.disable_local_auth,
            public_network_access=net.public_network_access,
            network_acls=cognitiveservices.NetworkRuleSetArgs(
                default_action=net.default_action,
                bypass=cognitiveservices.ByPassSelection.AZURE_SERVICES,
                ip_rules=[cognitiveservices.IpRuleArgs(value=rule) for rule in net.ip_rules],
            ),
        ),
        tags=tags,
    )
    vision_principal_id = vision.identity.apply(lambda i: principal_id_of(i, "Vision account"))

    # With Deny, the Vision service still reads training data with its own identity: let exactly
    # this account in (a resource-access rule), besides trusted Azure services.
    resource_access_rules = (
        [storage.ResourceAccessRuleArgs(resource_id=vision.id, tenant_id=client.tenant_id)]
        if net.default_action == "Deny"
        else None
    )
    training = declare_training_storage(
        config,
        resource_group_name=rg_name,
        public_network_access=net.public_network_access,
        network_rule_set=storage.NetworkRuleSetArgs(
            default_action=net.default_action,
            bypass=storage.Bypass.AZURE_SERVICES,
            ip_rules=[storage.IPRuleArgs(i_p_address_or_range=rule, action=storage.Action.ALLOW) for rule in net.ip_rules],
            resource_access_rules=resource_access_rules,
        ),
    )
    container = training.container

    vision_role = (
        roles.STORAGE_BLOB_DATA_CONTRIBUTOR if config.vision_storage_role == "Contributor" else roles.STORAGE_BLOB_DATA_READER
    )
    vision_blob_access = assign_role(
        "vision-blob-access",
        scope=container.id,
        role_guid=vision_role,
        principal_id=vision_principal_id,
        subscription_id=subscription_id,
        description="Vision managed identity reads training images and labels",
    )
    ci_vision_access = assign_role(
        "ci-vision-access",
        scope=vision.id,
        role_guid=roles.COGNITIVE_SERVICES_USER,
        principal_id=pulumi.Output.from_input(config.ci_principal_id),
        subscription_id=subscription_id,
        description="CI principal calls the Vision data plane (reconcile plan/apply)",
    )
    ci_blob_access = assign_role(
        "ci-blob-access",
        scope=container.id,
        role_guid=roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
        principal_id=pulumi.Output.from_input(config.ci_principal_id),
        subscription_id=subscription_id,
        description="CI principal uploads COCO label files and images",
    )
    return VisionStack(
        config=config,
        resource_group=resource_group,
        resource_group_name=rg_name,
        subscription_id=subscription_id,
        vision=vision,
        vision_principal_id=vision_principal_id,
        storage_account=training.account,
        blob_service=training.blob_service,
        container=container,
        vision_blob_access=vision_blob_access,
        ci_vision_access=ci_vision_access,
        ci_blob_access=ci_blob_access,
    )
