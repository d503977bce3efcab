"""Choosing one environment of the project config and resolving it.

Selection order: ``--env``, then the ``VISION_GITOPS_ENV`` variable, then the
file's ``defaultEnvironment``. Resolution applies, per setting, the environment's
own value, else the top-level value, else the default of :mod:`reconcile.defaults`;
endpoint and storage written in the file win over the stack outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reconcile import defaults, safepath
from reconcile.api import versions
from reconcile.specs.config.files import EMBEDDED, LOCAL, LOCAL_AZUREML, EnvironmentFile, ProjectFile, StorageFile
from reconcile.specs.config.resolved import AuthConfig, EnvironmentConfig, Guardrails, StorageConfig
from reconcile.specs.config.stack_outputs import VisionStackOutputs, read_stack_outputs
from reconcile.specs.config.urls import endpoint_problem
from reconcile.specs.problems import Problems, closest, field_path, known_names_text
from reconcile.specs.yamlsrc import Lines

__all__ = ["ENTRA_SCOPE", "ENV_VAR", "resolve", "select"]

ENV_VAR = "VISION_GITOPS_ENV"
"""The environment variable naming the environment when --env does not."""
ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"
"""The Entra ID token scope of a Vision endpoint."""


def select(
    project: ProjectFile, environment: str | None, env: Mapping[str, str], lines: Lines, display: str, problems: Problems
) -> str | None:
    """The name of the environment to use, or None after adding the problem (naming where the choice came from)."""
    names = set(project.environments) | {LOCAL, LOCAL_AZUREML}
    if environment is not None:
        chosen, source = environment, "--env"
    elif env.get(ENV_VAR):
        chosen, source = env[ENV_VAR], f"environment variable {ENV_VAR}"
    else:
        chosen, source = project.default_environment, "defaultEnvironment"
    if chosen in names:
        return chosen
    message = f"no environment {chosen!r} (from {source})"
    guess = closest(chosen, names)
    if guess:
        message += f"; did you mean {guess!r}?"
    line = lines.line_of(("defaultEnvironment",)) if source == "defaultEnvironment" else lines.line_of(("environments",))
    problems.add(display, line, "defaultEnvironment" if source == "defaultEnvironment" else "environments",
                 f"{message} ({known_names_text(names)}); pick one of them or add it under 'environments'")
    return None


def resolve(
    project: ProjectFile, name: str, root: Path, path: Path, lines: Lines, display: str, problems: Problems
) -> EnvironmentConfig | None:
    """Environment ``name`` with every default and stack output applied, or None after adding the problems.

    ``project`` has passed :mod:`reconcile.specs.config.rules`; only this
    environment's stack-outputs file is read.
    """
    e = project.environments.get(name) or EnvironmentFile(
        endpoint=EMBEDDED, service="azureml" if name == LOCAL_AZUREML else None)
    base = ("environments", name)
    embedded = e.endpoint == EMBEDDED

    def pick(field: str, default: Any) -> Any:
        own = getattr(e, field)
        if own is not None:
            return own
        top = getattr(project, field)
        return default if top is None else top

    if e.service == "azureml":
        return _resolve_azureml(project, e, name, root, path, lines, display, problems, pick)

    stack: VisionStackOutputs | None = None
    if e.stack_outputs is not None:
        at = base + ("stackOutputs",)
        stack = read_stack_outputs(
            root / e.stack_outputs, root, problems, referrer=(display, lines.line_of(at), field_path(at))
        )
        if stack is None:
            return None

    if embedded:
        endpoint = EMBEDDED
        auth = AuthConfig(kind="none")
    else:
        endpoint = (e.endpoint or (stack.vision_endpoint if stack else "")).rstrip("/")
        if e.endpoint is None and stack is not None and (p := endpoint_problem(endpoint)) is not None:
            problems.add(display, lines.line_of(base + ("stackOutputs",)), field_path(base + ("stackOutputs",)), f"visionEndpoint in the stack outputs: {p}")
            return None
        assert e.auth is not None  # rules.check_environment insists
        auth = AuthConfig(
            kind=e.auth.kind,
            key_env=(e.auth.key_env or defaults.KEY_ENV) if e.auth.kind == "key" else None,
            scope=ENTRA_SCOPE if e.auth.kind == "entra" else None,
        )

    storage = _resolve_storage(e.storage, stack, embedded, root)
    if storage is None:
        problems.add(display, lines.line_of(base + ("storage",)), field_path(base + ("storage",)),
                     "storage kind azure needs accountUrl and container (or a stackOutputs file that has them)")
        return None

    state_dir = root / (e.state_dir or (defaults.STATE_DIR if embedded else f"{defaults.STATE_DIR}/{name}"))
    return EnvironmentConfig(
        name=name,
        root=root,
        config_file=path,
        endpoint=endpoint,
        is_embedded=embedded,
        api_version=pick("api_version", versions.DEFAULT_API_VERSION),
        auth=auth,
        storage=storage,
        specs=[root / p for p in pick("specs", list(defaults.SPECS))],
        state_dir=state_dir,
        emulator_speed=e.emulator_speed if e.emulator_speed is not None else defaults.EMULATOR_SPEED,
        rate_limit_tps=pick("rate_limit_tps", defaults.RATE_LIMIT_TPS),
        max_concurrency=pick("max_concurrency", defaults.MAX_CONCURRENCY),
        timeout_seconds=pick("timeout_seconds", defaults.TIMEOUT_SECONDS),
        max_retries=pick("max_retries", defaults.MAX_RETRIES),
        guardrails=_resolve_guardrails(project, e),
        stack_outputs=stack,
    )


def _resolve_azureml(
    project: ProjectFile, e: EnvironmentFile, name: str, root: Path, path: Path, lines: Lines, display: str,
    problems: Problems, pick: Any,
) -> EnvironmentConfig | None:
    """A ``service: azureml`` environment: the workspace from the stack outputs, Entra ID on Resource Manager.

    The datastore's container is where apply uploads (images, label files, MLTable folders);
    written ``storage:`` wins, for Azurite in tests.
    """
    from reconcile.backends.azureml.target import API_VERSION, ARM_ENDPOINT, ARM_SCOPE, load_target
    from reconcile.errors import ConfigError

    base = ("environments", name)
    embedded = e.endpoint == EMBEDDED
    target = None
    if e.stack_outputs is not None:
        at = base + ("stackOutputs",)
        file = root / e.stack_outputs
        rel = e.stack_outputs
        if safepath.within(file, [root]) is None or not file.is_file():
            problems.add(display, lines.line_of(at), field_path(at),
                         f"stack outputs file {rel} not found (or outside the repository); with the environment's "
                         f"stack selected, run `pulumi -C infra stack output --json > {rel}`")
            return None
        try:
            target = load_target(file, shown=rel, arm_endpoint=(e.endpoint or ARM_ENDPOINT).rstrip("/"))
        except ConfigError as err:
            problems.add(display, lines.line_of(at), field_path(at), str(err.message))
            return None
    if embedded:
        # The session starts Azurite for the datastore; the inventory stays in a local file.
        auth = AuthConfig(kind="none")
        storage = StorageConfig(kind="local", path=root / defaults.LOCAL_BLOBS)
    else:
        assert target is not None  # rules.check_environment insists on stackOutputs
        auth = AuthConfig(kind="entra", scope=ARM_SCOPE)
        if e.storage is not None:
            storage = _resolve_storage(e.storage, None, False, root)
        else:
            account_url, _, container = target.container_url.rpartition("/")
            storage = StorageConfig(kind="azure", account_url=account_url, container=container)
        if storage is None:
            problems.add(display, lines.line_of(base + ("storage",)), field_path(base + ("storage",)),
                         "storage kind azure needs accountUrl and container")
            return None
    state_dir = root / (e.state_dir or f"{defaults.STATE_DIR}/{name}")
    return EnvironmentConfig(
        name=name, root=root, config_file=path,
        endpoint=EMBEDDED if embedded else (target.arm_endpoint if target else ARM_ENDPOINT),
        is_embedded=embedded, api_version=API_VERSION, auth=auth, storage=storage,
        specs=[root / p for p in pick("specs", list(defaults.SPECS))], state_dir=state_dir,
        emulator_speed=e.emulator_speed if e.emulator_speed is not None else defaults.EMULATOR_SPEED,
        rate_limit_tps=pick("rate_limit_tps", defaults.RATE_LIMIT_TPS),
        max_concurrency=pick("max_concurrency", defaults.MAX_CONCURRENCY),
        timeout_seconds=pick("timeout_seconds", defaults.TIMEOUT_SECONDS),
        max_retries=pick("max_retries", defaults.MAX_RETRIES),
        guardrails=_resolve_guardrails(project, e), service="azureml", azureml=target,
    )


def _resolve_guardrails(project: ProjectFile, e: EnvironmentFile) -> Guardrails:
    """Each guardrail the environment gives (even ``null``) wins over the top-level one."""
    own = e.guardrails
    given = own.model_fields_set if own is not None else set()
    return Guardrails(**{f: getattr(own if f in given else project.guardrails, f) for f in Guardrails.model_fields})


def _resolve_storage(
    s: StorageFile | None, stack: VisionStackOutputs | None, embedded: bool, root: Path
) -> StorageConfig | None:
    if s is None:
        if embedded:
            return StorageConfig(kind="local", path=root / defaults.LOCAL_BLOBS)
        assert stack is not None  # rules.check_environment insists on storage or stack outputs
        s = StorageFile(kind="azure")
    if s.kind == "local":
        return StorageConfig(kind="local", path=root / (s.path or defaults.LOCAL_BLOBS))
    if s.kind == "azurite":
        return StorageConfig(
            kind="azurite",
            connection_string_env=s.connection_string_env or defaults.CONNECTION_STRING_ENV,
            container=s.container or defaults.CONTAINER,
        )
    account_url = s.account_url or (stack.blob_endpoint if stack else None)
    container = s.container or (stack.container_name if stack else None)
    if not account_url or not container:
        return None
    return StorageConfig(kind="azure", account_url=account_url.rstrip("/"), container=container)
