"""CrossGuard policies on passing and failing resources, and on what the program really declares.

Only :mod:`policy.policies` is imported: ``policy/__main__.py`` constructs the PolicyPack, which
starts a gRPC server and blocks.
"""

from __future__ import annotations

import ast
import json
from typing import Any

import pytest
import yaml
from pulumi_policy import EnforcementLevel, PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs

from infra import roles
from policy.policies import (
    BLOB_CONTAINER,
    COGNITIVE_ACCOUNT,
    POLICIES,
    ROLE_ASSIGNMENT,
    STORAGE_ACCOUNT,
)
from tests.infra.mocks import ROOT, SUBSCRIPTION, dev_config, prod_config, run_deploy

BY_NAME = {p.name: p for p in POLICIES}

GOOD_STORAGE = {
    "kind": "StorageV2",
    "minimumTlsVersion": "TLS1_2",
    "enableHttpsTrafficOnly": True,
    "allowBlobPublicAccess": False,
    "allowCrossTenantReplication": False,
    "allowSharedKeyAccess": False,
}
GOOD_VISION = {
    "kind": "ComputerVision",
    "identity": {"type": "SystemAssigned"},
    "properties": {"customSubDomainName": "vision-x", "disableLocalAuth": True},
}
GOOD_ASSIGNMENT = {
    "roleDefinitionId": f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
    f"{roles.COGNITIVE_SERVICES_USER}",
    "principalType": "ServicePrincipal",
    "principalId": "11111111-2222-3333-4444-555555555555",
    "roleAssignmentName": "0c7c3c55-6d4f-5c1e-9d0a-1b2c3d4e5f60",
    "scope": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/vision-x",
}


def _args(resource_type: str, props: dict[str, Any], config: dict[str, Any] | None = None) -> ResourceValidationArgs:
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    urn = f"urn:pulumi:test::vision-gitops::{resource_type}::r"
    return ResourceValidationArgs(resource_type, props, urn, "r", opts, None, config)


def violations(policy_name: str, resource_type: str, props: dict[str, Any], config: dict | None = None) -> list[str]:
    found: list[str] = []
    result = BY_NAME[policy_name].validate(_args(resource_type, props, config), lambda msg, urn=None: found.append(msg))
    assert result is None  # every policy is synchronous
    return found


@pytest.mark.parametrize(
    ("policy", "rtype", "good"),
    [
        ("storage-https-tls12", STORAGE_ACCOUNT, GOOD_STORAGE),
        ("storage-no-public-blob-access", STORAGE_ACCOUNT, GOOD_STORAGE),
        ("storage-no-cross-tenant-replication", STORAGE_ACCOUNT, GOOD_STORAGE),
        ("storage-kind-storagev2", STORAGE_ACCOUNT, GOOD_STORAGE),
        ("storage-shared-key-disabled", STORAGE_ACCOUNT, GOOD_STORAGE),
        ("blob-container-private", BLOB_CONTAINER, {"publicAccess": "None"}),
        ("blob-container-private", BLOB_CONTAINER, {}),
        ("vision-entra-ready", COGNITIVE_ACCOUNT, GOOD_VISION),
        ("vision-local-auth-disabled", COGNITIVE_ACCOUNT, GOOD_VISION),
        ("role-assignment-shape", ROLE_ASSIGNMENT, GOOD_ASSIGNMENT),
        ("role-assignment-least-privilege", ROLE_ASSIGNMENT, GOOD_ASSIGNMENT),
    ],
)
def test_passing_resource(policy: str, rtype: str, good: dict):
    assert violations(policy, rtype, good) == []


@pytest.mark.parametrize(
    ("policy", "rtype", "props", "fragment"),
    [
        ("storage-https-tls12", STORAGE_ACCOUNT, {**GOOD_STORAGE, "minimumTlsVersion": "TLS1_0"}, "TLS1_2"),
        ("storage-https-tls12", STORAGE_ACCOUNT, {k: v for k, v in GOOD_STORAGE.items() if k != "minimumTlsVersion"}, "omitted means TLS 1.0"),
        ("storage-https-tls12", STORAGE_ACCOUNT, {**GOOD_STORAGE, "enableHttpsTrafficOnly": False}, "enableHttpsTrafficOnly"),
        ("storage-no-public-blob-access", STORAGE_ACCOUNT, {**GOOD_STORAGE, "allowBlobPublicAccess": True}, "allowBlobPublicAccess"),
        ("storage-no-public-blob-access", STORAGE_ACCOUNT, {k: v for k, v in GOOD_STORAGE.items() if k != "allowBlobPublicAccess"}, "false"),
        ("storage-no-cross-tenant-replication", STORAGE_ACCOUNT, {**GOOD_STORAGE, "allowCrossTenantReplication": True}, "allowCrossTenantReplication"),
        ("storage-kind-storagev2", STORAGE_ACCOUNT, {**GOOD_STORAGE, "kind": "BlobStorage"}, "StorageV2"),
        ("storage-shared-key-disabled", STORAGE_ACCOUNT, {k: v for k, v in GOOD_STORAGE.items() if k != "allowSharedKeyAccess"}, "omitted means true"),
        ("storage-shared-key-disabled", STORAGE_ACCOUNT, {**GOOD_STORAGE, "allowSharedKeyAccess": True}, "allowSharedKeyAccess"),
        ("blob-container-private", BLOB_CONTAINER, {"publicAccess": "Blob"}, "publicAccess None"),
        ("blob-container-private", BLOB_CONTAINER, {"publicAccess": "Container"}, "publicAccess None"),
        ("vision-entra-ready", COGNITIVE_ACCOUNT, {**GOOD_VISION, "properties": {"disableLocalAuth": True}}, "customSubDomainName"),
        ("vision-entra-ready", COGNITIVE_ACCOUNT, {**GOOD_VISION, "identity": {"type": "None"}}, "SystemAssigned identity"),
        ("vision-entra-ready", COGNITIVE_ACCOUNT, {k: v for k, v in GOOD_VISION.items() if k != "identity"}, "'none'"),
        ("vision-local-auth-disabled", COGNITIVE_ACCOUNT, {**GOOD_VISION, "properties": {"customSubDomainName": "v"}}, "disableLocalAuth"),
        ("role-assignment-shape", ROLE_ASSIGNMENT, {**GOOD_ASSIGNMENT, "roleDefinitionId": roles.COGNITIVE_SERVICES_USER}, "full roleDefinitionId"),
        ("role-assignment-shape", ROLE_ASSIGNMENT, {k: v for k, v in GOOD_ASSIGNMENT.items() if k != "principalType"}, "PrincipalNotFound"),
        ("role-assignment-shape", ROLE_ASSIGNMENT, {**GOOD_ASSIGNMENT, "principalType": "User"}, "ServicePrincipal"),
        ("role-assignment-shape", ROLE_ASSIGNMENT, {k: v for k, v in GOOD_ASSIGNMENT.items() if k != "roleAssignmentName"}, "GUID roleAssignmentName"),
        (
            "role-assignment-least-privilege",
            ROLE_ASSIGNMENT,
            # Owner
            {**GOOD_ASSIGNMENT, "roleDefinitionId": GOOD_ASSIGNMENT["roleDefinitionId"].replace(roles.COGNITIVE_SERVICES_USER, "8e3af657-a8ff-443c-a75c-2fe8c4bcb635")},
            "8e3af657-a8ff-443c-a75c-2fe8c4bcb635 is not one this infrastructure grants",
        ),
    ],
)
def test_failing_resource(policy: str, rtype: str, props: dict, fragment: str):
    found = violations(policy, rtype, props)
    assert len(found) == 1, found
    assert fragment in found[0], found[0]


def test_policies_ignore_other_resource_types():
    for policy in POLICIES:
        assert violations(policy.name, "azure-native:resources:ResourceGroup", {"location": "westus2"}) == []


def test_least_privilege_allow_list_is_configurable():
    owner = GOOD_ASSIGNMENT["roleDefinitionId"].replace(roles.COGNITIVE_SERVICES_USER, "8e3af657-a8ff-443c-a75c-2fe8c4bcb635")
    props = {**GOOD_ASSIGNMENT, "roleDefinitionId": owner}
    assert violations("role-assignment-least-privilege", ROLE_ASSIGNMENT, props, {"allowedRoleIds": ["8E3AF657-A8FF-443C-A75C-2FE8C4BCB635"]}) == []
    assert len(violations("role-assignment-least-privilege", ROLE_ASSIGNMENT, GOOD_ASSIGNMENT, {"allowedRoleIds": [roles.STORAGE_BLOB_DATA_READER]})) == 1


def test_enforcement_levels():
    advisory = {p.name for p in POLICIES if p.enforcement_level == EnforcementLevel.ADVISORY}
    assert advisory == {"vision-local-auth-disabled", "storage-shared-key-disabled"}
    assert all(p.enforcement_level in (EnforcementLevel.ADVISORY, EnforcementLevel.MANDATORY) for p in POLICIES)
    # 10 for the vision stacks, 7 added with the azureml stacks (tests/infra/test_azureml_policies.py).
    assert len(BY_NAME) == len(POLICIES) == 17


def test_prod_policy_config_makes_the_advisories_mandatory():
    config = json.loads((ROOT / "policy" / "config.prod.json").read_text())
    assert config == {"vision-local-auth-disabled": "mandatory", "storage-shared-key-disabled": "mandatory"}
    assert set(config) <= set(BY_NAME)


def test_pack_entry_point_declares_every_policy_without_being_imported():
    tree = ast.parse((ROOT / "policy" / "__main__.py").read_text())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "PolicyPack"]
    assert len(calls) == 1
    keywords = {k.arg: k.value for k in calls[0].keywords}
    assert isinstance(keywords["policies"], ast.Name) and keywords["policies"].id == "POLICIES"
    pack_yaml = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert pack_yaml["runtime"]["name"] == "python"


def _all_violations(mocks) -> dict[str, list[str]]:
    """Run every policy on every resource the program declared; policy name -> messages."""
    out: dict[str, list[str]] = {}
    for recorded in mocks.resources.values():
        for policy in POLICIES:
            policy.validate(_args(recorded.typ, recorded.inputs), lambda msg, urn=None, n=policy.name: out.setdefault(n, []).append(msg))
    return out


def test_prod_program_satisfies_every_policy():
    assert _all_violations(run_deploy(prod_config(), stack="prod")) == {}


def test_dev_program_breaks_only_the_documented_advisory():
    found = _all_violations(run_deploy(dev_config(), stack="dev"))
    # dev keeps API keys on (disableLocalAuth: false in Pulumi.dev.yaml); everything mandatory holds.
    assert list(found) == ["vision-local-auth-disabled"] and len(found["vision-local-auth-disabled"]) == 1
