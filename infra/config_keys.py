"""Every key of the project's config namespace, per service, with a one-line meaning.

Each service's parser reports keys it does not know from its own table, and names the
other service when a key belongs there (:meth:`infra.config.KeyParser.unknown_keys`);
docs/infra.md lists them all.
"""

from __future__ import annotations

from typing import Final

from infra.azureml_compute import DEFAULT_VM_SIZE, MAX_NODES_LIMIT, ComputeConfig

#: Every key of the project namespace, with a one-line meaning (used in the unknown-key message).
KEYS: Final[dict[str, str]] = {
    "service": "vision (the default) or azureml: which Azure service this stack provisions",
    "location": "Azure region (westus2, eastus or westeurope; display names accepted)",
    "allowUnsupportedRegion": "true to deploy to a region that never offered model customization",
    "visionAccountName": "name of the Computer Vision account (required)",
    "visionSubdomain": "custom subdomain of the Vision endpoint (default: the account name, lowercased)",
    "visionSku": "F0 or S1 (default S1)",
    "disableLocalAuth": "true to turn off API keys on the Vision account (default true)",
    "publicNetworkAccess": "Enabled or Disabled, for both accounts (default Enabled)",
    "networkDefaultAction": "Allow or Deny traffic matching no IP rule, for both accounts (default Allow)",
    "allowedIpRanges": "public IPv4 addresses / CIDR ranges allowed when networkDefaultAction is Deny",
    "storageAccountName": "name of the storage account, 3-24 lowercase letters and digits (required)",
    "storageSku": "storage replication SKU (default Standard_LRS)",
    "allowSharedKeyAccess": "true to allow account keys and account SAS on storage (default false)",
    "blobVersioning": "true to keep previous blob versions (default true)",
    "blobSoftDeleteDays": "days deleted blobs and containers are kept, 0-365, 0 = off (default 7)",
    "containerName": "private container for labels and images (default training)",
    "visionStorageRole": "Reader or Contributor: the Vision identity's role on the container (default Reader)",
    "ciPrincipalId": "object id of the CI service principal (required)",
    "resourceGroupName": "resource group to create (default rg-<visionAccountName>)",
    "existingResourceGroupName": "use this existing resource group instead of creating one",
    "tags": "tags (string to string) put on every resource",
}


_COMPUTE: Final = ComputeConfig()
"""The cluster defaults, as the help lines show them."""


#: Every key of an azureml stack, with a one-line meaning (used in messages; docs/infra.md lists them all).
AZUREML_KEYS: Final[dict[str, str]] = {
    "service": "azureml for these stacks",
    "location": "Azure region of every resource, e.g. westeurope (check GPU quota there first)",
    "workspaceName": "name of the Azure Machine Learning workspace (required)",
    "storageAccountName": "name of the workspace storage account, 3-24 lowercase letters and digits (required)",
    "keyVaultName": "name of the workspace Key Vault, 3-24 letters, digits and hyphens, globally unique (required)",
    "keyVaultPurgeProtection": "true to turn on Key Vault purge protection, irreversible (default true)",
    "keyVaultSoftDeleteDays": "days a deleted vault stays recoverable, 7-90, fixed at creation (default 90)",
    "logAnalyticsWorkspaceName": "Log Analytics workspace behind Application Insights (default log-<workspaceName>)",
    "applicationInsightsName": "Application Insights component of the workspace (default appi-<workspaceName>)",
    "logRetentionDays": "days Log Analytics keeps data, 30-730 (default 30)",
    "publicNetworkAccess": "Enabled or Disabled for the workspace, storage and Key Vault (default Enabled)",
    "managedNetwork": "Disabled, AllowInternetOutbound or AllowOnlyApprovedOutbound (default Disabled)",
    "storageSku": "storage replication SKU (default Standard_LRS)",
    "allowSharedKeyAccess": "true to allow account keys and account SAS on storage (default false)",
    "blobVersioning": "true to keep previous blob versions (default true)",
    "blobSoftDeleteDays": "days deleted blobs and containers are kept, 0-365, 0 = off (default 7)",
    "containerName": "private container for labels and images (default training)",
    "datastoreName": "identity-based datastore registered for the container (default vision_gitops)",
    "computeName": f"GPU compute cluster name (default {_COMPUTE.name})",
    "computeVmSize": f"NC or ND VM size of the cluster (default {DEFAULT_VM_SIZE})",
    "computePriority": f"Dedicated or LowPriority (default {_COMPUTE.priority})",
    "computeMinNodes": f"nodes kept running when idle; 0 costs nothing idle (default {_COMPUTE.min_nodes})",
    "computeMaxNodes": f"largest cluster size, 1-{MAX_NODES_LIMIT} (default {_COMPUTE.max_nodes})",
    "computeIdleSecondsBeforeScaleDown": f"idle seconds before a node is released, 60-86400 (default {_COMPUTE.idle_seconds_before_scale_down})",
    "endpointName": "name of a managed online endpoint shell with Entra ID auth (default: none)",
    "ciPrincipalId": "object id of the CI service principal (required)",
    "resourceGroupName": "resource group to create (default rg-<workspaceName>)",
    "existingResourceGroupName": "use this existing resource group instead of creating one",
    "tags": "tags (string to string) put on every resource",
}
