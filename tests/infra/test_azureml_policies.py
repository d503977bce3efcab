"""The policies added with azureml stacks: each on a passing and a failing resource, and on the program.

Prod-only policies read the stack name from the resource URN; ``_args`` builds URNs for a given stack.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs

from policy.policies import (
    KEY_VAULT,
    ML_COMPUTE,
    ML_DATASTORE,
    ML_ONLINE_ENDPOINT,
    ML_WORKSPACE,
    POLICIES,
    ROLE_ASSIGNMENT,
)
from tests.infra.mocks import azureml_dev_config, azureml_prod_config, run_deploy_azureml

BY_NAME = {p.name: p for p in POLICIES}
RG = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg-ml"

GOOD_COMPUTE = {
    "computeName": "gpu-cluster",
    "properties": {
        "computeType": "AmlCompute",
        "properties": {"vmSize": "Standard_NC4as_T4_v3", "scaleSettings": {"minNodeCount": 0, "maxNodeCount": 2, "nodeIdleTimeBeforeScaleDown": "PT120S"}},
    },
}
GOOD_DATASTORE = {"name": "vision_gitops", "properties": {"datastoreType": "AzureBlob", "credentials": {"credentialsType": "None"}}}
GOOD_WORKSPACE = {"workspaceName": "mlw", "publicNetworkAccess": "Disabled"}
GOOD_ENDPOINT = {"endpointName": "ep-x", "properties": {"authMode": "AADToken"}}
GOOD_VAULT = {"vaultName": "kv-x", "properties": {"enableRbacAuthorization": True, "enablePurgeProtection": True}}
GOOD_ASSIGNMENT = {"scope": f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/mlw"}


def _args(resource_type: str, props: dict[str, Any], *, stack: str = "test", config: dict | None = None) -> ResourceValidationArgs:
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    urn = f"urn:pulumi:{stack}::vision-gitops::{resource_type}::r"
    return ResourceValidationArgs(resource_type, props, urn, "r", opts, None, config)


def violations(policy: str, rtype: str, props: dict, *, stack: str = "test", config: dict | None = None) -> list[str]:
    found: list[str] = []
    BY_NAME[policy].validate(_args(rtype, props, stack=stack, config=config), lambda msg, urn=None: found.append(msg))
    return found


def _with_scale(**scale: Any) -> dict:
    inner = {**GOOD_COMPUTE["properties"]["properties"], "scaleSettings": scale}
    return {**GOOD_COMPUTE, "properties": {**GOOD_COMPUTE["properties"], "properties": inner}}


@pytest.mark.parametrize(
    ("policy", "rtype", "good", "stack"),
    [
        ("azureml-compute-scales-to-zero", ML_COMPUTE, GOOD_COMPUTE, "prod"),
        ("azureml-datastore-identity-access", ML_DATASTORE, GOOD_DATASTORE, "prod"),
        ("azureml-workspace-private-in-prod", ML_WORKSPACE, GOOD_WORKSPACE, "azureml-prod"),
        # Outside prod, a public workspace is allowed.
        ("azureml-workspace-private-in-prod", ML_WORKSPACE, {**GOOD_WORKSPACE, "publicNetworkAccess": "Enabled"}, "azureml-dev"),
        ("azureml-endpoint-entra-auth", ML_ONLINE_ENDPOINT, GOOD_ENDPOINT, "prod"),
        ("keyvault-rbac-authorization", KEY_VAULT, GOOD_VAULT, "dev"),
        ("keyvault-purge-protection-in-prod", KEY_VAULT, GOOD_VAULT, "prod"),
        ("keyvault-purge-protection-in-prod", KEY_VAULT, {"properties": {"enableRbacAuthorization": True}}, "staging"),
        ("role-assignment-narrow-scope", ROLE_ASSIGNMENT, GOOD_ASSIGNMENT, "prod"),
        (
            "role-assignment-narrow-scope",
            ROLE_ASSIGNMENT,
            {"scope": f"{RG}/providers/Microsoft.Storage/storageAccounts/sa/blobServices/default/containers/training"},
            "prod",
        ),
        ("role-assignment-narrow-scope", ROLE_ASSIGNMENT, {"scope": f"{RG}/providers/Microsoft.CognitiveServices/accounts/v"}, "prod"),
    ],
)
def test_passing_resource(policy: str, rtype: str, good: dict, stack: str):
    assert violations(policy, rtype, good, stack=stack) == []


@pytest.mark.parametrize(
    ("policy", "rtype", "props", "stack", "fragment"),
    [
        ("azureml-compute-scales-to-zero", ML_COMPUTE, _with_scale(minNodeCount=2, maxNodeCount=4, nodeIdleTimeBeforeScaleDown="PT120S"), "dev", "keeps 2 node(s)"),
        ("azureml-compute-scales-to-zero", ML_COMPUTE, _with_scale(minNodeCount=0, maxNodeCount=4), "dev", "nodeIdleTimeBeforeScaleDown"),
        ("azureml-datastore-identity-access", ML_DATASTORE, {"properties": {"credentials": {"credentialsType": "AccountKey", "secrets": {}}}}, "dev", "'AccountKey'"),
        ("azureml-datastore-identity-access", ML_DATASTORE, {"properties": {"credentials": {"credentialsType": "Sas"}}}, "dev", "'Sas'"),
        ("azureml-datastore-identity-access", ML_DATASTORE, {"properties": {}}, "dev", "identity-based"),
        ("azureml-workspace-private-in-prod", ML_WORKSPACE, {"publicNetworkAccess": "Enabled"}, "azureml-prod", "must set publicNetworkAccess to Disabled"),
        ("azureml-workspace-private-in-prod", ML_WORKSPACE, {}, "prod", "omitted means Enabled"),
        ("azureml-endpoint-entra-auth", ML_ONLINE_ENDPOINT, {"properties": {"authMode": "Key"}}, "dev", "'Key'"),
        ("azureml-endpoint-entra-auth", ML_ONLINE_ENDPOINT, {"properties": {"authMode": "AMLToken"}}, "dev", "'AMLToken'"),
        ("keyvault-rbac-authorization", KEY_VAULT, {"properties": {}}, "dev", "enableRbacAuthorization"),
        ("keyvault-rbac-authorization", KEY_VAULT, {"properties": {"enableRbacAuthorization": True, "accessPolicies": [{"objectId": "x"}]}}, "dev", "access policies"),
        ("keyvault-purge-protection-in-prod", KEY_VAULT, {"properties": {"enableRbacAuthorization": True}}, "azureml-prod", "enablePurgeProtection"),
        ("keyvault-purge-protection-in-prod", KEY_VAULT, {"properties": {"enablePurgeProtection": False}}, "eu.production", "'eu.production'"),
        ("role-assignment-narrow-scope", ROLE_ASSIGNMENT, {"scope": RG}, "dev", "resource group"),
        ("role-assignment-narrow-scope", ROLE_ASSIGNMENT, {"scope": "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590"}, "dev", "never a subscription"),
        ("role-assignment-narrow-scope", ROLE_ASSIGNMENT, {"scope": f"{RG}/providers/Microsoft.Storage/storageAccounts/sa"}, "dev", "whole storage account"),
        ("role-assignment-narrow-scope", ROLE_ASSIGNMENT, {"scope": f"{RG}/providers/Microsoft.MachineLearningServices/workspaces/mlw/computes/c"}, "dev", "got"),
    ],
)
def test_failing_resource(policy: str, rtype: str, props: dict, stack: str, fragment: str):
    found = violations(policy, rtype, props, stack=stack)
    assert len(found) == 1, found
    assert fragment in found[0], found[0]


def test_warm_cluster_allowed_only_by_name():
    warm = _with_scale(minNodeCount=1, maxNodeCount=2, nodeIdleTimeBeforeScaleDown="PT120S")
    assert violations("azureml-compute-scales-to-zero", ML_COMPUTE, warm, config={"allowWarmComputes": ["GPU-Cluster"]}) == []
    assert len(violations("azureml-compute-scales-to-zero", ML_COMPUTE, warm, config={"allowWarmComputes": ["other"]})) == 1


def test_other_compute_types_are_not_clusters():
    instance = {"computeName": "ci", "properties": {"computeType": "ComputeInstance", "properties": {}}}
    assert violations("azureml-compute-scales-to-zero", ML_COMPUTE, instance) == []


def test_prod_stack_pattern_is_configurable():
    public = {"publicNetworkAccess": "Enabled"}
    assert violations("azureml-workspace-private-in-prod", ML_WORKSPACE, public, stack="live", config={"prodStackPattern": "^live$"}) != []
    assert violations("azureml-workspace-private-in-prod", ML_WORKSPACE, public, stack="azureml-prod", config={"prodStackPattern": "^live$"}) == []
    # "prod" must be a whole name segment.
    for stack in ("prod", "azureml-prod", "prod-eu", "eu.production", "PROD"):
        assert violations("azureml-workspace-private-in-prod", ML_WORKSPACE, public, stack=stack) != [], stack
    for stack in ("product-demo", "preprod", "dev", "azureml-dev", "test"):
        assert violations("azureml-workspace-private-in-prod", ML_WORKSPACE, public, stack=stack) == [], stack


def _all_violations(mocks, stack: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for recorded in mocks.resources.values():
        for policy in POLICIES:
            policy.validate(
                _args(recorded.typ, recorded.inputs, stack=stack),
                lambda msg, urn=None, n=policy.name: out.setdefault(n, []).append(msg),
            )
    return out


def test_azureml_prod_program_satisfies_every_policy():
    assert _all_violations(run_deploy_azureml(azureml_prod_config(), stack="azureml-prod"), "azureml-prod") == {}


def test_azureml_dev_program_breaks_nothing_as_dev_and_the_prod_rules_as_prod():
    mocks = run_deploy_azureml(azureml_dev_config(), stack="azureml-dev")
    assert _all_violations(mocks, "azureml-dev") == {}
    # The same resources in a prod-named stack: exactly the two prod-only rules fire.
    found = _all_violations(mocks, "prod")
    assert {k: len(v) for k, v in found.items()} == {"azureml-workspace-private-in-prod": 1, "keyvault-purge-protection-in-prod": 1}
