"""The resolved environment: what the rest of the reconciler reads from the project config.

Every default and stack output is applied and every path is absolute; these
models are built only by :func:`reconcile.specs.config.environments.resolve`.
They hold the NAMES of the environment variables with secrets, never a secret.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from reconcile import defaults
from reconcile.backends.azureml.target import AzureMLTarget
from reconcile.specs.config.files import AuthKind, ServiceKind, StorageKind
from reconcile.specs.config.stack_outputs import VisionStackOutputs

__all__ = ["AuthConfig", "EnvironmentConfig", "Guardrails", "StorageConfig"]


class _Resolved(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuthConfig(_Resolved):
    """Resolved auth. Holds the NAME of the key variable, never the key."""

    kind: AuthKind
    key_env: str | None = None
    scope: str | None = None
    """The Entra ID token scope (``kind: entra`` only)."""


class StorageConfig(_Resolved):
    """Resolved blob storage. ``path`` is absolute."""

    kind: StorageKind
    path: Path | None = None
    connection_string_env: str | None = None
    account_url: str | None = None
    container: str | None = None


class Guardrails(_Resolved):
    """Resolved guardrails; ``None`` means no limit."""

    max_budget_hours_per_model: int | None = defaults.MAX_BUDGET_HOURS_PER_MODEL
    max_budget_hours_per_apply: int | None = defaults.MAX_BUDGET_HOURS_PER_APPLY
    max_deletions: int | None = defaults.MAX_DELETIONS
    max_instance_hours_per_day: int | None = defaults.MAX_INSTANCE_HOURS_PER_DAY


class EnvironmentConfig(_Resolved):
    """One environment with every default and stack output applied. Paths are absolute."""

    name: str
    root: Path
    """The repo root (the folder holding vision-gitops.yaml)."""
    config_file: Path | None = None
    endpoint: str
    """``embedded`` or the endpoint URL without a trailing slash."""
    is_embedded: bool
    api_version: str
    auth: AuthConfig
    storage: StorageConfig
    specs: list[Path]
    state_dir: Path
    emulator_speed: float = defaults.EMULATOR_SPEED
    rate_limit_tps: float = defaults.RATE_LIMIT_TPS
    max_concurrency: int = defaults.MAX_CONCURRENCY
    timeout_seconds: float = defaults.TIMEOUT_SECONDS
    max_retries: int = defaults.MAX_RETRIES
    guardrails: Guardrails = Guardrails()
    stack_outputs: VisionStackOutputs | None = None
    service: ServiceKind = "vision"
    """Which service the environment reconciles: its backend is chosen by :func:`reconcile.session.open_session`."""
    azureml: AzureMLTarget | None = None
    """``service: azureml`` only: the workspace, from the stack outputs (embedded: the emulator's, set at open)."""

    @property
    def spec_limits_version(self) -> str:
        """The api-version whose spec and label-file limits the loader checks: the one sent for ``vision``;
        a service without a table of its own is held to the default one (the limits of the spec format)."""
        from reconcile.api import versions

        return self.api_version if self.service == "vision" else versions.DEFAULT_API_VERSION

    @property
    def emulator_state_dir(self) -> Path:
        """Where the embedded emulator keeps its state: ``<state_dir>/emulator``."""
        return self.state_dir / "emulator"
