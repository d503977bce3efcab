"""The backend protocol and the typed values that cross it.

Failure contracts (Pulumi's provider contract, adapted):

- ``create_*``: if it raises, the resource may or may not exist (the answer can be
  lost after the service committed it); the caller re-reads by name before retrying.
  Names are the identity, and PUTs are create-only, so a create can never run twice.
- ``update_dataset``: if it raises :class:`~reconcile.errors.PreconditionFailedError`
  the eTag moved; nothing was written by this call.
- ``delete_*``: if it raises, the resource is assumed to still exist. Deleting a
  resource that is already gone is not an error (returns ``False``).
- ``observe``: list calls only; never one GET per resource.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Protocol


@dataclass(frozen=True, slots=True)
class LiveDataset:
    """A registered dataset as the service reports it."""

    name: str
    annotation_kind: str
    annotation_file_uris: tuple[str, ...]
    custom_properties: Mapping[str, str]
    authentication_kind: str | None
    etag: str
    created: str | None = None
    updated: str | None = None


@dataclass(frozen=True, slots=True)
class LiveModel:
    """A model (a training run) as the service reports it."""

    name: str
    status: str
    training_dataset: str
    budget_hours: int
    model_kind: str | None = None
    test_dataset: str | None = None
    training_cost_minutes: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    performance: Mapping[str, object] | None = None
    created: str | None = None
    updated: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class LiveEvaluation:
    """A model evaluation as the service reports it."""

    model: str
    name: str
    status: str
    test_dataset: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    performance: Mapping[str, object] | None = None
    created: str | None = None
    updated: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in ("succeeded", "failed")


@dataclass(frozen=True, slots=True)
class LiveState:
    """Everything observed in one pass. Evaluations are keyed by ``(model, name)``."""

    datasets: Mapping[str, LiveDataset] = field(default_factory=dict)
    models: Mapping[str, LiveModel] = field(default_factory=dict)
    evaluations: Mapping[tuple[str, str], LiveEvaluation] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DatasetRequest:
    """The body of a dataset PUT or PATCH, already resolved (URIs, markers)."""

    name: str
    annotation_kind: str
    annotation_file_uris: tuple[str, ...]
    custom_properties: Mapping[str, str]
    authentication_kind: str | None = None


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """The body of a model PUT (starts training)."""

    name: str
    model_kind: str
    training_dataset: str
    budget_hours: int
    test_dataset: str | None = None


@dataclass(frozen=True, slots=True)
class EvaluationRequest:
    """The body of an evaluation PUT."""

    model: str
    name: str
    test_dataset: str


@dataclass(frozen=True, slots=True)
class PredictedTag:
    name: str
    confidence: float


@dataclass(frozen=True, slots=True)
class PredictedObject:
    x: int
    y: int
    w: int
    h: int
    tags: tuple[PredictedTag, ...]


@dataclass(frozen=True, slots=True)
class Prediction:
    """What a custom model says about one image."""

    model: str
    width: int
    height: int
    tags: tuple[PredictedTag, ...] = ()
    objects: tuple[PredictedObject, ...] = ()


class Backend(Protocol):
    """What the planner and executor need from a service (see the module docstring for failure contracts)."""

    def observe(self, *, evaluations_of: frozenset[str] | None = None) -> LiveState:
        """List datasets, models and (for the models named, or all when ``None``) their evaluations."""
        ...

    def list_models(self) -> dict[str, LiveModel]:
        """Every model (list calls only)."""
        ...

    def get_dataset(self, name: str) -> LiveDataset | None: ...

    def get_model(self, name: str) -> LiveModel | None: ...

    def get_evaluation(self, model: str, name: str) -> LiveEvaluation | None: ...

    def create_dataset(self, request: DatasetRequest) -> LiveDataset: ...

    def update_dataset(self, request: DatasetRequest, *, etag: str) -> LiveDataset: ...

    def delete_dataset(self, name: str, *, etag: str | None = None) -> bool: ...

    def create_model(self, request: ModelRequest) -> LiveModel: ...

    def cancel_model(self, name: str) -> None: ...

    def delete_model(self, name: str) -> bool: ...

    def create_evaluation(self, request: EvaluationRequest) -> LiveEvaluation: ...

    def delete_evaluation(self, model: str, name: str) -> bool: ...

    def predict(self, model: str, *, image: bytes | None = None, url: str | None = None) -> Prediction: ...

    def close(self) -> None: ...
