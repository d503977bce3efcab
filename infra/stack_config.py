"""One entry to a stack's config, whatever service it provisions: the ``service`` key decides.

``vision-gitops:service`` is ``vision`` (the default, so existing stacks need no change) or
``azureml``. The loaders here read the raw values once, check that key, and hand the rest to the
service's own typed config (:class:`infra.config.InfraConfig` or
:class:`infra.azureml_config.AzureMLConfig`); every problem names its key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeAlias

from reconcile.errors import ConfigError

from infra.azureml_config import AzureMLConfig
from infra.config import DEFAULT_SERVICE, PROJECT, SERVICES, InfraConfig, RawConfig, read_pulumi_config, read_stack_file

StackConfig: TypeAlias = InfraConfig | AzureMLConfig


def service_of(raw: RawConfig, project: str = PROJECT) -> str:
    """The stack's service (``vision`` when unset). Raises :class:`ConfigError` naming the key otherwise."""
    value: Any = raw.service
    if value is None:
        return DEFAULT_SERVICE
    if isinstance(value, str) and value.strip().lower() in SERVICES:
        return value.strip().lower()
    raise ConfigError(
        f"invalid infrastructure config in {raw.source}",
        problems=[f"{project}:service: must be one of {', '.join(SERVICES)} (got {value!r})"],
        hint="set `pulumi config set service azureml` for an Azure Machine Learning stack; leave it unset for vision",
    )


def parse_stack_config(raw: RawConfig, project: str = PROJECT) -> StackConfig:
    """Validate ``raw`` into the config type of its service. Raises :class:`ConfigError`."""
    parser = AzureMLConfig if service_of(raw, project) == "azureml" else InfraConfig
    return parser.from_mapping(raw.values, source=raw.source, fallback_location=raw.fallback_location, project=project)


def load_stack_file(path: str | Path, project: str = PROJECT) -> StackConfig:
    """Read and validate a ``Pulumi.<stack>.yaml`` file. Raises :class:`ConfigError`."""
    return parse_stack_config(read_stack_file(path, project), project)


def load_pulumi_config(project: str = PROJECT) -> StackConfig:
    """Read and validate the current stack's config under the Pulumi runtime. Raises :class:`ConfigError`."""
    return parse_stack_config(read_pulumi_config(project), project)
