"""The project config: ``vision-gitops.yaml`` at the repo root.

One file selects, per environment (``local``, ``dev``, ``prod``, ...), the
endpoint, api-version, auth and blob storage, plus the specs paths, client
limits and apply guardrails. Top-level settings apply to every environment; an
environment may override them. ``endpoint: embedded`` means the bundled emulator;
an environment ``local`` using it exists even when the file does not define it.

Secrets never live in this file: a key is read from the environment variable
named by ``auth.keyEnv``, and ``auth: {kind: entra}`` uses Microsoft Entra ID
(the client builds ``DefaultAzureCredential``; this module imports nothing from
Azure). Keys and values that look like secrets are rejected.

Endpoint and storage may come from a ``pulumi stack output --json`` file
(``stackOutputs:``); values written in the config win over it.

:func:`load_config` raises :class:`~reconcile.errors.ConfigError` listing every
problem as ``file:line: field.path: message``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NoReturn
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from reconcile import bounded, safejson, safepath
from reconcile.api import versions
from reconcile.client.redact import secret_kind
from reconcile.errors import ConfigError, InputError, JsonSyntaxError
from reconcile.limits import CONFIG_FILE_BYTES, STACK_OUTPUTS_BYTES
from reconcile.specs.problems import Problems, closest, field_path, known_names_text, report_validation_error
from reconcile.specs.yamlsrc import Lines, read_documents

CONFIG_FILE_NAME = "vision-gitops.yaml"
ENV_VAR = "VISION_GITOPS_ENV"
EMBEDDED = "embedded"
LOCAL = "local"
ENTRA_SCOPE = "https://cognitiveservices.azure.com/.default"
DEFAULT_KEY_ENV = "VISION_KEY"
DEFAULT_CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"
DEFAULT_CONTAINER = "vision-gitops"
DEFAULT_LOCAL_BLOBS = ".vision-gitops/blobs"
DEFAULT_STATE_DIR = ".vision-gitops"
DEFAULT_EMULATOR_SPEED = 3600.0

#: Keys of ``pulumi stack output --json`` (the contract with ``infra/outputs.py``).
STACK_OUTPUT_KEYS = (
    "visionEndpoint",
    "visionAccountName",
    "visionSubdomain",
    "visionPrincipalId",
    "resourceGroupName",
    "location",
    "storageAccountName",
    "blobEndpoint",
    "containerName",
    "containerUrl",
    "ciPrincipalId",
)

ApiVersionName = Literal["2023-02-01-preview", "2023-04-01-preview", "2023-07-01-preview"]
AuthKind = Literal["key", "entra", "none"]
StorageKind = Literal["local", "azurite", "azure"]

_REDACTED = "<redacted>"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


# --- the file, as written (camelCase keys, unknown keys rejected) -------------------------


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

    max_budget_hours_per_model: int | None = Field(default=48, ge=1)
    """Refuse a model whose budgetHours is above this."""
    max_budget_hours_per_apply: int | None = Field(default=96, ge=1)
    """Refuse an apply whose new models together budget more hours than this."""
    max_deletions: int | None = Field(default=5, ge=0)
    """Refuse an apply that deletes more resources than this."""


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


class StackOutputs(BaseModel):
    """The ``pulumi stack output --json`` object (every key required, every value a non-empty string)."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    vision_endpoint: str = Field(min_length=1)
    vision_account_name: str = Field(min_length=1)
    vision_subdomain: str = Field(min_length=1)
    vision_principal_id: str = Field(min_length=1)
    resource_group_name: str = Field(min_length=1)
    location: str = Field(min_length=1)
    storage_account_name: str = Field(min_length=1)
    blob_endpoint: str = Field(min_length=1)
    container_name: str = Field(min_length=1)
    container_url: str = Field(min_length=1)
    ci_principal_id: str = Field(min_length=1)


# --- the resolved environment (what the rest of the code reads) ------------------------------


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

    max_budget_hours_per_model: int | None = 48
    max_budget_hours_per_apply: int | None = 96
    max_deletions: int | None = 5


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
    emulator_speed: float = DEFAULT_EMULATOR_SPEED
    rate_limit_tps: float = 20.0
    max_concurrency: int = 4
    timeout_seconds: float = 30.0
    max_retries: int = 5
    guardrails: Guardrails = Guardrails()
    stack_outputs: StackOutputs | None = None

    @property
    def emulator_state_dir(self) -> Path:
        """Where the embedded emulator keeps its state: ``<state_dir>/emulator``."""
        return self.state_dir / "emulator"


# --- loading ---------------------------------------------------------------------------------------


def find_config(start: Path | None = None) -> Path | None:
    """The nearest ``vision-gitops.yaml`` in ``start`` (default: cwd) or its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def load_config(
    path: Path | None = None,
    *,
    environment: str | None = None,
    env: Mapping[str, str] = os.environ,
) -> EnvironmentConfig:
    """Read the project config and resolve one environment.

    ``path`` None finds ``vision-gitops.yaml`` in the cwd or its parents.
    ``environment`` None takes ``VISION_GITOPS_ENV`` from ``env``, then the file's
    ``defaultEnvironment``. The whole file is checked (every environment's
    structure); only the selected environment's stack-outputs file is read.

    Never reads secrets: the key and connection string stay in the environment and
    are read by the client / storage code. Raises :class:`ConfigError` listing
    every problem (file, line, field path and what to do).
    """
    if path is None:
        path = find_config()
        if path is None:
            raise ConfigError(
                f"no {CONFIG_FILE_NAME} found in {Path.cwd()} or its parents",
                hint=f"run from inside the repository, pass --config FILE, or create {CONFIG_FILE_NAME} (see docs/specs.md)",
            )
    path = path.resolve()
    if not path.is_file():
        raise ConfigError(f"config file {path} not found", hint="check the --config path")
    root = path.parent
    display = path.name
    problems = Problems()

    docs = read_documents(path, display, problems, what="config", limit=CONFIG_FILE_BYTES)
    if len(docs) > 1:
        problems.add(display, docs[1].line, None, "the config is one YAML document; remove the extra '---' documents")
    data: dict[str, Any] = docs[0].data if docs else {}
    lines = docs[0].lines if docs else Lines(1)
    if problems:
        _raise(problems)

    _scan_secrets(data, lines, (), display, problems)
    project = _validate_file(data, lines, display, problems)
    if project is not None:
        for name, env_file in project.environments.items():
            _check_environment(name, env_file, lines, display, problems)
        _check_paths(project, root, lines, display, problems)
        known = set(project.environments) | {LOCAL}
        if project.default_environment not in known:
            guess = closest(project.default_environment, known)
            problems.add(
                display,
                lines.line_of(("defaultEnvironment",)),
                "defaultEnvironment",
                f"no environment {project.default_environment!r}"
                + (f"; did you mean {guess!r}?" if guess else "")
                + f" ({known_names_text(known)}); name one of them or add it under 'environments'",
            )
    if problems or project is None:
        _raise(problems)

    name = _select(project, environment, env, lines, display)
    result = _resolve(project, name, root, path, lines, display, problems)
    if problems or result is None:
        _raise(problems)
    return result


def _raise(problems: Problems) -> NoReturn:
    n = len(problems)
    raise ConfigError(
        f"{n} problem{'s' if n != 1 else ''} in the project config",
        problems=problems.messages(),
        hint=f"fix each line listed above ({CONFIG_FILE_NAME} reference: docs/specs.md)",
    )


# Keys that would hold a secret value; the file names environment variables instead.
_SECRET_KEYS = {
    "key", "apikey", "subscriptionkey", "password", "secret", "clientsecret", "token", "sastoken",
    "connectionstring", "accountkey", "sharedaccesskey", "credential", "credentials",
}  # fmt: skip


def _scan_secrets(node: Any, lines: Lines, loc: tuple[Any, ...], display: str, problems: Problems) -> None:
    """Report keys/values that look like secrets; drop such keys so nothing else reports (or echoes) them."""
    if isinstance(node, dict):
        for key in list(node):
            here = loc + (key,)
            line = lines.line_of(here)
            if isinstance(key, str) and secret_kind(key) is not None:
                problems.add(display, line, field_path(loc), f"a key of this mapping looks like {secret_kind(key)}; "
                             "never write secrets in this file: remove it and put the value in an environment variable")
                del node[key]
                continue
            if isinstance(key, str) and key.replace("_", "").replace("-", "").lower() in _SECRET_KEYS:
                problems.add(
                    display,
                    line,
                    field_path(here),
                    "secrets never go in this file: remove it, put the value in an environment variable and name "
                    "that variable instead (auth: {kind: key, keyEnv: VISION_KEY}; "
                    "storage: {kind: azurite, connectionStringEnv: ...}), or use auth: {kind: entra}",
                )
                del node[key]
                continue
            _scan_secrets(node[key], lines, here, display, problems)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _scan_secrets(item, lines, loc + (i,), display, problems)
    elif isinstance(node, str):
        if (what := secret_kind(node)) is not None:
            problems.add(
                display,
                lines.line_of(loc),
                field_path(loc),
                f"this value looks like {what}; never write secrets in this file: put it in an environment "
                "variable and give the variable's NAME (keyEnv / connectionStringEnv), or use auth: {kind: entra}",
            )


def _validate_file(data: dict[str, Any], lines: Lines, display: str, problems: Problems) -> ProjectFile | None:
    _blank_secrets(data)
    try:
        return ProjectFile.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        report_validation_error(exc, ProjectFile, file=display, line_of=lines.line_of, problems=problems)
        return None


def _blank_secrets(node: Any) -> None:
    # _scan_secrets already reported them; this keeps pydantic from quoting them.
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, str) and secret_kind(v) is not None:
                node[k] = _REDACTED
            else:
                _blank_secrets(v)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, str) and secret_kind(v) is not None:
                node[i] = _REDACTED
            else:
                _blank_secrets(v)


def _check_environment(name: str, e: EnvironmentFile, lines: Lines, display: str, problems: Problems) -> None:
    """Cross-field rules of one environment, each reported at the field to change."""
    base = ("environments", name)

    def add(loc: tuple[Any, ...], message: str) -> None:
        problems.add(display, lines.line_of(base + loc), field_path(base + loc), message)

    if not _ENVIRONMENT_NAME.match(name):
        add((), "environment names use lowercase letters, digits and '-' (e.g. dev, prod); rename it")
    embedded = e.endpoint == EMBEDDED
    if e.endpoint is not None and not embedded:
        if (p := endpoint_problem(e.endpoint)) is not None:
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
        if e.storage is not None and e.storage.kind == "local" and not _is_loopback(e.endpoint):
            # An emulator on this machine reads file:// URIs; the real service cannot.
            add(("storage", "kind"), "the real service cannot read a local folder; use kind azure (or azurite for tests)")
        if e.endpoint is not None and e.auth is not None and e.auth.kind == "entra" and _regional(e.endpoint):
            add(("endpoint",), "Microsoft Entra ID needs the resource's custom-subdomain endpoint (https://<name>.cognitiveservices.azure.com), not a regional one")
    if e.auth is not None:
        if e.auth.kind == "key":
            key_env = e.auth.key_env or DEFAULT_KEY_ENV
            if key_env != _REDACTED and not _ENV_NAME.match(key_env):
                add(("auth", "keyEnv"), "keyEnv is the NAME of an environment variable (letters, digits, '_'), e.g. VISION_KEY")
        elif e.auth.key_env is not None:
            add(("auth", "keyEnv"), "keyEnv goes with kind key only; remove it")
    if e.storage is not None:
        _check_storage(e.storage, add)


def _check_paths(project: ProjectFile, root: Path, lines: Lines, display: str, problems: Problems) -> None:
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


def _check_storage(s: StorageFile, add: Any) -> None:
    allowed = {
        "local": {"path"},
        "azurite": {"connectionStringEnv", "container"},
        "azure": {"accountUrl", "container"},
    }[s.kind]
    for field in ("path", "connectionStringEnv", "accountUrl", "container"):
        if getattr(s, to_snake(field)) is not None and field not in allowed:
            add(("storage", field), f"'{field}' does not apply to storage kind {s.kind} (it takes {', '.join(sorted(allowed))}); remove it")
    if s.connection_string_env not in (None, _REDACTED) and not _ENV_NAME.match(s.connection_string_env):
        add(("storage", "connectionStringEnv"), "connectionStringEnv is the NAME of an environment variable, e.g. AZURE_STORAGE_CONNECTION_STRING")
    if s.account_url not in (None, _REDACTED) and (p := account_url_problem(s.account_url)) is not None:
        add(("storage", "accountUrl"), p)
    if s.container is not None and not re.fullmatch(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]", s.container):
        add(("storage", "container"), "a container name is 3-63 lowercase letters, digits and single '-', starting and ending with a letter or digit")


def to_snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower()


def endpoint_problem(url: str) -> str | None:
    """Why ``url`` is not a usable Vision endpoint, or None."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(url)):
        return f"the endpoint must be https:// (http:// only for 127.0.0.1), or '{EMBEDDED}'"
    if not parts.hostname:
        return "the endpoint has no host name; write https://<resource>.cognitiveservices.azure.com"
    if parts.username or parts.password or parts.query or parts.fragment:
        return "the endpoint must not carry credentials, a query or a fragment; write only https://<host>"
    if parts.path not in ("", "/"):
        return "write the endpoint without a path (no /computervision): https://<resource>.cognitiveservices.azure.com"
    return None


def account_url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return "accountUrl must be https://<account>.blob.core.windows.net"
    if parts.query or parts.username:
        return "accountUrl must not carry a SAS token or credentials; access uses Microsoft Entra ID"
    if parts.path not in ("", "/"):
        return "accountUrl is the account's blob endpoint without a path; put the container name in 'container'"
    return None


def _is_loopback(endpoint: str | None) -> bool:
    """True for an endpoint on this machine (an emulator started by hand or by tests)."""
    host = urlsplit(endpoint or "").hostname or ""
    return host in ("127.0.0.1", "localhost", "::1")


def _regional(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host.endswith(".api.cognitive.microsoft.com")


def _select(project: ProjectFile, environment: str | None, env: Mapping[str, str], lines: Lines, display: str) -> str:
    names = set(project.environments) | {LOCAL}
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
    problems = Problems()
    line = lines.line_of(("defaultEnvironment",)) if source == "defaultEnvironment" else lines.line_of(("environments",))
    problems.add(display, line, "defaultEnvironment" if source == "defaultEnvironment" else "environments",
                 f"{message} ({known_names_text(names)}); pick one of them or add it under 'environments'")
    _raise(problems)


def _resolve(
    project: ProjectFile, name: str, root: Path, path: Path, lines: Lines, display: str, problems: Problems
) -> EnvironmentConfig | None:
    e = project.environments.get(name) or EnvironmentFile(endpoint=EMBEDDED)
    base = ("environments", name)
    embedded = e.endpoint == EMBEDDED

    def pick(field: str, default: Any) -> Any:
        own = getattr(e, field)
        if own is not None:
            return own
        top = getattr(project, field)
        return default if top is None else top

    stack: StackOutputs | None = None
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
        assert e.auth is not None  # _check_environment insists
        auth = AuthConfig(
            kind=e.auth.kind,
            key_env=(e.auth.key_env or DEFAULT_KEY_ENV) if e.auth.kind == "key" else None,
            scope=ENTRA_SCOPE if e.auth.kind == "entra" else None,
        )

    storage = _resolve_storage(e.storage, stack, embedded, root)
    if storage is None:
        problems.add(display, lines.line_of(base + ("storage",)), field_path(base + ("storage",)),
                     "storage kind azure needs accountUrl and container (or a stackOutputs file that has them)")
        return None

    state_dir = root / (e.state_dir or (DEFAULT_STATE_DIR if embedded else f"{DEFAULT_STATE_DIR}/{name}"))
    guard_top = project.guardrails
    guard_own = e.guardrails
    guard_fields = guard_own.model_fields_set if guard_own is not None else set()
    guardrails = Guardrails(
        **{
            f: getattr(guard_own if f in guard_fields else guard_top, f)
            for f in Guardrails.model_fields
        }
    )
    specs = [root / p for p in pick("specs", ["specs"])]
    return EnvironmentConfig(
        name=name,
        root=root,
        config_file=path,
        endpoint=endpoint,
        is_embedded=embedded,
        api_version=pick("api_version", versions.DEFAULT_API_VERSION),
        auth=auth,
        storage=storage,
        specs=specs,
        state_dir=state_dir,
        emulator_speed=e.emulator_speed if e.emulator_speed is not None else DEFAULT_EMULATOR_SPEED,
        rate_limit_tps=pick("rate_limit_tps", 20.0),
        max_concurrency=pick("max_concurrency", 4),
        timeout_seconds=pick("timeout_seconds", 30.0),
        max_retries=pick("max_retries", 5),
        guardrails=guardrails,
        stack_outputs=stack,
    )


def _resolve_storage(s: StorageFile | None, stack: StackOutputs | None, embedded: bool, root: Path) -> StorageConfig | None:
    if s is None:
        if embedded:
            return StorageConfig(kind="local", path=root / DEFAULT_LOCAL_BLOBS)
        assert stack is not None  # _check_environment insists on storage or stack outputs
        s = StorageFile(kind="azure")
    if s.kind == "local":
        return StorageConfig(kind="local", path=root / (s.path or DEFAULT_LOCAL_BLOBS))
    if s.kind == "azurite":
        return StorageConfig(
            kind="azurite",
            connection_string_env=s.connection_string_env or DEFAULT_CONNECTION_STRING_ENV,
            container=s.container or DEFAULT_CONTAINER,
        )
    account_url = s.account_url or (stack.blob_endpoint if stack else None)
    container = s.container or (stack.container_name if stack else None)
    if not account_url or not container:
        return None
    return StorageConfig(kind="azure", account_url=account_url.rstrip("/"), container=container)


def read_stack_outputs(
    file: Path, root: Path, problems: Problems, *, referrer: tuple[str, int, str] | None = None
) -> StackOutputs | None:
    """Parse a ``pulumi stack output --json`` file; problems name the file and what to run."""
    try:
        display = file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        display = str(file)
    regenerate = f"with the environment's stack selected, run `pulumi -C infra stack output --json > {display}`"
    if safepath.within(file, [root]) is None:
        where, line, field = referrer if referrer else (display, 0, "")
        problems.add(where, line, field, f"stack outputs file {display} is outside the repository (symlinks are "
                     "followed); keep it inside")
        return None
    if not file.is_file():
        where, line, field = referrer if referrer else (display, 0, "")
        problems.add(where, line, field, f"stack outputs file {display} not found; {regenerate}")
        return None
    try:
        raw = bounded.read_file(file, STACK_OUTPUTS_BYTES, display)
        text = raw.decode("utf-8")
        data = safejson.loads(raw, limit=STACK_OUTPUTS_BYTES, shown=display)
    except UnicodeDecodeError as exc:
        problems.add(display, 0, None, f"not UTF-8 text ({exc.reason}); {regenerate}")
        return None
    except JsonSyntaxError as exc:
        problems.add(display, exc.line, None, f"{exc.message}; {regenerate}")
        return None
    except InputError as exc:
        problems.add(display, 0, None, f"{exc.message}; {regenerate}")
        return None
    if not isinstance(data, dict):
        problems.add(display, 1, None, f"stack outputs must be a JSON object; {regenerate}")
        return None
    try:
        return StackOutputs.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            key = str(err["loc"][0]) if err["loc"] else ""
            line = _json_key_line(text, key)
            if err["type"] == "missing":
                message = f"the stack does not export '{key}'; update the Pulumi program (infra/outputs.py) and {regenerate}"
            elif err["type"] == "extra_forbidden":
                message = f"unexpected key '{key}' (expected exactly: {', '.join(STACK_OUTPUT_KEYS)}); {regenerate}"
            else:
                message = f"{err['msg']}; {regenerate}"
            problems.add(display, line, key, message)
        return None


def _json_key_line(text: str, key: str) -> int:
    needle = f'"{key}"'
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    return 1

