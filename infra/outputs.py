"""The stack outputs the reconciler reads, and their ``pulumi stack output --json`` rendering.

Contract with ``reconcile.specs.config`` (``stackOutputs: <path>`` per environment): a JSON object
with exactly the keys of :data:`OUTPUT_KEYS`, every value a non-empty string. Nothing secret is
exported: no keys, no connection strings, no SAS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:  # pulumi is imported lazily so that StackOutputs stays usable without it
    import pulumi

    from infra.stack import VisionStack


@dataclass(frozen=True, slots=True)
class StackOutputs:
    """Resolved stack outputs (attribute ``vision_endpoint`` <-> JSON key ``visionEndpoint``)."""

    vision_endpoint: str
    """``https://<subdomain>.cognitiveservices.azure.com/`` (trailing slash)."""
    vision_account_name: str
    vision_subdomain: str
    vision_principal_id: str
    resource_group_name: str
    location: str
    storage_account_name: str
    blob_endpoint: str
    """``https://<account>.blob.core.windows.net/`` as ARM reports it (trailing slash)."""
    container_name: str
    container_url: str
    """``<blobEndpoint><containerName>`` (no trailing slash)."""
    ci_principal_id: str

    def to_json_dict(self) -> dict[str, str]:
        """The outputs keyed as exported (camelCase)."""
        return {camel(f.name): getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> "StackOutputs":
        """Parse what :meth:`to_json_dict` produced. Raises ``ValueError`` naming missing or extra keys."""
        missing = [k for k in OUTPUT_KEYS if not isinstance(data.get(k), str) or not data.get(k)]
        extra = sorted(set(data) - set(OUTPUT_KEYS))
        if missing or extra:
            raise ValueError(f"stack outputs: missing or empty keys {missing}, unexpected keys {extra}")
        return cls(**{f.name: data[camel(f.name)] for f in fields(cls)})


def camel(snake: str) -> str:
    """``workspace_name`` -> ``workspaceName`` (attribute name -> exported key)."""
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


#: The exported keys, in declaration order.
OUTPUT_KEYS: Final = tuple(camel(f.name) for f in fields(StackOutputs))


def vision_endpoint(subdomain: str) -> str:
    """The Entra-ID-capable endpoint of a Vision account with this custom subdomain."""
    return f"https://{subdomain}.cognitiveservices.azure.com/"


def container_url(blob_endpoint: str, container_name: str) -> str:
    """``https://<account>.blob.core.windows.net/<container>`` from the blob endpoint and container name."""
    return f"{blob_endpoint.rstrip('/')}/{container_name}"


class JsonOutputs(Protocol):
    """Any outputs contract: :class:`StackOutputs` (vision) or ``AzureMLStackOutputs``."""

    def to_json_dict(self) -> dict[str, str]: ...


def render_outputs_json(outputs: JsonOutputs) -> str:
    """The text ``pulumi stack output --json`` prints for these outputs (2-space indent, sorted keys)."""
    return json.dumps(outputs.to_json_dict(), indent=2, sort_keys=True) + "\n"


def write_outputs_json(outputs: JsonOutputs, path: str | Path) -> Path:
    """Write :func:`render_outputs_json` to ``path`` (parents created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_outputs_json(outputs), encoding="utf-8")
    return path


def stack_outputs(stack: "VisionStack") -> "dict[str, pulumi.Output[str]]":
    """The stack's outputs as Pulumi Outputs, keyed like :data:`OUTPUT_KEYS`.

    Values come from the resources' own outputs where Azure reports them (names, principal ids,
    endpoint), so an output only appears once the resource (or role assignment) exists.
    """
    import pulumi

    subdomain = stack.vision.properties.apply(lambda p: p.custom_sub_domain_name)
    blob_endpoint = stack.storage_account.primary_endpoints.apply(lambda e: e.blob)
    values: dict[str, pulumi.Output[str]] = {
        "visionEndpoint": subdomain.apply(vision_endpoint),
        "visionAccountName": stack.vision.name,
        "visionSubdomain": subdomain,
        "visionPrincipalId": stack.vision_blob_access.principal_id,
        "resourceGroupName": stack.resource_group_name,
        "location": pulumi.Output.from_input(stack.config.location),
        "storageAccountName": stack.storage_account.name,
        "blobEndpoint": blob_endpoint,
        "containerName": stack.container.name,
        "containerUrl": pulumi.Output.all(blob_endpoint, stack.container.name).apply(
            lambda parts: container_url(parts[0], parts[1])
        ),
        "ciPrincipalId": stack.ci_blob_access.principal_id,
    }
    return values


def resolved_outputs(stack: "VisionStack") -> "pulumi.Output[StackOutputs]":
    """All outputs resolved into one :class:`StackOutputs` (for tests and tooling)."""
    import pulumi

    values = stack_outputs(stack)
    return pulumi.Output.all(*values.values()).apply(
        lambda resolved: StackOutputs.from_json_dict(dict(zip(values, resolved)))
    )


def export_outputs(stack: "VisionStack") -> None:
    """``pulumi.export`` every output of :func:`stack_outputs`."""
    import pulumi

    for key, value in stack_outputs(stack).items():
        pulumi.export(key, value)
