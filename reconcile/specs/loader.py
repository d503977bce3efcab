"""Loading the specs: YAML files -> validated, cross-checked :class:`SpecSet`.

One file may hold many documents (``---``); specs reference each other by name
across files. :func:`load_specs` reports every problem of every file in one
:class:`~reconcile.errors.SpecError`, each as ``file:line: field.path: message``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from reconcile import safepath
from reconcile.api import versions
from reconcile.errors import ConfigError, SpecError
from reconcile.limits import SPEC_FILES
from reconcile.specs import checks
from reconcile.specs.checks import Entry
from reconcile.specs.models import DatasetSpec, DeploymentSpec, EvaluationSpec, ModelSpec
from reconcile.specs.problems import Problems, closest, report_validation_error
from reconcile.specs.yamlsrc import Document, Lines, read_documents

KINDS: dict[str, type[BaseModel]] = {"Dataset": DatasetSpec, "Model": ModelSpec, "Evaluation": EvaluationSpec,
                                     "Deployment": DeploymentSpec}
SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a spec (or one of its fields) is written."""

    file: Path
    """The file, relative to the repo root when it is inside it."""
    line: int
    """1-based line."""

    def __str__(self) -> str:
        return f"{self.file.as_posix()}:{self.line}"


@dataclass(frozen=True)
class SpecSet:
    """The desired state: every spec, validated and with its references resolved.

    ``evaluations`` is keyed by ``(model name, evaluation name)`` because the
    service scopes evaluation names to their model.
    """

    datasets: dict[str, DatasetSpec]
    models: dict[str, ModelSpec]
    evaluations: dict[tuple[str, str], EvaluationSpec]
    root: Path
    """The repo root that local paths are relative to."""
    api_version: str
    """The api-version the limits were checked against."""
    files: tuple[Path, ...] = ()
    """The spec files read (relative to the root when inside it), in reading order."""
    deployments: dict[str, DeploymentSpec] = field(default_factory=dict)
    """Deployment specs by endpoint name."""
    _where: dict[tuple[str, Hashable], tuple[Path, Lines]] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.datasets) + len(self.models) + len(self.evaluations) + len(self.deployments)

    def source(self, kind: str, name: str | tuple[str, str], field: str | Sequence[Any] | None = None) -> SourceRef:
        """Where the spec ``kind``/``name`` is written; with ``field`` (``"budgetHours"``,
        ``"labels[0].file"`` or a loc tuple), the line of that field when it is written out.

        ``kind`` is ``Dataset``, ``Model``, ``Evaluation`` or ``Deployment``; an evaluation's ``name`` is
        ``(model, name)``. Raises ``KeyError`` for a spec not in the set.
        """
        key = tuple(name) if isinstance(name, list) else name
        file, lines = self._where[(_kind_name(kind), key)]
        if field is None:
            return SourceRef(file, lines.line)
        loc = parse_field_path(field) if isinstance(field, str) else tuple(field)
        return SourceRef(file, lines.line_of(loc))


def parse_field_path(path: str) -> tuple[str | int, ...]:
    """``labels[0].file`` -> ``("labels", 0, "file")``."""
    out: list[str | int] = []
    for part in path.split("."):
        m = re.fullmatch(r"([^\[\]]*)((?:\[\d+\])*)", part)
        if m is None:
            out.append(part)
            continue
        if m.group(1):
            out.append(m.group(1))
        out.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return tuple(out)


def _kind_name(kind: str) -> str:
    for k in KINDS:
        if k.lower() == kind.lower():
            return k
    raise KeyError(kind)


def load_specs(paths: Sequence[Path] | Path, *, root: Path, api_version: str) -> SpecSet:
    """Read, validate and cross-check every spec under ``paths``.

    ``paths`` are files or folders (searched recursively for ``*.yaml``/``*.yml``,
    skipping hidden folders); relative ones are taken from ``root``. Checks: the
    schema (unknown fields rejected, camelCase only), names, unique names per kind,
    references (suggesting the closest known name), model kind vs dataset
    annotation kind, the limits of ``api_version``, and that local label files and
    image folders exist inside ``root``.

    Raises :class:`SpecError` listing every problem found (never only the first),
    and :class:`ConfigError` if ``api_version`` is unknown.
    """
    try:
        version = versions.get(api_version)
    except KeyError:
        raise ConfigError(
            f"unknown api-version {api_version!r}",
            hint=f"use one of {', '.join(versions.API_VERSION_NAMES)}",
        ) from None

    root = root.resolve()
    problems = Problems()
    files = _spec_files([paths] if isinstance(paths, Path) else list(paths), root, problems)

    entries: list[Entry] = []
    broken: set[tuple[str, str]] = set()
    for file in files:
        for doc in read_documents(file, _display(file, root), problems):
            spec = _validate(doc, problems)
            if spec is not None:
                entries.append(Entry(spec, doc))
            elif isinstance(doc.data.get("kind"), str) and isinstance(doc.data.get("name"), str):
                # Already reported; do not also report every reference to it as missing.
                broken.add((doc.data["kind"], doc.data["name"]))

    index = checks.unique(entries, problems)
    datasets = {k[1]: e for k, e in index.items() if k[0] == "Dataset"}
    models = {k[1]: e for k, e in index.items() if k[0] == "Model"}
    checks.references(entries, datasets, models, problems, broken=broken)  # type: ignore[arg-type]
    evaluations = {k[1]: e for k, e in index.items() if k[0] == "Evaluation"}
    checks.deployment_gates(entries, models, evaluations, problems, broken=broken)  # type: ignore[arg-type]
    checks.api_version_limits(entries, version, problems)
    checks.local_files(entries, root, problems)

    if problems:
        n = len(problems)
        raise SpecError(
            f"{n} problem{'s' if n != 1 else ''} in the specs",
            problems=problems.messages(),
            hint="fix each line listed above, then run `reconcile validate` again",
        )

    return SpecSet(
        datasets={k[1]: e.spec for k, e in index.items() if k[0] == "Dataset"},  # type: ignore[misc]
        models={k[1]: e.spec for k, e in index.items() if k[0] == "Model"},  # type: ignore[misc]
        evaluations={k[1]: e.spec for k, e in index.items() if k[0] == "Evaluation"},  # type: ignore[misc]
        root=root,
        api_version=version.name,
        files=tuple(_relative(f, root) for f in files),
        deployments={k[1]: e.spec for k, e in index.items() if k[0] == "Deployment"},  # type: ignore[misc]
        _where={k: (_relative(e.doc.file, root), e.doc.lines) for k, e in index.items()},
    )


def _spec_files(paths: list[Path], root: Path, problems: Problems) -> list[Path]:
    """The spec files under ``paths``: each resolved inside ``root`` (symlinks followed, never out of
    the repository), folders walked without following symlinked folders, at most ``specFiles``."""
    found: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        full = p if p.is_absolute() else root / p
        shown = _display(full, root)
        real = safepath.within(full, [root])
        if real is None:
            problems.add(shown, None, None, "this specs path is outside the repository (symlinks are followed); "
                         "keep specs in the repository and fix the 'specs' list in vision-gitops.yaml")
            continue
        if real.is_dir():
            candidates = _walk(real, root, problems)
        elif real.is_file():
            candidates = [real]
        else:
            problems.add(shown, None, None, "specs path not found; fix the 'specs' list in vision-gitops.yaml or create it")
            continue
        for f in candidates:
            r = safepath.within(f, [root])
            if r is None:
                problems.add(_unresolved(f, root), None, None, "a symlink to outside the repository; specs are read "
                             "only from inside it, remove the link")
                continue
            if r not in seen:
                seen.add(r)
                found.append(r)
            if len(found) > SPEC_FILES.value:
                problems.add(shown, None, None, f"more than the {SPEC_FILES.name} limit of {SPEC_FILES.shown} spec "
                             "files; point 'specs' at the folders that hold specs")
                return found[: SPEC_FILES.value]
    return found


def _walk(folder: Path, root: Path, problems: Problems) -> list[Path]:
    out: list[Path] = []
    for here, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for d in dirs:
            link = Path(here) / d
            if link.is_symlink() and safepath.within(link, [root]) is None:
                problems.add(_unresolved(link, root), None, None, "a symlink to a folder outside the repository; "
                             "specs are read only from inside it, remove the link")
        for name in sorted(files):
            if Path(name).suffix in SPEC_SUFFIXES and not name.startswith("."):
                out.append(Path(here) / name)
                if len(out) > SPEC_FILES.value:
                    return sorted(out)
    return sorted(out)


def _validate(doc: Document, problems: Problems) -> DatasetSpec | ModelSpec | EvaluationSpec | DeploymentSpec | None:
    kind = doc.data.get("kind")
    if kind is None:
        problems.add(
            doc.display,
            doc.line,
            "kind",
            f"missing or empty; start the document with 'kind: {' | '.join(KINDS)}'",
        )
        return None
    model = KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        guess = closest(str(kind), KINDS)
        message = f"unknown kind {kind!r}"
        message += f"; did you mean '{guess}'?" if guess else f"; use one of {', '.join(KINDS)}"
        problems.add(doc.display, doc.lines.line_of(("kind",)), "kind", message)
        return None
    try:
        # by_name=False: YAML must use the camelCase keys, never the Python names.
        return model.model_validate(doc.data, by_alias=True, by_name=False)  # type: ignore[return-value]
    except ValidationError as exc:
        report_validation_error(exc, model, file=doc.display, line_of=doc.lines.line_of, problems=problems)
        errors = exc.errors(include_url=False)
        if not all(e["type"] == "extra_forbidden" and len(e["loc"]) == 1 for e in errors):
            return None
    # Only unknown top-level keys: check the rest too, so one run reports everything.
    extra = {e["loc"][0] for e in errors}
    data = {k: v for k, v in doc.data.items() if k not in extra}
    try:
        return model.model_validate(data, by_alias=True, by_name=False)  # type: ignore[return-value]
    except ValidationError:
        return None


def _relative(file: Path, root: Path) -> Path:
    try:
        return file.resolve().relative_to(root)
    except ValueError:
        return file


def _unresolved(file: Path, root: Path) -> str:
    """``file`` relative to ``root`` without following symlinks (a link is shown where it is)."""
    return Path(os.path.relpath(file, root)).as_posix()


def _display(file: Path, root: Path) -> str:
    return _relative(file, root).as_posix()
