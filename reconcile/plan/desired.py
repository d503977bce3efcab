"""Specs (with resolved label files) to the typed values we want live (service-neutral).

Label files are resolved before planning (:mod:`reconcile.labels`), because a local
COCO file's registered URI depends on its content; everything here is pure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

from reconcile.api import names
from reconcile.backends.base import DesiredDataset, DesiredEvaluation, DesiredModel
from reconcile.errors import SpecError
from reconcile.plan.model import LabelFile
from reconcile.plan.normalize import LABELS_DIGEST_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE, MARKER_PREFIX
from reconcile.specs.models import DatasetSpec, EvaluationSpec, ModelSpec


@dataclass(frozen=True, slots=True)
class ResolvedDataset:
    """A dataset spec with its label files resolved, and the value we want live."""

    spec: DatasetSpec
    desired: DesiredDataset
    labels: tuple[LabelFile, ...]


def labels_digest(labels: Sequence[LabelFile]) -> str | None:
    """One digest over every label file (URI and content); ``None`` if any content is unknown."""
    if not labels or any(lf.sha256 is None for lf in labels):
        return None
    h = hashlib.sha256()
    for lf in labels:
        h.update(f"{lf.uri}\n{lf.sha256}\n".encode())
    return h.hexdigest()


def desired_dataset(spec: DatasetSpec, labels: Sequence[LabelFile], *, source: str | None = None) -> ResolvedDataset:
    """The dataset we want registered. Raises :class:`SpecError` if the markers do not fit."""
    props = dict(spec.custom_properties)
    reserved = sorted(k for k in props if k.startswith(MARKER_PREFIX))
    if reserved:
        raise SpecError(
            f"{source or 'dataset ' + spec.name}: customProperties: keys starting with '{MARKER_PREFIX}' are reserved",
            problems=[f"remove {k!r}" for k in reserved],
        )
    props[MANAGED_BY_KEY] = MANAGED_BY_VALUE
    digest = labels_digest(labels)
    if digest is not None:
        props[LABELS_DIGEST_KEY] = digest
    if len(props) > names.MAX_CUSTOM_PROPERTIES:
        raise SpecError(
            f"{source or 'dataset ' + spec.name}: customProperties: the service keeps at most "
            f"{names.MAX_CUSTOM_PROPERTIES} properties and vision-gitops uses "
            f"{len(props) - len(spec.custom_properties)} of them for its ownership and label-digest markers",
            hint=f"declare at most {names.MAX_CUSTOM_PROPERTIES - (len(props) - len(spec.custom_properties))} customProperties",
        )
    desired = DesiredDataset(
        name=spec.name,
        annotation_kind=spec.annotation_kind,
        label_uris=tuple(lf.uri for lf in labels),
        custom_properties=dict(sorted(props.items())),
        authentication=spec.authentication,
    )
    return ResolvedDataset(spec=spec, desired=desired, labels=tuple(labels))


def desired_model(spec: ModelSpec) -> DesiredModel:
    return DesiredModel(
        name=spec.name,
        model_kind=spec.model_kind,
        training_dataset=spec.training_dataset,
        budget_hours=spec.budget_hours,
        test_dataset=spec.test_dataset,
    )


def desired_evaluation(spec: EvaluationSpec) -> DesiredEvaluation:
    return DesiredEvaluation(model=spec.model, name=spec.name, dataset=spec.dataset)


def uri_labels(spec: DatasetSpec) -> list[LabelFile]:
    """Label files of a dataset whose labels are all blob URIs (no I/O needed)."""
    return [LabelFile(source=lf.uri or "", uri=lf.uri or "", sha256=lf.sha256) for lf in spec.labels]

