"""Where an Azure ML environment points: the workspace coordinates, typed, and how they are read.

:class:`AzureMLTarget` is what a ``service: azureml`` environment resolves to and what the
backend and its client are built from. Its coordinates come from the Pulumi stack outputs
file (``pulumi stack output --json``); this module restates that file's keys instead of
importing ``infra/`` (the reconciler never imports Pulumi), and
``tests/backends/azureml/test_target.py`` compares both lists so a rename breaks a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Mapping
from urllib.parse import quote, urlsplit

from reconcile import bounded, safejson
from reconcile.errors import ConfigError, InputError
from reconcile.limits import STACK_OUTPUTS_BYTES

#: The one api-version this backend sends (REFERENCE §0: the stable schema we hold exactly).
API_VERSION: Final = "2024-04-01"
#: The Entra ID scope of Azure Resource Manager (REFERENCE §1.1).
ARM_SCOPE: Final = "https://management.azure.com/.default"
#: Public Azure's Resource Manager.
ARM_ENDPOINT: Final = "https://management.azure.com"

#: Keys every azureml stack exports (infra/azureml_outputs.py ``AZUREML_OUTPUT_KEYS``), restated.
STACK_OUTPUT_KEYS: Final = (
    "subscriptionId",
    "resourceGroupName",
    "workspaceName",
    "location",
    "computeName",
    "datastoreName",
    "containerUrl",
)
#: Keys exported only when the resource exists (``AZUREML_OPTIONAL_OUTPUT_KEYS``).
OPTIONAL_STACK_OUTPUT_KEYS: Final = ("endpointName",)


@dataclass(frozen=True, slots=True)
class AzureMLTarget:
    """One Azure ML workspace and what the reconciler uses in it."""

    subscription_id: str
    resource_group: str
    workspace: str
    location: str
    compute: str
    """The AutoML training cluster (``computeId`` = ``<workspace id>/computes/<compute>``)."""
    datastore: str
    """The datastore of :attr:`container_url` (``azureml://datastores/<datastore>/paths/...``)."""
    container_url: str
    """Where images, JSONL and MLTable files are uploaded (no trailing slash)."""
    endpoint_name: str | None = None
    arm_endpoint: str = ARM_ENDPOINT
    """Resource Manager's base URL (the emulator's ``https://127.0.0.1:PORT`` in tests)."""

    @property
    def workspace_id(self) -> str:
        """The workspace's ARM id (every request path starts with it)."""
        return (
            f"/subscriptions/{quote(self.subscription_id, safe='')}/resourceGroups/{quote(self.resource_group, safe='')}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{quote(self.workspace, safe='')}"
        )

    @property
    def workspace_url(self) -> str:
        return self.arm_endpoint.rstrip("/") + self.workspace_id

    @property
    def compute_id(self) -> str:
        return f"{self.workspace_id}/computes/{quote(self.compute, safe='')}"

    def datastore_uri(self, blob_path: str) -> str:
        """The ``azureml://`` URI AutoML reads ``blob_path`` (relative to the container) by."""
        return f"azureml://datastores/{self.datastore}/paths/{blob_path.lstrip('/')}"

    def data_version_id(self, name: str, version: str) -> str:
        return f"{self.workspace_id}/data/{quote(name, safe='')}/versions/{quote(version, safe='')}"


def target_from_outputs(
    outputs: Mapping[str, Any], *, shown: str, arm_endpoint: str = ARM_ENDPOINT
) -> AzureMLTarget:
    """Build the target from a parsed outputs object.

    Raises :class:`ConfigError` naming ``shown`` and every missing, empty or unexpected key.
    """
    if not isinstance(outputs, Mapping):
        raise ConfigError(f"{shown}: the stack outputs are not a JSON object",
                          hint="write it with `pulumi stack output --json > FILE` on an azureml stack")
    missing = [k for k in STACK_OUTPUT_KEYS if not isinstance(outputs.get(k), str) or not outputs[k].strip()]
    missing += [k for k in OPTIONAL_STACK_OUTPUT_KEYS
                if k in outputs and (not isinstance(outputs[k], str) or not outputs[k].strip())]
    extra = sorted(set(outputs) - set(STACK_OUTPUT_KEYS) - set(OPTIONAL_STACK_OUTPUT_KEYS))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing or empty: {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected: {', '.join(extra)}")
        raise ConfigError(
            f"{shown}: not the outputs of an azureml stack ({'; '.join(parts)})",
            hint="regenerate it with `pulumi stack output --json` on a stack whose `service` is azureml",
        )
    url = outputs["containerUrl"].rstrip("/")
    if urlsplit(url).scheme not in ("https", "http") or not urlsplit(url).netloc:
        raise ConfigError(f"{shown}: containerUrl {url!r} is not an http(s) URL",
                          hint="it should look like https://<account>.blob.core.windows.net/<container>")
    return AzureMLTarget(
        subscription_id=outputs["subscriptionId"],
        resource_group=outputs["resourceGroupName"],
        workspace=outputs["workspaceName"],
        location=outputs["location"],
        compute=outputs["computeName"],
        datastore=outputs["datastoreName"],
        container_url=url,
        endpoint_name=outputs.get("endpointName"),
        arm_endpoint=arm_endpoint,
    )


def load_target(path: Path, *, shown: str | None = None, arm_endpoint: str = ARM_ENDPOINT) -> AzureMLTarget:
    """Read a stack outputs file (bounded, depth-limited) into a target.

    Raises :class:`ConfigError` for a missing, oversized or malformed file, naming it.
    """
    display = shown or str(path)
    try:
        raw = bounded.read_file(path, STACK_OUTPUTS_BYTES, display)
        data = safejson.loads(raw, limit=STACK_OUTPUTS_BYTES, shown=display)
    except InputError as err:
        raise ConfigError(f"{display}: {err.message}",
                          hint="regenerate it with `pulumi stack output --json`") from None
    return target_from_outputs(data, shown=display, arm_endpoint=arm_endpoint)
