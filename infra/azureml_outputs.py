"""The outputs of an azureml stack: the contract a ``service: azureml`` reconciler environment reads.

``pulumi stack output --json`` of an azureml stack is a JSON object with exactly the keys of
:data:`AZUREML_OUTPUT_KEYS` (every value a non-empty string) plus, only when the stack declares an
online endpoint, :data:`AZUREML_OPTIONAL_OUTPUT_KEYS`. Nothing secret is exported: the datastore is
identity-based, so there is no key, SAS or connection string to leak.

The reconciler's azureml config (issue 12, ``reconcile/``) is the consumer; it must read these
names. ``tests/infra/test_azureml_outputs.py`` spells them out so a rename here breaks a test.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Final

from infra.outputs import camel, container_url

if TYPE_CHECKING:  # pulumi is imported lazily so that AzureMLStackOutputs stays usable without it
    import pulumi

    from infra.azureml_stack import AzureMLStack


@dataclass(frozen=True, slots=True)
class AzureMLStackOutputs:
    """Resolved outputs of an azureml stack (attribute ``workspace_name`` <-> JSON key ``workspaceName``)."""

    subscription_id: str
    """The subscription the workspace lives in (the ARM path's first segment)."""
    resource_group_name: str
    workspace_name: str
    location: str
    """Programmatic region name, e.g. ``westeurope``; online endpoints and LRO status URLs use it."""
    compute_name: str
    """The GPU cluster AutoML jobs run on (``computeId`` = ``<workspace id>/computes/<computeName>``)."""
    datastore_name: str
    """The identity-based datastore of the container (``azureml://datastores/<datastoreName>/paths/...``)."""
    container_url: str
    """``https://<account>.blob.core.windows.net/<container>`` (no trailing slash): where images and labels go."""
    endpoint_name: str | None = None
    """The managed online endpoint (Entra ID auth) when the stack declares one; absent from the JSON otherwise."""

    def to_json_dict(self) -> dict[str, str]:
        """The outputs keyed as exported (camelCase); ``endpointName`` only when there is an endpoint."""
        return {camel(f.name): getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> "AzureMLStackOutputs":
        """Parse what :meth:`to_json_dict` produced. Raises ``ValueError`` naming missing, empty or extra keys."""
        missing = [k for k in AZUREML_OUTPUT_KEYS if not isinstance(data.get(k), str) or not data.get(k)]
        missing += [k for k in AZUREML_OPTIONAL_OUTPUT_KEYS if k in data and (not isinstance(data[k], str) or not data[k])]
        extra = sorted(set(data) - set(AZUREML_OUTPUT_KEYS) - set(AZUREML_OPTIONAL_OUTPUT_KEYS))
        if missing or extra:
            raise ValueError(f"azureml stack outputs: missing or empty keys {missing}, unexpected keys {extra}")
        return cls(**{f.name: data.get(camel(f.name)) for f in fields(cls)})


#: Keys every azureml stack exports, in declaration order.
AZUREML_OUTPUT_KEYS: Final = tuple(camel(f.name) for f in fields(AzureMLStackOutputs) if f.name != "endpoint_name")
#: Keys exported only when the resource exists.
AZUREML_OPTIONAL_OUTPUT_KEYS: Final = ("endpointName",)


def azureml_stack_outputs(stack: "AzureMLStack") -> "dict[str, pulumi.Output[str]]":
    """The stack's outputs as Pulumi Outputs, keyed like :data:`AZUREML_OUTPUT_KEYS` (+ ``endpointName``).

    Names come from the resources' own outputs, so an output appears only once its resource exists;
    the datastore's name is taken after its identity role exists (it is declared after it).
    """
    import pulumi

    blob_endpoint = stack.storage_account.primary_endpoints.apply(lambda e: e.blob)
    values: dict[str, pulumi.Output[str]] = {
        "subscriptionId": stack.subscription_id,
        "resourceGroupName": stack.resource_group_name,
        "workspaceName": stack.workspace.name,
        "location": pulumi.Output.from_input(stack.config.location),
        "computeName": stack.compute.name,
        "datastoreName": stack.datastore.name,
        "containerUrl": pulumi.Output.all(blob_endpoint, stack.container.name).apply(
            lambda parts: container_url(parts[0], parts[1])
        ),
    }
    if stack.endpoint is not None:
        values["endpointName"] = stack.endpoint.name
    return values


def resolved_azureml_outputs(stack: "AzureMLStack") -> "pulumi.Output[AzureMLStackOutputs]":
    """All outputs resolved into one :class:`AzureMLStackOutputs` (for tests and tooling)."""
    import pulumi

    values = azureml_stack_outputs(stack)
    return pulumi.Output.all(*values.values()).apply(
        lambda resolved: AzureMLStackOutputs.from_json_dict(dict(zip(values, resolved)))
    )


def export_azureml_outputs(stack: "AzureMLStack") -> None:
    """``pulumi.export`` every output of :func:`azureml_stack_outputs`."""
    import pulumi

    for key, value in azureml_stack_outputs(stack).items():
        pulumi.export(key, value)
