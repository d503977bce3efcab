"""Finding and loading the project config: :func:`find_config` and :func:`load_config`.

The steps, each in its own module: read the YAML (:mod:`reconcile.specs.yamlsrc`),
refuse secrets (:mod:`.secret_scan`), validate the file's models (:mod:`.files`),
check cross-field rules and paths (:mod:`.rules`), then select and resolve one
environment (:mod:`.environments`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from reconcile.errors import ConfigError
from reconcile.limits import CONFIG_FILE_BYTES
from reconcile.specs.config.environments import resolve, select
from reconcile.specs.config.files import CONFIG_FILE_NAME, LOCAL, LOCAL_AZUREML, ProjectFile
from reconcile.specs.config.resolved import EnvironmentConfig
from reconcile.specs.config.rules import check_environment, check_paths
from reconcile.specs.config.secret_scan import blank_secrets, scan_secrets
from reconcile.specs.problems import Problems, closest, known_names_text, report_validation_error
from reconcile.specs.yamlsrc import Lines, read_documents

__all__ = ["find_config", "load_config"]


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

    scan_secrets(data, lines, (), display, problems)
    project = _validate_file(data, lines, display, problems)
    if project is not None:
        for name, env_file in project.environments.items():
            check_environment(name, env_file, lines, display, problems)
        check_paths(project, root, lines, display, problems)
        known = set(project.environments) | {LOCAL, LOCAL_AZUREML}
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

    name = select(project, environment, env, lines, display, problems)
    result = resolve(project, name, root, path, lines, display, problems) if name is not None else None
    if problems or result is None:
        _raise(problems)
    return result


def _validate_file(data: dict[str, Any], lines: Lines, display: str, problems: Problems) -> ProjectFile | None:
    blank_secrets(data)
    try:
        return ProjectFile.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as exc:
        report_validation_error(exc, ProjectFile, file=display, line_of=lines.line_of, problems=problems)
        return None


def _raise(problems: Problems) -> NoReturn:
    n = len(problems)
    raise ConfigError(
        f"{n} problem{'s' if n != 1 else ''} in the project config",
        problems=problems.messages(),
        hint=f"fix each line listed above ({CONFIG_FILE_NAME} reference: docs/specs.md)",
    )
