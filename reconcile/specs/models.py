"""Pydantic models of the three spec kinds.

YAML keys are camelCase, like the service's own fields, and unknown keys are
rejected. References are by name: a Model names its training (and optional test)
dataset, an Evaluation names its model and dataset. A Dataset's labels are either
blob URIs or local COCO files in the repo (uploaded by apply; see
:mod:`reconcile.storage`).

Example::

    kind: Dataset
    name: shapes-train
    annotationKind: imageClassification
    labels:
      - file: data/shapes/train.coco.json
        images: data/shapes/images
    ---
    kind: Model
    name: shapes-classifier
    modelKind: Generic-Classifier
    trainingDataset: shapes-train
    budgetHours: 1
    ---
    kind: Evaluation
    name: shapes-holdout
    model: shapes-classifier
    dataset: shapes-test
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from reconcile.api import names

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
    )


class LabelSource(_Spec):
    """One annotation file: either a blob ``uri`` or a local COCO ``file`` (+ optional ``images`` folder)."""

    uri: str | None = None
    """Absolute URI of a COCO file already in blob storage."""
    file: str | None = None
    """Path (relative to the repo root) of a COCO file kept in git; apply uploads it content-addressed."""
    images: str | None = None
    """Local folder with the images the local COCO file names (by ``file_name``); only with ``file``."""
    sha256: str | None = None
    """Pin the bytes behind ``uri``: plan reports drift when the blob's content no longer matches."""

    @model_validator(mode="after")
    def _one_source(self) -> "LabelSource":
        if (self.uri is None) == (self.file is None):
            raise ValueError("give exactly one of 'uri' (a blob URI) or 'file' (a local COCO file)")
        if self.images is not None and self.file is None:
            raise ValueError("'images' goes with a local 'file', not with 'uri'")
        if self.uri is not None and not self.uri.lower().startswith(("https://", "http://", "file://")):
            raise ValueError("'uri' must be an absolute https:// (or http:// / file:// for emulators) URI")
        if self.sha256 is not None:
            s = self.sha256.lower()
            if len(s) != 64 or any(c not in "0123456789abcdef" for c in s):
                raise ValueError("'sha256' must be 64 hex digits")
        return self


class DatasetSpec(_Spec):
    """A dataset registration: ``PUT /datasets/{name}``; changes are PATCHed."""

    kind: Literal["Dataset"]
    name: str
    annotation_kind: AnnotationKind
    labels: list[LabelSource] = Field(min_length=1, max_length=names.MAX_ANNOTATION_FILE_URIS)
    custom_properties: dict[str, str] = Field(default_factory=dict)
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
        return v


class ModelSpec(_Spec):
    """A custom model: ``PUT /models/{name}`` starts training. Immutable once created."""

    kind: Literal["Model"]
    name: str
    model_kind: ModelKind
    training_dataset: str
    test_dataset: str | None = None
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
    model: str
    dataset: str
    protect: bool = False
    allow_replace: bool = False

    @field_validator("name", "model", "dataset")
    @classmethod
    def _names(cls, v: str) -> str:
        if (p := names.name_problem(v)) is not None:
            raise ValueError(p)
        return v


AnySpec = Annotated[Union[DatasetSpec, ModelSpec, EvaluationSpec], Field(discriminator="kind")]
