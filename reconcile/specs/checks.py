"""Rules that span specs: unique names, references, per-api-version limits, local files.

Each check adds problems located at the exact field that must change (the
reference, the budget, the path) and says what to do; none stops at the first.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconcile import safepath
from reconcile.api import versions
from reconcile.specs.models import DatasetSpec, DeploymentSpec, EvaluationSpec, ModelSpec
from reconcile.specs.problems import Problems, closest, known_names_text
from reconcile.specs.yamlsrc import Document

Spec = DatasetSpec | ModelSpec | EvaluationSpec | DeploymentSpec

#: The figures an Evaluation reports per model kind that a deployment gate may hold (every one is
#: "higher is better"; the gate requires at least the threshold). One source: docs/specs.md lists them.
GATE_METRICS: dict[str, tuple[str, ...]] = {
    "Generic-Classifier": ("accuracyTop1", "accuracyTop5", "averagePrecision", "precision_score_macro",
                           "recall_score_macro", "f1_score_macro", "iou"),
    "Generic-Detector": ("meanAveragePrecision50", "meanAveragePrecision30", "meanAveragePrecision75", "precision",
                         "recall"),
    "Product-Recognizer": ("meanAveragePrecision50", "meanAveragePrecision30", "meanAveragePrecision75",
                           "precision", "recall"),
}


@dataclass(frozen=True, slots=True)
class Entry:
    """A validated spec and the document it came from."""

    spec: Spec
    doc: Document

    def where(self) -> str:
        return f"{self.doc.display}:{self.doc.line}"

    def add(self, problems: Problems, loc: tuple[object, ...], field: str, message: str) -> None:
        problems.add(self.doc.display, self.doc.lines.line_of(loc), field, message)


def key_of(spec: Spec) -> Hashable:
    """The identity of a spec within its kind: the name, or ``(model, name)`` for evaluations."""
    if isinstance(spec, EvaluationSpec):
        return (spec.model, spec.name)
    return spec.name


def unique(entries: Sequence[Entry], problems: Problems) -> dict[tuple[str, Hashable], Entry]:
    """Index entries by ``(kind, key)``; a second definition is a problem naming both places."""
    index: dict[tuple[str, Hashable], Entry] = {}
    for e in entries:
        k = (e.spec.kind, key_of(e.spec))
        first = index.get(k)
        if first is None:
            index[k] = e
            continue
        what = f"{e.spec.kind} '{e.spec.name}'"
        if isinstance(e.spec, EvaluationSpec):
            what += f" of model '{e.spec.model}'"
        e.add(
            problems,
            ("name",),
            "name",
            f"{what} is already defined at {first.where()}; names must be unique, rename or remove one of them",
        )
    return index


def references(
    entries: Sequence[Entry],
    datasets: dict[str, Entry],
    models: dict[str, Entry],
    problems: Problems,
    *,
    broken: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset(),
) -> None:
    """Every referenced Dataset / Model exists, and its annotation kind suits the model kind.

    References to ``broken`` specs (``(kind, name)`` of specs that failed validation,
    already reported) are not reported again.
    """
    for e in entries:
        s = e.spec
        if isinstance(s, ModelSpec):
            need = versions.ANNOTATION_KIND_FOR_MODEL[s.model_kind]
            for field, ref in (("trainingDataset", s.training_dataset), ("testDataset", s.test_dataset)):
                if ref is None:
                    continue
                target = _resolve(e, field, ref, "Dataset", datasets, problems, broken)
                if target is not None:
                    _kind_match(e, field, s.model_kind, need, target, problems)
        elif isinstance(s, EvaluationSpec):
            model = _resolve(e, "model", s.model, "Model", models, problems, broken)
            dataset = _resolve(e, "dataset", s.dataset, "Dataset", datasets, problems, broken)
            if model is not None and dataset is not None:
                assert isinstance(model.spec, ModelSpec)
                need = versions.ANNOTATION_KIND_FOR_MODEL[model.spec.model_kind]
                _kind_match(e, "dataset", model.spec.model_kind, need, dataset, problems)


def _resolve(
    e: Entry, field: str, ref: str, kind: str, index: dict[str, Entry], problems: Problems, broken: object
) -> Entry | None:
    target = index.get(ref)
    if target is not None or (kind, ref) in broken:  # type: ignore[operator]
        return target
    message = f"no {kind} named '{ref}'"
    guess = closest(ref, index)
    if guess is not None:
        message += f"; did you mean '{guess}'?"
    message += f" ({known_names_text(index)}); define a {kind} spec with that name or fix the reference"
    e.add(problems, (field,), field, message)
    return None


def _kind_match(e: Entry, field: str, model_kind: str, need: str, target: Entry, problems: Problems) -> None:
    assert isinstance(target.spec, DatasetSpec)
    have = target.spec.annotation_kind
    if have == need:
        return
    fit = versions.MODEL_KIND_FOR_ANNOTATION[have]
    e.add(
        problems,
        (field,),
        field,
        f"{model_kind} needs an {need} dataset, but '{target.spec.name}' ({target.where()}) is {have}; "
        f"reference an {need} dataset, or use modelKind {fit}",
    )


def api_version_limits(entries: Sequence[Entry], version: versions.ApiVersion, problems: Problems) -> None:
    """Model kinds and budget caps of ``version``."""
    for e in entries:
        s = e.spec
        if not isinstance(s, ModelSpec):
            continue
        if s.model_kind not in version.model_kinds:
            since = next(v.name for v in versions.VERSIONS.values() if s.model_kind in v.model_kinds)
            e.add(
                problems,
                ("modelKind",),
                "modelKind",
                f"{s.model_kind} is not available in api-version {version.name} (it exists from {since}); "
                f"use one of {', '.join(version.model_kinds)}, or set apiVersion: {since} in vision-gitops.yaml",
            )
        cap = version.budget_cap(s.model_kind)
        if s.budget_hours > cap:
            e.add(
                problems,
                ("budgetHours",),
                "budgetHours",
                f"{s.budget_hours} h is over the {cap} h maximum for {s.model_kind} on api-version {version.name}; "
                f"use at most {cap}",
            )


def local_files(entries: Sequence[Entry], root: Path, problems: Problems) -> None:
    """Local label files and image folders are relative, inside the repo, and exist."""
    real_root = root.resolve()
    for e in entries:
        s = e.spec
        if not isinstance(s, DatasetSpec):
            continue
        for i, label in enumerate(s.labels):
            for attr, want_dir in (("file", False), ("images", True)):
                value = getattr(label, attr)
                if value is None:
                    continue
                loc = ("labels", i, attr)
                field = f"labels[{i}].{attr}"
                problem = _path_problem(value, real_root, want_dir)
                if problem is not None:
                    e.add(problems, loc, field, problem)


def _path_problem(value: str, real_root: Path, want_dir: bool) -> str | None:
    return safepath.path_problem(value, real_root, want="dir" if want_dir else "file", what="label files and image")


def deployment_gates(
    entries: Sequence[Entry],
    models: dict[str, Entry],
    evaluations: dict[tuple[str, str], Entry],
    problems: Problems,
    *,
    broken: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset(),
) -> None:
    """A Deployment's model exists, each gate names an Evaluation of that model, and each threshold a
    figure that model kind reports (:data:`GATE_METRICS`)."""
    for e in entries:
        s = e.spec
        if not isinstance(s, DeploymentSpec):
            continue
        model = _resolve(e, "model", s.model, "Model", models, problems, broken)
        if model is None:
            continue  # the model's problem is the one to fix; its gates cannot be checked without it
        mine = {name: ev for (m, name), ev in evaluations.items() if m == s.model}
        for i, gate in enumerate(s.gate):
            if gate.evaluation not in mine and ("Evaluation", gate.evaluation) not in broken:
                guess = closest(gate.evaluation, mine)
                message = f"model '{s.model}' has no Evaluation named '{gate.evaluation}'"
                message += f"; did you mean '{guess}'?" if guess else ""
                message += (f" ({known_names_text(mine)}); define an Evaluation spec with model: {s.model} and that "
                            "name, or fix the gate")
                e.add(problems, ("gate", i, "evaluation"), f"gate[{i}].evaluation", message)
            assert isinstance(model.spec, ModelSpec)
            known = GATE_METRICS[model.spec.model_kind]
            for metric in gate.thresholds:
                if metric not in known:
                    guess = closest(metric, known)
                    e.add(problems, ("gate", i, "thresholds", metric), f"gate[{i}].thresholds.{metric}",
                          f"{model.spec.model_kind} evaluations report no figure '{metric}'"
                          + (f"; did you mean '{guess}'?" if guess else "")
                          + f" (known: {', '.join(known)})")
