"""The typed, validated configuration of an Azure Machine Learning stack (:class:`AzureMLConfig`).

Selected by ``vision-gitops:service: azureml`` in a ``Pulumi.<stack>.yaml`` (see
:mod:`infra.stack_config`, which dispatches on that key). Parsing shares the key-by-key rules of
:mod:`infra.config`: every problem names its key (``vision-gitops:<key>``) and says what to do, all
problems are reported at once, unknown keys are errors, and a key that only vision stacks know is
reported as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from infra import naming
from infra.azureml_compute import DEFAULT_VM_SIZE, GPU_VM_SIZE, IDLE_SECONDS_RANGE, MAX_NODES_LIMIT, VM_PRIORITIES
from infra.azureml_compute import ComputeConfig
from infra.config import PROJECT, PUBLIC_NETWORK_ACCESS, STORAGE_SKUS, KeyParser, ci_principal_problem
from infra.config import declared_default as _default
from infra.config_keys import AZUREML_KEYS
from infra.config_keys import KEYS as VISION_KEYS

_COMPUTE: Final = ComputeConfig()

#: Workspace managed network isolation modes (``Disabled``: no managed virtual network).
MANAGED_NETWORK_MODES: Final = ("Disabled", "AllowInternetOutbound", "AllowOnlyApprovedOutbound")


@dataclass(frozen=True, slots=True)
class KeyVaultConfig:
    """The workspace's Key Vault: RBAC authorisation always, purge protection configurable."""

    name: str
    purge_protection: bool = True
    """Irreversible once on: the vault and its name stay reserved for the soft-delete period after deletion."""
    soft_delete_days: int = 90
    """7-90; fixed when the vault is created."""


@dataclass(frozen=True, slots=True)
class AzureMLConfig:
    """Everything an ``azureml`` stack needs; construct through :meth:`from_mapping`."""

    location: str
    workspace_name: str
    storage_account_name: str
    key_vault: KeyVaultConfig
    ci_principal_id: str
    """Object id (not the app/client id) of the CI service principal."""
    resource_group_name: str
    use_existing_resource_group: bool = False
    log_analytics_workspace_name: str = ""
    application_insights_name: str = ""
    log_retention_days: int = 30
    public_network_access: str = "Enabled"
    """``Enabled`` or ``Disabled``, for the workspace, its storage account and its Key Vault."""
    managed_network: str = "Disabled"
    """The workspace's managed network isolation mode; required (not ``Disabled``) with public access off."""
    storage_sku: str = "Standard_LRS"
    allow_shared_key_access: bool = False
    blob_versioning: bool = True
    blob_soft_delete_days: int = 7
    container_name: str = "training"
    datastore_name: str = "vision_gitops"
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    endpoint_name: str | None = None
    """A managed online endpoint shell (Entra ID auth, no deployment) when set."""
    tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(
        cls,
        values: Mapping[str, Any],
        *,
        source: str = "<config>",
        fallback_location: str | None = None,
        project: str = PROJECT,
    ) -> "AzureMLConfig":
        """Validate ``values`` (keys without the ``vision-gitops:`` prefix) into an :class:`AzureMLConfig`.

        Values may be typed (YAML) or strings (Pulumi CLI). Raises
        :class:`reconcile.errors.ConfigError` listing every problem, each naming its key.
        """
        return _AzureMLParser(values, source=source, project=project, keys=AZUREML_KEYS).parse_azureml(fallback_location)


def _derived_name(prefix: str, workspace: str) -> str:
    # Log Analytics names allow no '_': derive a hyphenated, lowercase name from the workspace name.
    return f"{prefix}-{workspace.lower().replace('_', '-')}"


class _AzureMLParser(KeyParser):
    def parse_azureml(self, fallback_location: str | None) -> AzureMLConfig:
        self.unknown_keys("azureml", "vision", VISION_KEYS)
        self.service("azureml")
        location = self.location(fallback_location, example="westeurope", display="West Europe",
                                 advice="pick a region where your subscription has NC or ND GPU quota")
        workspace = self.named("workspaceName", naming.workspace_problem, required=True)
        ws_ok = bool(workspace) and naming.workspace_problem(workspace) is None
        storage_account = self.named("storageAccountName", naming.storage_account_problem, required=True)
        key_vault = KeyVaultConfig(
            name=self.named("keyVaultName", naming.key_vault_problem, required=True),
            purge_protection=self.flag("keyVaultPurgeProtection", _default(KeyVaultConfig, "purge_protection")),
            soft_delete_days=self.integer("keyVaultSoftDeleteDays", _default(KeyVaultConfig, "soft_delete_days"), 7, 90),
        )
        ci_principal = self.named("ciPrincipalId", ci_principal_problem, required=True)
        rg_name, existing_rg = self.resource_group(f"rg-{workspace}" if ws_ok else None)
        log_analytics = self.named(
            "logAnalyticsWorkspaceName",
            naming.log_analytics_problem,
            required=False,
            default=_derived_name("log", workspace) if ws_ok else None,
        )
        app_insights = self.named(
            "applicationInsightsName",
            naming.app_insights_problem,
            required=False,
            default=_derived_name("appi", workspace) if ws_ok else None,
        )
        public_access = self.choice("publicNetworkAccess", _default(AzureMLConfig, "public_network_access"), PUBLIC_NETWORK_ACCESS)
        managed_network = self.choice("managedNetwork", _default(AzureMLConfig, "managed_network"), MANAGED_NETWORK_MODES)
        if public_access == "Disabled" and managed_network == "Disabled":
            self.problem(
                "managedNetwork",
                "is Disabled while publicNetworkAccess is Disabled: the compute cluster could not reach the "
                "workspace storage and Key Vault; set managedNetwork to AllowInternetOutbound or AllowOnlyApprovedOutbound",
            )
        endpoint = self.named("endpointName", naming.endpoint_problem, required=False)
        config = AzureMLConfig(
            location=location,
            workspace_name=workspace,
            storage_account_name=storage_account,
            key_vault=key_vault,
            ci_principal_id=ci_principal.lower(),
            resource_group_name=rg_name,
            use_existing_resource_group=existing_rg,
            log_analytics_workspace_name=log_analytics,
            application_insights_name=app_insights,
            log_retention_days=self.integer("logRetentionDays", _default(AzureMLConfig, "log_retention_days"), 30, 730),
            public_network_access=public_access,
            managed_network=managed_network,
            storage_sku=self.choice("storageSku", _default(AzureMLConfig, "storage_sku"), STORAGE_SKUS),
            allow_shared_key_access=self.flag("allowSharedKeyAccess", _default(AzureMLConfig, "allow_shared_key_access")),
            blob_versioning=self.flag("blobVersioning", _default(AzureMLConfig, "blob_versioning")),
            blob_soft_delete_days=self.integer("blobSoftDeleteDays", _default(AzureMLConfig, "blob_soft_delete_days"), 0, 365),
            container_name=self.named(
                "containerName", naming.container_problem, required=False, default=_default(AzureMLConfig, "container_name")
            ),
            datastore_name=self.named(
                "datastoreName", naming.datastore_problem, required=False, default=_default(AzureMLConfig, "datastore_name")
            ),
            compute=self.compute(),
            endpoint_name=endpoint or None,
            tags=self.string_map("tags"),
        )
        self.fail_on_problems()
        return config

    def compute(self) -> ComputeConfig:
        vm_size = self.text("computeVmSize", _COMPUTE.vm_size) or _COMPUTE.vm_size
        if not GPU_VM_SIZE.match(vm_size):
            self.problem(
                "computeVmSize",
                f"{vm_size!r} is not an NC or ND GPU size; AutoML for images trains on GPUs: use e.g. "
                f"{DEFAULT_VM_SIZE} or Standard_NC6s_v3, and request quota for that family first (docs/infra.md)",
            )
        low, high = IDLE_SECONDS_RANGE
        min_nodes = self.integer("computeMinNodes", _COMPUTE.min_nodes, 0, MAX_NODES_LIMIT)
        max_nodes = self.integer("computeMaxNodes", _COMPUTE.max_nodes, 1, MAX_NODES_LIMIT)
        if min_nodes > max_nodes:
            self.problem("computeMinNodes", f"is {min_nodes}, more than computeMaxNodes ({max_nodes}); lower it (0 keeps idle cost at zero)")
        return ComputeConfig(
            name=self.named("computeName", naming.compute_problem, required=False, default=_COMPUTE.name),
            vm_size=vm_size,
            priority=self.choice("computePriority", _COMPUTE.priority, VM_PRIORITIES),
            min_nodes=min_nodes,
            max_nodes=max_nodes,
            idle_seconds_before_scale_down=self.integer(
                "computeIdleSecondsBeforeScaleDown", _COMPUTE.idle_seconds_before_scale_down, low, high
            ),
        )
