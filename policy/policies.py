"""CrossGuard policies: the security invariants of the vision-gitops infrastructure.

Each policy validates the *inputs* of one resource type (``args.props``, wire names in camelCase,
enums as strings) and reports a violation that says what to set. Properties must be set
explicitly where Azure's default is weak: an omitted ``minimumTlsVersion`` means TLS 1.0 and an
omitted ``allowSharedKeyAccess`` means true. During a preview, a property whose value is not known
yet raises inside the policy engine and the check is skipped for that resource, as CrossGuard does.

Kept apart from ``policy/__main__.py`` because constructing a ``PolicyPack`` starts a gRPC server
and blocks; tests import this module only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from infra import roles

STORAGE_ACCOUNT: Final = "azure-native:storage:StorageAccount"
BLOB_CONTAINER: Final = "azure-native:storage:BlobContainer"
COGNITIVE_ACCOUNT: Final = "azure-native:cognitiveservices:Account"
ROLE_ASSIGNMENT: Final = "azure-native:authorization:RoleAssignment"
ML_COMPUTE: Final = "azure-native:machinelearningservices:Compute"
ML_DATASTORE: Final = "azure-native:machinelearningservices:Datastore"
ML_WORKSPACE: Final = "azure-native:machinelearningservices:Workspace"
ML_ONLINE_ENDPOINT: Final = "azure-native:machinelearningservices:OnlineEndpoint"
KEY_VAULT: Final = "azure-native:keyvault:Vault"

#: A stack is prod when ``prod`` or ``production`` is one of the segments of its name (``prod``,
#: ``azureml-prod``, ``prod-eu``, ``eu.production``; not ``product-demo`` or ``preprod``); the policy
#: config ``prodStackPattern`` replaces it.
DEFAULT_PROD_STACK_PATTERN: Final = r"(^|[-_.])prod(uction)?($|[-_.])"

#: Scopes a role assignment may have: one workspace, one blob container or one Vision account.
_NARROW_SCOPES: Final = tuple(
    re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/" + tail + "$", re.IGNORECASE)
    for tail in (
        r"Microsoft\.MachineLearningServices/workspaces/[^/]+",
        r"Microsoft\.Storage/storageAccounts/[^/]+/blobServices/default/containers/[^/]+",
        r"Microsoft\.CognitiveServices/accounts/[^/]+",
    )
)

#: Roles this infrastructure hands out; anything broader (Owner, Contributor, ...) is refused.
DEFAULT_ALLOWED_ROLE_IDS: Final = (
    roles.STORAGE_BLOB_DATA_READER,
    roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
    roles.COGNITIVE_SERVICES_USER,
    roles.AZUREML_DATA_SCIENTIST,
)

_GUID: Final = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _props(args: ResourceValidationArgs, resource_type: str) -> Mapping[str, Any] | None:
    return args.props if args.resource_type == resource_type else None


def _stack_name(urn: str) -> str:
    """``urn:pulumi:<stack>::<project>::<type>::<name>`` -> ``<stack>``."""
    head = urn.split("::", 1)[0]
    return head.split(":", 2)[2] if head.count(":") >= 2 else ""


def _is_prod(args: ResourceValidationArgs) -> bool:
    """Whether the resource belongs to a prod stack (its name, from the URN, matches the prod pattern)."""
    pattern = args.get_config().get("prodStackPattern") or DEFAULT_PROD_STACK_PATTERN
    return re.search(pattern, _stack_name(args.urn), re.IGNORECASE) is not None


_PROD_CONFIG = PolicyConfigSchema(properties={"prodStackPattern": {"type": "string"}})


# --- storage account ---------------------------------------------------------------------


def _storage_secure_transport(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (p := _props(args, STORAGE_ACCOUNT)) is None:
        return
    if p.get("minimumTlsVersion") != "TLS1_2":
        report(
            f"storage account must set minimumTlsVersion to TLS1_2 explicitly (got {p.get('minimumTlsVersion')!r}; "
            "omitted means TLS 1.0)"
        )
    if p.get("enableHttpsTrafficOnly") is not True:
        report("storage account must set enableHttpsTrafficOnly to true")


def _storage_no_public_blob_access(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (p := _props(args, STORAGE_ACCOUNT)) is None:
        return
    if p.get("allowBlobPublicAccess") is not False:
        report("storage account must set allowBlobPublicAccess to false: training images and labels are never public")


def _storage_no_cross_tenant_replication(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (p := _props(args, STORAGE_ACCOUNT)) is None:
        return
    if p.get("allowCrossTenantReplication") is not False:
        report("storage account must set allowCrossTenantReplication to false")


def _storage_kind_v2(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (p := _props(args, STORAGE_ACCOUNT)) is None:
        return
    if p.get("kind") != "StorageV2":
        report(f"storage account kind must be StorageV2 (got {p.get('kind')!r})")


def _storage_shared_key_disabled(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (p := _props(args, STORAGE_ACCOUNT)) is None:
        return
    if p.get("allowSharedKeyAccess") is not False:
        report(
            "storage account should set allowSharedKeyAccess to false (omitted means true): "
            "use Entra ID (DefaultAzureCredential) or user-delegation SAS instead of account keys"
        )


# --- container and Vision account -------------------------------------------------------------


def _container_private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (p := _props(args, BLOB_CONTAINER)) is None:
        return
    if p.get("publicAccess", "None") not in (None, "None"):
        report(f"blob container must have publicAccess None (got {p.get('publicAccess')!r})")


def _vision_entra_ready(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (p := _props(args, COGNITIVE_ACCOUNT)) is None:
        return
    properties = p.get("properties") or {}
    if not properties.get("customSubDomainName"):
        report(
            "Cognitive Services account must set properties.customSubDomainName: Entra ID tokens only work "
            "against the custom subdomain (and it cannot be added back without care later)"
        )
    identity_type = str((p.get("identity") or {}).get("type") or "")
    if "SystemAssigned" not in identity_type:
        report(
            "Cognitive Services account must have a SystemAssigned identity: the service reads training "
            f"data from storage with it (got identity type {identity_type or 'none'!r})"
        )


def _vision_local_auth_disabled(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (p := _props(args, COGNITIVE_ACCOUNT)) is None:
        return
    if (p.get("properties") or {}).get("disableLocalAuth") is not True:
        report("Cognitive Services account should set properties.disableLocalAuth to true (Entra ID tokens only, no API keys)")


# --- role assignments ---------------------------------------------------------------------------


def _role_assignment_shape(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (p := _props(args, ROLE_ASSIGNMENT)) is None:
        return
    role_id = str(p.get("roleDefinitionId") or "")
    if not roles.ROLE_DEFINITION_ID_PATTERN.match(role_id):
        report(
            "role assignment must use the full roleDefinitionId "
            f"/subscriptions/<sub>/providers/Microsoft.Authorization/roleDefinitions/<guid> (got {role_id!r})"
        )
    if p.get("principalType") != "ServicePrincipal":
        report(
            "role assignment must set principalType ServicePrincipal (managed identities and CI principals); "
            f"without it a new principal can fail with PrincipalNotFound (got {p.get('principalType')!r})"
        )
    name = str(p.get("roleAssignmentName") or "")
    if not _GUID.match(name):
        report(
            "role assignment must have an explicit GUID roleAssignmentName derived from scope, role and principal, "
            f"so re-deploys do not create duplicates (got {name!r})"
        )


def _role_assignment_least_privilege(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (p := _props(args, ROLE_ASSIGNMENT)) is None:
        return
    match = roles.ROLE_DEFINITION_ID_PATTERN.match(str(p.get("roleDefinitionId") or ""))
    if match is None:
        return  # reported by role-assignment-shape
    allowed = {r.lower() for r in (args.get_config().get("allowedRoleIds") or DEFAULT_ALLOWED_ROLE_IDS)}
    guid = match.group("guid").lower()
    if guid not in allowed:
        report(
            f"role {guid} is not one this infrastructure grants; allowed: "
            + ", ".join(f"{roles.ROLE_NAMES.get(r, r)} ({r})" for r in sorted(allowed))
            + " (extend the policy config allowedRoleIds only after review)"
        )


# --- Azure Machine Learning -------------------------------------------------------------------


def _compute_scales_to_zero(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (p := _props(args, ML_COMPUTE)) is None:
        return
    outer = p.get("properties") or {}
    if outer.get("computeType") != "AmlCompute":
        return
    scale = (outer.get("properties") or {}).get("scaleSettings") or {}
    name = str(p.get("computeName") or args.name)
    allowed = {str(n).lower() for n in (args.get_config().get("allowWarmComputes") or [])}
    min_nodes = scale.get("minNodeCount", 0)
    if min_nodes and name.lower() not in allowed:
        report(
            f"compute cluster {name!r} keeps {min_nodes:g} node(s) running while idle (minNodeCount): GPU nodes bill "
            "by the hour; set computeMinNodes to 0, or list the cluster in the policy config allowWarmComputes after review"
        )
    if not scale.get("nodeIdleTimeBeforeScaleDown"):
        report(f"compute cluster {name!r} must set scaleSettings.nodeIdleTimeBeforeScaleDown, so idle nodes are released")


def _datastore_identity_access(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (p := _props(args, ML_DATASTORE)) is None:
        return
    credentials = (p.get("properties") or {}).get("credentials") or {}
    kind = credentials.get("credentialsType")
    if kind != "None":
        report(
            f"datastore must use identity-based access (credentials.credentialsType None), not stored credentials "
            f"(got {kind!r}): account keys, SAS tokens and service-principal secrets are kept in the workspace"
        )


def _workspace_private_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (p := _props(args, ML_WORKSPACE)) is None or not _is_prod(args):
        return
    if p.get("publicNetworkAccess") != "Disabled":
        report(
            f"workspace of prod stack {_stack_name(args.urn)!r} must set publicNetworkAccess to Disabled "
            f"(got {p.get('publicNetworkAccess')!r}; omitted means Enabled)"
        )


def _endpoint_entra_auth(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (p := _props(args, ML_ONLINE_ENDPOINT)) is None:
        return
    mode = (p.get("properties") or {}).get("authMode")
    if mode != "AADToken":
        report(
            f"online endpoint must use authMode AADToken (Entra ID tokens), not keys or AML tokens (got {mode!r}): "
            "keys never expire and cannot be scoped by role"
        )


def _key_vault_rbac(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (p := _props(args, KEY_VAULT)) is None:
        return
    properties = p.get("properties") or {}
    if properties.get("enableRbacAuthorization") is not True:
        report("Key Vault must set properties.enableRbacAuthorization to true (omitted means access policies)")
    if properties.get("accessPolicies"):
        report("Key Vault must not carry access policies: grant data roles with role assignments instead")


def _key_vault_purge_protection_in_prod(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (p := _props(args, KEY_VAULT)) is None or not _is_prod(args):
        return
    if (p.get("properties") or {}).get("enablePurgeProtection") is not True:
        report(
            f"Key Vault of prod stack {_stack_name(args.urn)!r} must set properties.enablePurgeProtection to true "
            "(keyVaultPurgeProtection), so a deleted vault and its secrets cannot be purged before the retention ends"
        )


def _role_assignment_narrow_scope(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if (p := _props(args, ROLE_ASSIGNMENT)) is None:
        return
    scope = str(p.get("scope") or "")
    if not any(pattern.match(scope) for pattern in _NARROW_SCOPES):
        report(
            "role assignment scope must be one Azure Machine Learning workspace, one blob container or one "
            f"Vision account, never a subscription, resource group or whole storage account (got {scope!r})"
        )


# --- the policies -------------------------------------------------------------------------------

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

POLICIES: Final[list[ResourceValidationPolicy]] = [
    ResourceValidationPolicy(
        "storage-https-tls12",
        "Storage accounts accept only HTTPS with TLS 1.2 or later, set explicitly.",
        validate=_storage_secure_transport,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        "storage-no-public-blob-access",
        "Storage accounts disallow anonymous (public) blob access.",
        validate=_storage_no_public_blob_access,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        "storage-no-cross-tenant-replication",
        "Storage accounts disallow object replication to other tenants.",
        validate=_storage_no_cross_tenant_replication,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        "storage-kind-storagev2",
        "Storage accounts are general-purpose v2.",
        validate=_storage_kind_v2,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        "storage-shared-key-disabled",
        "Storage accounts accept Entra ID only (no account keys or account SAS). Mandatory in prod via config.prod.json.",
        validate=_storage_shared_key_disabled,
        enforcement_level=ADVISORY,
    ),
    ResourceValidationPolicy(
        "blob-container-private",
        "Blob containers are private.",
        validate=_container_private,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        "vision-entra-ready",
        "The Vision account has a custom subdomain and a system-assigned identity.",
        validate=_vision_entra_ready,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        "vision-local-auth-disabled",
        "The Vision account has API keys turned off. Mandatory in prod via config.prod.json.",
        validate=_vision_local_auth_disabled,
        enforcement_level=ADVISORY,
    ),
    ResourceValidationPolicy(
        "role-assignment-shape",
        "Role assignments use full role-definition ids, principalType ServicePrincipal and deterministic GUID names.",
        validate=_role_assignment_shape,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        "role-assignment-least-privilege",
        "Role assignments grant only the data roles this infrastructure needs.",
        validate=_role_assignment_least_privilege,
        enforcement_level=MANDATORY,
        config_schema=PolicyConfigSchema(
            properties={"allowedRoleIds": {"type": "array", "items": {"type": "string"}}},
        ),
    ),
    ResourceValidationPolicy(
        "role-assignment-narrow-scope",
        "Role assignments are scoped to one workspace, blob container or Vision account, never broader.",
        validate=_role_assignment_narrow_scope,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        "azureml-compute-scales-to-zero",
        "Compute clusters keep minimum nodes 0 (unless allowed by name) and release idle nodes.",
        validate=_compute_scales_to_zero,
        enforcement_level=MANDATORY,
        config_schema=PolicyConfigSchema(
            properties={"allowWarmComputes": {"type": "array", "items": {"type": "string"}}},
        ),
    ),
    ResourceValidationPolicy(
        "azureml-datastore-identity-access",
        "Datastores store no credentials (identity-based access).",
        validate=_datastore_identity_access,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        "azureml-workspace-private-in-prod",
        "Workspaces of prod stacks have public network access disabled.",
        validate=_workspace_private_in_prod,
        enforcement_level=MANDATORY,
        config_schema=_PROD_CONFIG,
    ),
    ResourceValidationPolicy(
        "azureml-endpoint-entra-auth",
        "Online endpoints accept Entra ID tokens only (no keys).",
        validate=_endpoint_entra_auth,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        "keyvault-rbac-authorization",
        "Key Vaults authorise data access with Azure RBAC, not access policies.",
        validate=_key_vault_rbac,
        enforcement_level=MANDATORY,
    ),
    ResourceValidationPolicy(
        "keyvault-purge-protection-in-prod",
        "Key Vaults of prod stacks have purge protection on.",
        validate=_key_vault_purge_protection_in_prod,
        enforcement_level=MANDATORY,
        config_schema=_PROD_CONFIG,
    ),
]
