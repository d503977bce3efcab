"""The training-data storage every stack declares: account, blob service and private container.

One function, so vision and azureml stacks share the same secure defaults, written explicitly
where Azure's default is weak (an omitted ``minimumTlsVersion`` means TLS 1.0 and an omitted
``allowSharedKeyAccess`` means true). Logical names are fixed (``storage``, ``blob-service``,
``container``) so URNs stay stable across config changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import storage

from infra.stack_config import StackConfig


@dataclass(frozen=True)
class TrainingStorage:
    """The declared storage resources of one stack."""

    account: storage.StorageAccount
    blob_service: storage.BlobServiceProperties
    container: storage.BlobContainer
    """Private container for images and labels; its ``id`` is the scope of container-level roles."""


def declare_training_storage(
    settings: StackConfig,
    *,
    resource_group_name: pulumi.Input[str],
    public_network_access: str,
    network_rule_set: storage.NetworkRuleSetArgs,
) -> TrainingStorage:
    """Declare the StorageV2 account, its blob service settings and the private container from the
    storage keys of ``settings`` (the same for every service); the network exposure is the stack's own.

    ``blob_soft_delete_days`` 0 turns blob and container soft delete off. Must run inside a Pulumi
    program (or under mocks).
    """
    shared_key = settings.allow_shared_key_access
    soft_delete_days = settings.blob_soft_delete_days
    account = storage.StorageAccount(
        "storage",
        account_name=settings.storage_account_name,
        resource_group_name=resource_group_name,
        location=settings.location,
        kind=storage.Kind.STORAGE_V2,
        sku=storage.SkuArgs(name=settings.storage_sku),
        minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
        enable_https_traffic_only=True,
        allow_blob_public_access=False,
        allow_shared_key_access=shared_key,
        default_to_o_auth_authentication=not shared_key,
        allow_cross_tenant_replication=False,
        public_network_access=public_network_access,
        network_rule_set=network_rule_set,
        tags=dict(settings.tags),
    )
    retention = storage.DeleteRetentionPolicyArgs(enabled=soft_delete_days > 0, days=soft_delete_days if soft_delete_days > 0 else None)
    blob_service = storage.BlobServiceProperties(
        "blob-service",
        account_name=account.name,
        resource_group_name=resource_group_name,
        blob_services_name="default",
        is_versioning_enabled=settings.blob_versioning,
        delete_retention_policy=retention,
        container_delete_retention_policy=retention,
    )
    container = storage.BlobContainer(
        "container",
        account_name=account.name,
        resource_group_name=resource_group_name,
        container_name=settings.container_name,
        public_access=storage.PublicAccess.NONE,
        opts=pulumi.ResourceOptions(depends_on=[blob_service]),
    )
    return TrainingStorage(account=account, blob_service=blob_service, container=container)
