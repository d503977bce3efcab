"""The project config file as written: ``vision-gitops.yaml`` (camelCase keys, unknown keys rejected).

These models check each field on its own; rules across fields live in
:mod:`reconcile.specs.config.rules`, and :mod:`reconcile.specs.config.environments`
turns the selected environment into its resolved twin
(:mod:`reconcile.specs.config.resolved`). Field docstrings become the JSON
Schema's descriptions (:mod:`reconcile.specs.schema`), so they speak to the user.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from reconcile import defaults

__all__ = [
    "CONFIG_FILE_NAME",
    "EMBEDDED",
    "LOCAL",
    "LOCAL_AZUREML",
    "ApiVersionName",
    "AuthFile",
    "AuthKind",
    "EnvironmentFile",
    "GuardrailsFile",
    "ProjectFile",
    "StorageFile",
    "StorageKind",
]

CONFIG_FILE_NAME = "vision-gitops.yaml"
EMBEDDED = "embedded"
"""The ``endpoint`` value that means the bundled emulator."""
LOCAL = "local"
#: The built-in embedded Azure ML environment (the bundled Azure ML emulator and Azurite; no account).
LOCAL_AZUREML = "local-azureml"
"""The environment that exists (embedded) even when the file does not define it."""

ApiVersionName = Literal["2023-02-01-preview", "2023-04-01-preview", "2023-07-01-preview"]
AuthKind = Literal["key", "entra", "none"]
StorageKind = Literal["local", "azurite", "azure"]
ServiceKind = Literal["vision", "azureml"]


class _File(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=True,
        use_attribute_docstrings=True,
    )


class AuthFile(_File):
    """How the reconciler authenticates to the Vision endpoint."""

    kind: AuthKind
    """``key`` (the key is read from the environment variable ``keyEnv``), ``entra`` (Microsoft Entra ID via DefaultAzureCredential) or ``none``."""
    key_env: str | None = None
    """With ``kind: key``: the NAME of the environment variable holding the key (default VISION_KEY). Never the key itself."""


class StorageFile(_File):
    """Where apply uploads local label files and images."""

    kind: StorageKind
    """``local`` (a folder: for the embedded emulator or one on 127.0.0.1), ``azurite`` (the Azurite emulator) or ``azure`` (a storage account, Entra ID)."""
    path: str | None = None
    """``local`` only: folder relative to the repo root (default .vision-gitops/blobs)."""
    connection_string_env: str | None = None
    """``azurite`` only: NAME of the environment variable with the connection string (default AZURE_STORAGE_CONNECTION_STRING)."""
    account_url: str | None = None
    """``azure`` only: ``https://<account>.blob.core.windows.net`` (default: the stack outputs' blobEndpoint)."""
    container: str | None = None
    """``azurite``/``azure``: the blob container (default: the stack outputs' containerName, else vision-gitops)."""


class GuardrailsFile(_File):
    """Limits apply enforces; ``null`` switches one off."""

    max_budget_hours_per_model: int | None = Field(default=defaults.MAX_BUDGET_HOURS_PER_MODEL, ge=1)
    """Refuse a model whose budgetHours is above this."""
    max_budget_hours_per_apply: int | None = Field(default=defaults.MAX_BUDGET_HOURS_PER_APPLY, ge=1)
    """Refuse an apply whose new models together budget more hours than this."""
    max_deletions: int | None = Field(default=defaults.MAX_DELETIONS, ge=0)
    """Refuse an apply that deletes more resources than this."""
    max_instance_hours_per_day: int | None = Field(default=defaults.MAX_INSTANCE_HOURS_PER_DAY, ge=1)
    """Refuse an apply whose new deployments add more instance-hours per day than this (billed while they exist)."""


class _Settings(_File):
    """Settings that may be given at the top level and overridden per environment."""

    specs: list[str] | None = None
    """Spec files or folders, relative to the repo root (default: [specs])."""
    api_version: ApiVersionName | None = None
    """The api-version to call and to check spec limits against (default 2023-04-01-preview)."""
    rate_limit_tps: float | None = Field(default=None, gt=0, le=1000)
    """Most requests per second sent to the endpoint (default 20, the S1 tier's limit)."""
    max_concurrency: int | None = Field(default=None, ge=1, le=64)
    """Most requests in flight at once (default 4)."""
    timeout_seconds: float | None = Field(default=None, gt=0, le=600)
    """Timeout of one HTTP request (default 30)."""
    max_retries: int | None = Field(default=None, ge=0, le=20)
    """Retries of a retryable failure (429, 5xx, timeouts) before giving up (default 5)."""


class EnvironmentFile(_Settings):
    """One environment: which service and storage to reconcile against."""

    service: ServiceKind | None = None
    """``vision`` (default: Image Analysis model customization) or ``azureml`` (Azure Machine Learning AutoML
    for images; its workspace coordinates come from ``stackOutputs``, ``endpoint`` only overrides Resource Manager's URL)."""

    endpoint: str | None = None
    """``embedded`` (the bundled emulator) or ``https://<resource>.cognitiveservices.azure.com``; default: the stack outputs' visionEndpoint."""
    stack_outputs: str | None = None
    """A ``pulumi stack output --json`` file (relative to the repo root) to take the endpoint and storage from."""
    auth: AuthFile | None = None
    """Required for a real endpoint; the embedded emulator needs none."""
    storage: StorageFile | None = None
    """Blob storage for uploads (embedded default: kind local at .vision-gitops/blobs)."""
    state_dir: str | None = None
    """Local state of this environment, relative to the repo root (default .vision-gitops for embedded, else .vision-gitops/<name>); the embedded emulator keeps its state in <stateDir>/emulator."""
    emulator_speed: float | None = Field(default=None, gt=0)
    """Embedded only: emulated seconds per real second (default 3600: one training hour per second)."""
    guardrails: GuardrailsFile | None = None
    """Overrides of the top-level guardrails (fields not given keep the top-level values)."""


class ProjectFile(_Settings):
    """The whole ``vision-gitops.yaml``."""

    default_environment: str = LOCAL
    """The environment used when neither --env nor VISION_GITOPS_ENV names one."""
    guardrails: GuardrailsFile = GuardrailsFile()
    """Limits apply enforces in every environment unless the environment overrides them."""
    environments: dict[str, EnvironmentFile] = Field(default_factory=dict)
    """Environments by name (lowercase letters, digits, '-'). ``local`` (embedded) exists unless redefined."""
