"""Pydantic models of the spec kinds: Dataset, Model, Evaluation and Deployment.

YAML keys are camelCase, like the service's own fields, and unknown keys are
rejected. References are by name: a Model names its training (and optional test)
dataset, an Evaluation names its model and dataset. A Dataset's labels are either
blob URIs or local COCO files in the repo (uploaded by apply; see
:mod:`reconcile.storage`).

Example::

    kind: Dataset
    name: shapes-cls-train
    annotationKind: imageClassification
    labels:
      - file: data/shapes/classification/train.coco.json
        images: data/shapes/classification/images
    ---
    kind: Model
    name: shapes-classifier
    modelKind: Generic-Classifier
    trainingDataset: shapes-cls-train
    testDataset: shapes-cls-test
    budgetHours: 1
    ---
    kind: Evaluation
    name: holdout
    model: shapes-classifier
    dataset: shapes-cls-test

The full reference is docs/specs.md; :mod:`reconcile.specs.loader` adds the checks
that need more than one document (references, unique names, api-version limits).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from reconcile.api import names
from reconcile.limits import CUSTOM_PROPERTY_CHARS, URI_CHARS

AnnotationKind = Literal["imageClassification", "imageObjectDetection"]
ModelKind = Literal["Generic-Classifier", "Generic-Detector", "Product-Recognizer"]
AuthenticationKind = Literal["none", "managedIdentity", "sas"]


class _Spec(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=True,
        # Field docstrings become JSON-Schema descriptions (editor hovers).
        use_attribute_docstrings=True,
    )


#: Fields that steer the reconciler only; the service never sees them, so they are
#: left out of :func:`reconcile.specs.fingerprint.spec_hash`.
POLICY_FIELDS: frozenset[str] = frozenset({"protect", "allow_replace"})


def _looks_like_sas(uri: str) -> bool:
    query = uri.partition("?")[2].lower()
    return any(part.startswith(("sig=", "se=", "sv=", "sp=")) for part in query.split("&"))


class LabelSource(_Spec):
    """One annotation file: either a blob ``uri`` or a local COCO ``file`` (+ optional ``images`` folder)."""

    uri: str | None = None
    """Absolute URI of a COCO file already in blob storage."""
    file: str | None = None
    """Path (relative to the repo root) of a COCO file kept in git; apply uploads it content-addressed."""
    images: str | None = None
    """Folder (relative to the repo root) holding the images the local COCO file names by ``file_name``; only with ``file``. Without it the file is uploaded as is (its images must carry ``absolute_url``)."""
    sha256: str | None = None
    """Pin the bytes behind ``uri``: plan reports drift when the blob's content no longer matches."""

    @model_validator(mode="after")
    def _one_source(self) -> "LabelSource":
        if (self.uri is None) == (self.file is None):
            raise ValueError("give exactly one of 'uri' (a blob URI) or 'file' (a local COCO file)")
        if self.images is not None and self.file is None:
            raise ValueError("'images' goes with a local 'file', not with 'uri'")
        if self.uri is not None and len(self.uri) > URI_CHARS.value:
            raise ValueError(f"'uri' is longer than the {URI_CHARS.name} limit of {URI_CHARS.shown} (docs/limits.md)")
        if self.uri is not None and not self.uri.lower().startswith(("https://", "http://", "file://")):
            raise ValueError("'uri' must be an absolute https:// (or http:// / file:// for emulators) URI")
        if self.uri is not None and _looks_like_sas(self.uri):
            raise ValueError(
                "'uri' carries a SAS token (a query string with sig=...); secrets never go in specs: "
                "remove the query string and use 'authentication: managedIdentity'"
            )
        if self.sha256 is not None:
            s = self.sha256.lower()
            if len(s) != 64 or any(c not in "0123456789abcdef" for c in s):
                raise ValueError("'sha256' must be 64 hex digits")
        return self


class DatasetSpec(_Spec):
    """A dataset registration: ``PUT /datasets/{name}``; changes are PATCHed."""

    kind: Literal["Dataset"]
    name: str
    """The dataset's name on the service (``^[a-zA-Z0-9][a-zA-Z0-9._-]*$``, at most 255 characters)."""
    annotation_kind: AnnotationKind
    """``imageClassification`` (one label per image) or ``imageObjectDetection`` (relative boxes)."""
    labels: list[LabelSource] = Field(min_length=1, max_length=names.MAX_ANNOTATION_FILE_URIS)
    """1 to 10 COCO files (the service's ``annotationFileUris``)."""
    custom_properties: dict[str, str] = Field(default_factory=dict)
    """At most 10 string key/value pairs stored on the dataset."""
    authentication: AuthenticationKind | None = None
    """How the service reads the blobs; SAS tokens are never kept in specs."""
    protect: bool = False
    """Refuse deletion and replacement of this dataset."""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if (p := names.name_problem(v)) is not None:
            raise ValueError(p)
        return v

    @field_validator("custom_properties")
    @classmethod
    def _props(cls, v: dict[str, str]) -> dict[str, str]:
        if len(v) > names.MAX_CUSTOM_PROPERTIES:
            raise ValueError(f"at most {names.MAX_CUSTOM_PROPERTIES} customProperties (got {len(v)})")
        room = names.MAX_CUSTOM_PROPERTIES - names.MARKER_PROPERTIES
        if len(v) > room:
            raise ValueError(
                f"at most {room} customProperties: the service keeps {names.MAX_CUSTOM_PROPERTIES} and vision-gitops "
                f"uses {names.MARKER_PROPERTIES} for its ownership and label-digest markers (got {len(v)})"
            )
        reserved = sorted(k for k in v if k.startswith(names.RESERVED_PROPERTY_PREFIX))
        if reserved:
            raise ValueError(f"keys starting with '{names.RESERVED_PROPERTY_PREFIX}' are reserved for vision-gitops' "
                             f"markers; rename {', '.join(repr(k[:60]) for k in reserved)}")
        for k, val in v.items():
            if len(k) > CUSTOM_PROPERTY_CHARS.value or len(val) > CUSTOM_PROPERTY_CHARS.value:
                raise ValueError(f"a customProperties key or value is longer than the {CUSTOM_PROPERTY_CHARS.name} "
                                 f"limit of {CUSTOM_PROPERTY_CHARS.shown}; shorten {k[:60]!r}")
        return v


class ModelSpec(_Spec):
    """A custom model: ``PUT /models/{name}`` starts training. Immutable once created."""

    kind: Literal["Model"]
    name: str
    """The model's name on the service."""
    model_kind: ModelKind
    """``Generic-Classifier``, ``Generic-Detector`` or (from 2023-04-01-preview) ``Product-Recognizer``."""
    training_dataset: str
    """Name of the Dataset spec to train on (its annotationKind must suit ``modelKind``)."""
    test_dataset: str | None = None
    """Name of the Dataset spec for the final metrics; without it the service holds out training images."""
    budget_hours: int = Field(ge=1)
    """``timeBudgetInHours``: compute hours, the most the run can bill."""
    protect: bool = False
    """Refuse deletion and replacement of this model."""
    allow_replace: bool = False
    """Allow apply to cancel/delete/re-create this model when an immutable field changes."""

    @field_validator("name", "training_dataset", "test_dataset")
    @classmethod
    def _names(cls, v: str | None) -> str | None:
        if v is not None and (p := names.name_problem(v)) is not None:
            raise ValueError(p)
        return v


class EvaluationSpec(_Spec):
    """An evaluation of a model on a dataset: ``PUT /models/{model}/evaluations/{name}``. Immutable."""

    kind: Literal["Evaluation"]
    name: str
    """The evaluation's name; unique per model, not globally."""
    model: str
    """Name of the Model spec to evaluate."""
    dataset: str
    """Name of the Dataset spec to evaluate on (same annotation kind as the model's)."""
    protect: bool = False
    """Refuse deletion and replacement of this evaluation."""
    allow_replace: bool = False
    """Allow apply to delete and re-create this evaluation when its model or dataset changes."""

    @field_validator("name", "model", "dataset")
    @classmethod
    def _names(cls, v: str) -> str:
        if (p := names.name_problem(v)) is not None:
            raise ValueError(p)
        return v


class RegressionRule(_Spec):
    """The candidate may not score lower than the model serving now, on the same dataset version."""

    tolerance: float = Field(default=0.0, ge=0.0, le=1.0)
    """How much lower than the incumbent's figure the candidate's may be (absolute, e.g. 0.01)."""


def _fraction(v: float) -> float:
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{v} is not a figure from 0 to 1 (every gate metric is a fraction: 0.9, not 90)")
    return v


# The schema states the range too (for editors); the validator words the error for the spec's author.
_Fraction = Annotated[float, AfterValidator(_fraction), Field(json_schema_extra={"minimum": 0, "maximum": 1})]


class GateEvaluation(_Spec):
    """One evaluation of the deployed model and the figures it must reach."""

    evaluation: str
    """Name of an Evaluation spec of the deployment's model (its figures are read from the service)."""
    thresholds: dict[str, _Fraction] = Field(default_factory=dict)
    """Metric name → the least figure accepted (``accuracyTop1: 0.9`` means accuracyTop1 >= 0.9). Names are
    the Evaluation's figures for the model kind (docs/specs.md, Deployment)."""
    must_not_regress: RegressionRule | None = None
    """Also compare each threshold metric with the incumbent model's figure on the same dataset version."""

    @model_validator(mode="after")
    def _something_to_check(self) -> "GateEvaluation":
        if not self.thresholds and self.must_not_regress is None:
            raise ValueError("give 'thresholds' (metric: least figure) and/or 'mustNotRegress'")
        if self.must_not_regress is not None and not self.thresholds:
            raise ValueError("'mustNotRegress' compares the metrics named in 'thresholds'; name at least one "
                             "(a threshold of 0 checks the regression alone)")
        return self


class RolloutSpec(_Spec):
    """How traffic moves to a candidate whose gate holds."""

    steps: list[Annotated[int, Field(json_schema_extra={"minimum": 1, "maximum": 100})]] = Field(
        default_factory=lambda: [100], min_length=1, max_length=10)
    """Traffic percentages of the candidate, one per apply, increasing and ending at 100 (default ``[100]``:
    all at once)."""
    bake_minutes: int = Field(default=0, ge=0, le=7 * 24 * 60)
    """The least time between two steps; an apply sooner leaves the traffic as it is (and says when)."""

    @field_validator("steps")
    @classmethod
    def _steps(cls, v: list[int]) -> list[int]:
        if any(not 0 < x <= 100 for x in v) or any(b <= a for a, b in zip(v, v[1:])) or v[-1] != 100:
            raise ValueError("steps must increase strictly, each from 1 to 100, and end at 100 (e.g. [10, 50, 100])")
        return v


#: An online endpoint's name: a regional DNS label (Azure ML's rule; the schema carries it too).
ENDPOINT_NAME = r"[a-zA-Z][a-zA-Z0-9-]{1,30}[a-zA-Z0-9]"


class DeploymentSpec(_Spec):
    """A managed online endpoint serving one model version, switched blue/green only when its gate holds."""

    kind: Literal["Deployment"]
    name: str = Field(json_schema_extra={"pattern": f"^{ENDPOINT_NAME}$"})
    """The endpoint's name (3 to 32 characters: letters, digits and hyphens, starting with a letter)."""
    model: str
    """Name of the Model spec to serve (its newest registered version)."""
    instance_type: str = "Standard_DS3_v2"
    """The VM size of each instance (billed per instance-hour while the deployment exists)."""
    instance_count: int = Field(default=1, ge=1, le=20)
    """Instances of each deployment."""
    gate: list[GateEvaluation] = Field(default_factory=list, max_length=10)
    """Evaluations whose figures must hold before traffic moves to a new model version (empty: no gate)."""
    rollout: RolloutSpec = Field(default_factory=RolloutSpec)
    """Traffic steps and bake time."""
    keep_previous: int = Field(default=1, ge=0, le=5)
    """Old deployments kept at 0 % traffic (a revert is then a traffic switch); older ones are deleted."""
    protect: bool = False
    """Refuse deletion of this endpoint (``--prune``)."""

    @field_validator("name")
    @classmethod
    def _endpoint_name(cls, v: str) -> str:
        if not re.fullmatch(ENDPOINT_NAME, v):
            raise ValueError("an endpoint name is 3 to 32 letters, digits and hyphens, starting with a letter "
                             "and not ending with a hyphen")
        return v

    @field_validator("model")
    @classmethod
    def _model_name(cls, v: str) -> str:
        if (p := names.name_problem(v)) is not None:
            raise ValueError(p)
        return v


AnySpec = Annotated[Union[DatasetSpec, ModelSpec, EvaluationSpec, DeploymentSpec], Field(discriminator="kind")]
