"""Cross-field rules of the project config, each reported at the field to change.

The models of :mod:`reconcile.specs.config.files` check one field at a time;
these rules check fields against each other (an embedded endpoint takes no
auth, a real one needs credentials and storage, storage kinds take their own
fields) and keep every path inside the repository.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconcile import defaults, safepath
from reconcile.specs.config.files import EMBEDDED, EnvironmentFile, ProjectFile, StorageFile
from reconcile.specs.config.secret_scan import REDACTED
from reconcile.specs.config.urls import (
    account_url_problem,
    arm_endpoint_problem,
    endpoint_problem,
    is_loopback,
    is_regional,
)
from reconcile.specs.problems import Problems, field_path
from reconcile.specs.yamlsrc import Lines

__all__ = ["check_environment", "check_paths", "to_snake"]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_CONTAINER_NAME = re.compile(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]")

_Add = Callable[[tuple[Any, ...], str], None]


def to_snake(camel: str) -> str:
    """``stackOutputs`` -> ``stack_outputs`` (the file's key -> the model's field)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


def check_environment(name: str, e: EnvironmentFile, lines: Lines, display: str, problems: Problems) -> None:
    """Cross-field rules of one environment, each reported at the field to change."""
    base = ("environments", name)

    def add(loc: tuple[Any, ...], message: str) -> None:
        problems.add(display, lines.line_of(base + loc), field_path(base + loc), message)

    if not _ENVIRONMENT_NAME.match(name):
        add((), "environment names use lowercase letters, digits and '-' (e.g. dev, prod); rename it")
    embedded = e.endpoint == EMBEDDED
    azureml = e.service == "azureml"
    if azureml and not embedded and e.stack_outputs is None:
        add((), "a service: azureml environment takes its workspace from 'stackOutputs: <file>' "
                "(pulumi stack output --json of an azureml stack), or use 'endpoint: embedded'")
    if e.endpoint is not None and not embedded:
        if (p := (arm_endpoint_problem(e.endpoint) if azureml else endpoint_problem(e.endpoint))) is not None:
            add(("endpoint",), p)
    if e.endpoint is None and e.stack_outputs is None:
        add((), f"no endpoint: set 'endpoint: {EMBEDDED}' (the bundled emulator), an https:// endpoint, or 'stackOutputs: <file>'")
    if embedded:
        if e.stack_outputs is not None:
            add(("stackOutputs",), "an embedded environment takes nothing from stack outputs; remove stackOutputs")
        if e.auth is not None and e.auth.kind != "none":
            add(("auth", "kind"), "the embedded emulator needs no credentials; remove 'auth'")
    else:
        if e.emulator_speed is not None:
            add(("emulatorSpeed",), f"emulatorSpeed is only for 'endpoint: {EMBEDDED}'; remove it")
        if e.auth is None:
            add((), "add 'auth: {kind: entra}' (Microsoft Entra ID) or 'auth: {kind: key, keyEnv: VISION_KEY}'")
        elif e.auth.kind == "none":
            add(("auth", "kind"), "a real endpoint needs credentials: use kind entra, or kind key with keyEnv")
        if e.storage is None and e.stack_outputs is None:
            add((), "add 'storage:' (where apply uploads label files), e.g. {kind: azure, accountUrl: https://<account>.blob.core.windows.net, container: datasets}, or 'stackOutputs: <file>'")
        if e.storage is not None and e.storage.kind == "local" and not is_loopback(e.endpoint):
            # An emulator on this machine reads file:// URIs; the real service cannot.
            add(("storage", "kind"), "the real service cannot read a local folder; use kind azure (or azurite for tests)")
        if azureml and e.auth is not None and e.auth.kind == "key":
            add(("auth", "kind"), "Azure Resource Manager takes Microsoft Entra ID only: use 'auth: {kind: entra}'")
        if not azureml and e.endpoint is not None and e.auth is not None and e.auth.kind == "entra" and is_regional(e.endpoint):
            add(("endpoint",), "Microsoft Entra ID needs the resource's custom-subdomain endpoint (https://<name>.cognitiveservices.azure.com), not a regional one")
    if e.auth is not None:
        if e.auth.kind == "key":
            key_env = e.auth.key_env or defaults.KEY_ENV
            if key_env != REDACTED and not _ENV_NAME.match(key_env):
                add(("auth", "keyEnv"), "keyEnv is the NAME of an environment variable (letters, digits, '_'), e.g. VISION_KEY")
        elif e.auth.key_env is not None:
            add(("auth", "keyEnv"), "keyEnv goes with kind key only; remove it")
    if e.storage is not None:
        _check_storage(e.storage, add)


def check_paths(project: ProjectFile, root: Path, lines: Lines, display: str, problems: Problems) -> None:
    """Every path of the file stays in the repository (:mod:`reconcile.safepath`), symlinks followed.

    Existence is checked where the path is used (specs by the loader, stack outputs
    for the selected environment); state and storage folders may not exist yet.
    """

    def check(loc: tuple[Any, ...], value: str) -> None:
        problem = safepath.text_problem(value)
        if problem is None and safepath.within(root / value, [root]) is None:
            problem = f"{value!r} points outside the repository (symlinks are followed); keep it inside"
        if problem is not None:
            problems.add(display, lines.line_of(loc), field_path(loc), problem)

    for i, spec in enumerate(project.specs or []):
        check(("specs", i), spec)
    for name, e in project.environments.items():
        base = ("environments", name)
        for i, spec in enumerate(e.specs or []):
            check(base + ("specs", i), spec)
        for field in ("stackOutputs", "stateDir"):
            if (value := getattr(e, to_snake(field))) is not None:
                check(base + (field,), value)
        if e.storage is not None and e.storage.path is not None:
            check(base + ("storage", "path"), e.storage.path)


def _check_storage(s: StorageFile, add: _Add) -> None:
    allowed = {
        "local": {"path"},
        "azurite": {"connectionStringEnv", "container"},
        "azure": {"accountUrl", "container"},
    }[s.kind]
    for field in ("path", "connectionStringEnv", "accountUrl", "container"):
        if getattr(s, to_snake(field)) is not None and field not in allowed:
            add(("storage", field), f"'{field}' does not apply to storage kind {s.kind} (it takes {', '.join(sorted(allowed))}); remove it")
    if s.connection_string_env not in (None, REDACTED) and not _ENV_NAME.match(s.connection_string_env):
        add(("storage", "connectionStringEnv"), "connectionStringEnv is the NAME of an environment variable, e.g. AZURE_STORAGE_CONNECTION_STRING")
    if s.account_url not in (None, REDACTED) and (p := account_url_problem(s.account_url)) is not None:
        add(("storage", "accountUrl"), p)
    if s.container is not None and not _CONTAINER_NAME.fullmatch(s.container):
        add(("storage", "container"), "a container name is 3-63 lowercase letters, digits and single '-', starting and ending with a letter or digit")
