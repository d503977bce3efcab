"""The project config: ``vision-gitops.yaml`` at the repo root.

One file selects, per environment (``local``, ``dev``, ``prod``, ...), the
endpoint, api-version, auth and blob storage, plus the specs paths, client
limits and apply guardrails. Top-level settings apply to every environment; an
environment may override them. ``endpoint: embedded`` means the bundled emulator;
an environment ``local`` using it exists even when the file does not define it.

Secrets never live in this file: a key is read from the environment variable
named by ``auth.keyEnv``, and ``auth: {kind: entra}`` uses Microsoft Entra ID
(the client builds ``DefaultAzureCredential``; this package imports nothing from
Azure). Keys and values that look like secrets are rejected.

Endpoint and storage may come from a ``pulumi stack output --json`` file
(``stackOutputs:``); values written in the config win over it.

:func:`load_config` raises :class:`~reconcile.errors.ConfigError` listing every
problem as ``file:line: field.path: message``.

This module is the façade: import the names below from here. Its modules, all
internal, by concern (they are bound eagerly: loading needs every one of them):

- :mod:`.files`         -- the file as written (``ProjectFile``, ``EnvironmentFile``, ...).
- :mod:`.resolved`      -- the resolved environment the rest of the code reads (``EnvironmentConfig``).
- :mod:`.secret_scan`   -- refusing keys and values that look like secrets.
- :mod:`.rules`         -- cross-field rules and paths kept inside the repository.
- :mod:`.urls`          -- endpoint and storage account URL checks.
- :mod:`.environments`  -- selecting (``--env``, ``VISION_GITOPS_ENV``, default) and resolving one environment.
- :mod:`.stack_outputs` -- reading ``pulumi stack output --json``.
- :mod:`.load`          -- :func:`find_config` and :func:`load_config`, the steps in order.

Defaults live in :mod:`reconcile.defaults`, input size limits in :mod:`reconcile.limits`.
"""

from __future__ import annotations

from reconcile.specs.config.environments import ENTRA_SCOPE, ENV_VAR
from reconcile.specs.config.files import (
    CONFIG_FILE_NAME,
    EMBEDDED,
    LOCAL,
    LOCAL_AZUREML,
    AuthFile,
    EnvironmentFile,
    GuardrailsFile,
    ProjectFile,
    StorageFile,
)
from reconcile.specs.config.load import find_config, load_config
from reconcile.specs.config.resolved import AuthConfig, EnvironmentConfig, Guardrails, StorageConfig
from reconcile.specs.config.stack_outputs import STACK_OUTPUT_KEYS, VisionStackOutputs, read_stack_outputs

_INTERNAL = ("environments", "files", "load", "resolved", "rules", "secret_scan", "stack_outputs", "urls")

__all__ = [
    "CONFIG_FILE_NAME",
    "EMBEDDED",
    "ENTRA_SCOPE",
    "ENV_VAR",
    "LOCAL",
    "LOCAL_AZUREML",
    "STACK_OUTPUT_KEYS",
    "AuthConfig",
    "AuthFile",
    "EnvironmentConfig",
    "EnvironmentFile",
    "Guardrails",
    "GuardrailsFile",
    "ProjectFile",
    "StorageConfig",
    "StorageFile",
    "VisionStackOutputs",
    "find_config",
    "load_config",
    "read_stack_outputs",
]
