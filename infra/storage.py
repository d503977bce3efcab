"""The training-data storage every stack declares: account, blob service and private container.

One function, so vision and azureml stacks share the same secure defaults, written explicitly
where Azure's default is weak (an omitted ``minimumTlsVersion`` means TLS 1.0 and an omitted
``allowSharedKeyAccess`` means true). Logical names are fixed (``storage``, ``blob-service``,
``container``) so URNs stay stable across config changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import storage


@dataclass(frozen=True)
class TrainingStorage:
    """The declared storage resources of one stack."""

    account: storage.StorageAccount
    blob_service: storage.BlobServiceProperties
    container: storage.BlobContainer
    """Private container for images and labels; its ``id`` is the scope of container-level roles."""


def declare_training_storage(
    *,
    account_name: str,
    resource_group_name: pulumi.Input[str],
    location: str,
    sku: str,
    allow_shared_key_access: bool,
    public_network_access: str,
    network_rule_set: storage.NetworkRuleSetArgs,
    blob_versioning: bool,
    soft_delete_days: int,
    container_name: str,
    tags: Mapping[str, str],
) -> TrainingStorage:
    """Declare the StorageV2 account, its blob service settings and the private container.

    ``soft_delete_days`` 0 turns blob and container soft delete off. Must run inside a Pulumi
    program (or under mocks).
    """
    account = storage.StorageAccount(
        "storage",
        account_name=account_name,
        resource_group_name=resource_group_name,
        location=location,
        kind=storage.Kind.STORAGE_V2,
        sku=storage.SkuArgs(name=sku),
        minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
        enable_https_traffic_only=True,
        allow_blob_public_access=False,
        allow_shared_key_access=allow_shared_key_access,
        default_to_o_auth_authentication=not allow_shared_key_access,
        allow_cross_tenant_replication=False,
        public_network_access=public_network_access,
        network_rule_set=network_rule_set,
        tags=dict(tags),
    )
    retention = storage.DeleteRetentionPolicyArgs(enabled=soft_delete_days > 0, days=soft_delete_days if soft_delete_days > 0 else None)
    blob_service = storage.BlobServiceProperties(
        "blob-service",
        account_name=account.name,
        resource_group_name=resource_group_name,
        blob_services_name="default",
        is_versioning_enabled=blob_versioning,
        delete_retention_policy=retention,
        container_delete_retention_policy=retention,
    )
    container = storage.BlobContainer(
        "container",
        account_name=account.name,
        resource_group_name=resource_group_name,
        container_name=container_name,
        public_access=storage.PublicAccess.NONE,
        opts=pulumi.ResourceOptions(depends_on=[blob_service]),
    )
    return TrainingStorage(account=account, blob_service=blob_service, container=container)
