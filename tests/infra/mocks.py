"""Pulumi mocks that behave like ARM closely enough to catch wiring bugs.

They synthesize what Azure would return -- ARM ids built from the real names, ``name`` for every
resource, a distinct ``identity.principalId`` per Vision account, ``primaryEndpoints.blob`` -- so a
wiring assertion can never pass on ``None == None`` (pulumi-azure.md, section 3, gotcha 3).
"""

from __future__ import annotations

import runpy
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from infra.azureml_config import AzureMLConfig
from infra.azureml_stack import AzureMLStack, build_azureml_stack
from infra.config import PROJECT, InfraConfig
from infra.stack import VisionStack, build_stack
from infra.stack_config import load_stack_file

ROOT = Path(__file__).resolve().parents[2]
DEV_FILE = ROOT / "Pulumi.dev.yaml"
PROD_FILE = ROOT / "Pulumi.prod.yaml"
AZUREML_DEV_FILE = ROOT / "Pulumi.azureml-dev.yaml"
AZUREML_PROD_FILE = ROOT / "Pulumi.azureml-prod.yaml"

SUBSCRIPTION = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
TENANT = "9c2b4f0e-52d1-4b8f-a3d6-1e0f7c5a8b21"
_PRINCIPALS = uuid.UUID("3e9a7d52-1c44-4f0b-8a6e-5b2d9f1c7e30")

_ARM_TYPES = {
    "azure-native:cognitiveservices:Account": ("Microsoft.CognitiveServices/accounts", "accountName"),
    "azure-native:storage:StorageAccount": ("Microsoft.Storage/storageAccounts", "accountName"),
    "azure-native:keyvault:Vault": ("Microsoft.KeyVault/vaults", "vaultName"),
    "azure-native:operationalinsights:Workspace": ("Microsoft.OperationalInsights/workspaces", "workspaceName"),
    "azure-native:applicationinsights:Component": ("Microsoft.Insights/components", "resourceName"),
    "azure-native:machinelearningservices:Workspace": ("Microsoft.MachineLearningServices/workspaces", "workspaceName"),
}
#: Child resources of an Azure Machine Learning workspace: type -> (ARM segment, name input).
_WORKSPACE_CHILDREN = {
    "azure-native:machinelearningservices:Compute": ("computes", "computeName"),
    "azure-native:machinelearningservices:Datastore": ("datastores", "name"),
    "azure-native:machinelearningservices:OnlineEndpoint": ("onlineEndpoints", "endpointName"),
}
#: Resources with a system-assigned identity: the mocks give each a distinct principal id.
_WITH_IDENTITY = (
    "azure-native:cognitiveservices:Account",
    "azure-native:machinelearningservices:Workspace",
    "azure-native:machinelearningservices:Compute",
    "azure-native:machinelearningservices:OnlineEndpoint",
)


def principal_for(account_name: str) -> str:
    """The principal id the mocks give the system identity of the Vision account ``account_name``
    (or of the Azure Machine Learning workspace of that name)."""
    return str(uuid.uuid5(_PRINCIPALS, account_name))


def child_principal_for(workspace_name: str, child_name: str) -> str:
    """The principal id the mocks give a compute cluster or endpoint ``child_name`` of a workspace."""
    return str(uuid.uuid5(_PRINCIPALS, f"{workspace_name}/{child_name}"))


@dataclass
class Recorded:
    typ: str
    name: str
    inputs: dict[str, Any]
    id: str


@dataclass
class AzureMocks(pulumi.runtime.Mocks):
    resources: dict[str, Recorded] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        outputs = dict(inputs)
        rg = inputs.get("resourceGroupName")
        base = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{rg}"
        if args.typ == "azure-native:resources:ResourceGroup":
            name = inputs["resourceGroupName"]
            arm_id = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{name}"
        elif args.typ in _ARM_TYPES:
            provider, key = _ARM_TYPES[args.typ]
            name = inputs[key]
            arm_id = f"{base}/providers/{provider}/{name}"
        elif args.typ == "azure-native:storage:BlobServiceProperties":
            name = "default"
            arm_id = f"{base}/providers/Microsoft.Storage/storageAccounts/{inputs['accountName']}/blobServices/default"
        elif args.typ == "azure-native:storage:BlobContainer":
            name = inputs["containerName"]
            arm_id = (
                f"{base}/providers/Microsoft.Storage/storageAccounts/{inputs['accountName']}"
                f"/blobServices/default/containers/{name}"
            )
        elif args.typ in _WORKSPACE_CHILDREN:
            segment, key = _WORKSPACE_CHILDREN[args.typ]
            name = inputs[key]
            arm_id = f"{base}/providers/Microsoft.MachineLearningServices/workspaces/{inputs['workspaceName']}/{segment}/{name}"
        elif args.typ == "azure-native:authorization:RoleAssignment":
            name = inputs["roleAssignmentName"]
            arm_id = f"{inputs['scope']}/providers/Microsoft.Authorization/roleAssignments/{name}"
        else:
            raise AssertionError(f"the mocks do not know resource type {args.typ}")
        outputs["name"] = name
        if args.typ in _WITH_IDENTITY:
            workspace = inputs["workspaceName"] if args.typ in _WORKSPACE_CHILDREN else None
            outputs["identity"] = {
                **inputs["identity"],
                "principalId": child_principal_for(workspace, name) if workspace else principal_for(name),
                "tenantId": TENANT,
            }
        if args.typ == "azure-native:cognitiveservices:Account":
            sub = inputs["properties"]["customSubDomainName"]
            outputs["properties"] = {**inputs["properties"], "endpoint": f"https://{sub}.cognitiveservices.azure.com/"}
        if args.typ == "azure-native:storage:StorageAccount":
            outputs["primaryEndpoints"] = {"blob": f"https://{name}.blob.core.windows.net/"}
        self.resources[args.name] = Recorded(args.typ, name, inputs, arm_id)
        return arm_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.calls.append((args.token, dict(args.args)))
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "subscriptionId": SUBSCRIPTION,
                "tenantId": TENANT,
                "clientId": "c1c1c1c1-0000-4000-8000-000000000001",
                "objectId": "0b0b0b0b-0000-4000-8000-000000000002",
            }
        if args.token == "azure-native:resources:getResourceGroup":
            name = args.args["resourceGroupName"]
            return {
                "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{name}",
                "name": name,
                "location": "westus2",
                "type": "Microsoft.Resources/resourceGroups",
                "properties": {"provisioningState": "Succeeded"},
            }
        raise AssertionError(f"the mocks do not know invoke {args.token}")

    def inputs(self, logical_name: str) -> dict[str, Any]:
        """The inputs the program sent for resource ``logical_name`` (wire names, camelCase)."""
        return self.resources[logical_name].inputs


@dataclass
class Deployed:
    stack: VisionStack
    mocks: AzureMocks

    def settled(self) -> pulumi.Output[list[Any]]:
        """Resolves once every resource has been registered with the mocks."""
        s = self.stack
        ids = [s.vision.id, s.storage_account.id, s.blob_service.id, s.container.id]
        ids += [s.vision_blob_access.id, s.ci_vision_access.id, s.ci_blob_access.id]
        if s.resource_group is not None:
            ids.append(s.resource_group.id)
        return pulumi.Output.all(*ids)


def deploy(config: InfraConfig, *, stack: str = "test") -> Deployed:
    """Declare ``config``'s stack against fresh mocks (call inside a ``@pulumi.runtime.test`` test)."""
    mocks = AzureMocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)
    return Deployed(build_stack(config), mocks)


def dev_config() -> InfraConfig:
    return InfraConfig.from_stack_file(DEV_FILE)


def prod_config() -> InfraConfig:
    return InfraConfig.from_stack_file(PROD_FILE)


def run_deploy(config: InfraConfig, *, stack: str = "test") -> AzureMocks:
    """Deploy ``config`` against fresh mocks, wait for every resource, and return the mocks.

    For tests that compare several deployments: each runs to completion in its own
    ``@pulumi.runtime.test`` session, so plain assertions can follow.
    """
    return _run_to_completion(lambda: deploy(config, stack=stack))


def _run_to_completion(declare: Callable[[], Deployed | DeployedAzureML]) -> AzureMocks:
    result: list[AzureMocks] = []

    @pulumi.runtime.test
    def session() -> pulumi.Output:
        deployed = declare()
        return deployed.settled().apply(lambda _: result.append(deployed.mocks))

    session()
    if len(result) != 1:
        raise AssertionError("the mocked deployment did not complete")
    return result[0]


def checked(deployed: Deployed | DeployedAzureML, check: Callable[[Any], None]) -> pulumi.Output:
    """Run ``check(deployed)`` once every resource is registered; a failing assertion fails the test."""
    return deployed.settled().apply(lambda _: check(deployed))


def role_definition_id(guid: str) -> str:
    """The full role-definition id of a built-in role in the mocked subscription."""
    return f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{guid}"


def run_main(monkeypatch: Any, config: dict[str, str], *, stack: str = "main") -> tuple[AzureMocks, dict]:
    """Run the real entry point (infra/__main__.py) as the Pulumi CLI does, with ``config`` as the
    stack's config; return the mocks and the resolved exports."""
    from pulumi.runtime import config as runtime_config

    exported: dict[str, pulumi.Output] = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: exported.__setitem__(name, value))
    mocks = AzureMocks()
    resolved: dict[str, str] = {}

    @pulumi.runtime.test
    def session():
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)
        runtime_config.set_all_config(config)
        runpy.run_path(str(ROOT / "infra"), run_name="__main__")
        return pulumi.Output.all(**exported).apply(resolved.update)

    try:
        session()
    finally:
        runtime_config.set_all_config({})
    return mocks, resolved


# --- azureml stacks --------------------------------------------------------------------------------


@dataclass
class DeployedAzureML:
    stack: AzureMLStack
    mocks: AzureMocks

    def settled(self) -> pulumi.Output[list[Any]]:
        """Resolves once every resource has been registered with the mocks."""
        return pulumi.Output.all(*(r.id for r in self.stack.all_resources()))


def deploy_azureml(config: AzureMLConfig, *, stack: str = "test") -> DeployedAzureML:
    """Declare an azureml stack against fresh mocks (call inside a ``@pulumi.runtime.test`` test)."""
    mocks = AzureMocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)
    return DeployedAzureML(build_azureml_stack(config), mocks)


def azureml_dev_config() -> AzureMLConfig:
    config = load_stack_file(AZUREML_DEV_FILE)
    assert isinstance(config, AzureMLConfig)
    return config


def azureml_prod_config() -> AzureMLConfig:
    config = load_stack_file(AZUREML_PROD_FILE)
    assert isinstance(config, AzureMLConfig)
    return config


def run_deploy_azureml(config: AzureMLConfig, *, stack: str = "test") -> AzureMocks:
    """Like :func:`run_deploy`, for an azureml stack."""
    return _run_to_completion(lambda: deploy_azureml(config, stack=stack))
