"""The backend protocol and the typed values that cross it.

The values are service-neutral and speak the specs' vocabulary: what we want
(:class:`DesiredDataset`, :class:`DesiredModel`, :class:`DesiredEvaluation`, stored in
the plan) and what the service has (:class:`LiveDataset`, :class:`LiveModel`,
:class:`LiveEvaluation`). Only a backend turns them into its service's wire bodies
and back; what differs between services is declared in :class:`Capabilities`, and
the planner and the executor read it instead of assuming one service.
See docs/architecture.md for where a new backend plugs in.

Failure contracts (Pulumi's provider contract, adapted):

- ``create_*``: if it raises, the resource may or may not exist (the answer can be
  lost after the service committed it); the caller re-reads by name before retrying.
  Names are the identity, and PUTs are create-only, so a create can never run twice.
- ``update_dataset``: if it raises :class:`~reconcile.errors.PreconditionFailedError`
  the eTag moved; nothing was written by this call.
- ``delete_*``: if it raises, the resource is assumed to still exist. Deleting a
  resource that is already gone is not an error (returns ``False``).
- ``observe``, ``list_models`` and the ``get_*`` reads: read-only (``plan`` and ``status`` write
  nothing); list calls only for ``observe``, never one GET per resource.
- ``finish_model``: the one write a ``trained`` model still needs (idempotent, so a crash between
  the end of training and this step converges on the next apply or wait).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal, Mapping, Protocol, Sequence

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


@dataclass(frozen=True, slots=True)
class LiveDataset:
    """A registered dataset as the service reports it."""

    name: str
    annotation_kind: str
    label_uris: tuple[str, ...]
    """The label files the dataset is registered with, in order."""
    custom_properties: Mapping[str, str]
    authentication_kind: str | None
    etag: str
    """The service's version token of this object (sent back as a precondition on update)."""
    created: str | None = None
    updated: str | None = None
    version: str | None = None
    """The registered version (versioned services): an evaluation of another version is stale for a gate."""


#: A model whose training succeeded but which is not usable until apply (or ``wait``) takes the step
#: named by :attr:`LiveModel.pending` (Azure ML: register the best trial as a model version). Not terminal.
MODEL_TRAINED: Final = "trained"


@dataclass(frozen=True, slots=True)
class ReusableVersion:
    """An earlier registered version of a model, trained on the data versions its datasets have now: apply makes
    it current again without training when the spec returns to exactly these fields (a revert)."""

    version: str
    training_dataset: str
    budget_hours: int
    model_kind: str | None = None
    test_dataset: str | None = None


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
    pending: str | None = None
    """With status ``trained``: the step :meth:`Backend.finish_model` takes, in words (``registration``)."""
    version: str | None = None
    """The registered version a deployment serves (versioned services; ``None`` until one is registered)."""
    reusable: tuple[ReusableVersion, ...] = ()
    """Earlier versions a revert can make current again with no training (versioned services), newest first."""

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
    model_version: str | None = None
    """The model version scored (versioned services)."""
    dataset_version: str | None = None
    """The dataset version scored on (versioned services): a gate refuses figures of another version."""

    @property
    def terminal(self) -> bool:
        return self.status in ("succeeded", "failed")


@dataclass(frozen=True, slots=True)
class LiveDeployment:
    """One deployment behind an endpoint: a model version served on some instances."""

    name: str
    model: str
    """The model name it serves (``""`` when it serves something not registered by name)."""
    model_version: str
    instance_type: str
    instance_count: int
    provisioning: str
    """``Creating``, ``Updating``, ``Succeeded``, ``Failed``, ``Deleting``... (the service's word)."""
    managed: bool = False
    """Created by vision-gitops (its marker tag)."""


@dataclass(frozen=True, slots=True)
class LiveEndpoint:
    """An endpoint applications call, its deployments and how traffic is split between them."""

    name: str
    provisioning: str
    traffic: Mapping[str, int]
    deployments: Mapping[str, LiveDeployment]
    managed: bool = False
    """Carries vision-gitops' marker tag."""
    recorded_traffic: Mapping[str, int] | None = None
    """The traffic map vision-gitops last set (a tag on the endpoint); ``None`` when it never set one."""
    traffic_at: str | None = None
    """When vision-gitops last moved traffic (ISO 8601 UTC, a tag): the bake time counts from it."""
    history: tuple[str, ...] = ()
    """Deployments that took all traffic, oldest first (a tag): which old ones ``keepPrevious`` keeps."""
    scoring_uri: str | None = None


@dataclass(frozen=True, slots=True)
class LiveState:
    """Everything observed in one pass. Evaluations are keyed by ``(model, name)``."""

    datasets: Mapping[str, LiveDataset] = field(default_factory=dict)
    models: Mapping[str, LiveModel] = field(default_factory=dict)
    evaluations: Mapping[tuple[str, str], LiveEvaluation] = field(default_factory=dict)
    endpoints: Mapping[str, LiveEndpoint] = field(default_factory=dict)
    """Online endpoints with their deployments (services with ``Capabilities.deployments``)."""
    figures: Mapping[tuple[str, str, str], LiveEvaluation] = field(default_factory=dict)
    """Evaluations a deployment gate reads, keyed by ``(model, evaluation, model version)``, with figures."""
    #: How the backend read this pass (fast or deep, see :meth:`Backend.observe`), in a sentence a plan
    #: shows ("" when there is nothing to say: every read is deep).
    observation: str = ""


class _Value(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")


class DesiredDataset(_Value):
    """A dataset as we want it live: label URIs resolved, ownership markers added."""

    kind: Literal["Dataset"] = "Dataset"
    name: str
    annotation_kind: str
    """``imageClassification`` or ``imageObjectDetection`` (spec vocabulary)."""
    label_uris: tuple[str, ...]
    """Where the service reads the label files (content-addressed for local files). Empty only in an
    update whose URIs differ from the live ones by their SAS query alone: the update keeps the live ones."""
    custom_properties: dict[str, str] = Field(default_factory=dict)
    """Declared properties plus this tool's markers, sorted; a backend may keep others' keys beside them."""
    authentication: str | None = None
    """How the service reads the label URIs (spec ``authentication``); ``None``: the service default."""


class DesiredModel(_Value):
    """A model as we want it: one training run of ``model_kind`` on ``training_dataset``."""

    kind: Literal["Model"] = "Model"
    name: str
    model_kind: str
    training_dataset: str
    budget_hours: int
    """The spec's training budget; what it bounds (compute hours, wall clock) is the backend's to say."""
    test_dataset: str | None = None


class DesiredEvaluation(_Value):
    """An evaluation of ``model`` on ``dataset``."""

    kind: Literal["Evaluation"] = "Evaluation"
    model: str
    name: str
    dataset: str


class GateRule(_Value):
    """One evaluation a deployment's gate reads, and what its figures must reach (spec vocabulary)."""

    evaluation: str
    dataset: str
    """The evaluation's dataset: the incumbent is measured on the same dataset version."""
    thresholds: dict[str, float] = Field(default_factory=dict)
    """Metric → least figure accepted."""
    tolerance: float | None = None
    """``mustNotRegress``: the candidate may score at most this much below the incumbent; ``None``: not checked."""


class DesiredDeployment(_Value):
    """What one apply makes live behind an endpoint: the candidate deployment, the traffic map and what goes.

    A rollout spans several applies; each plan computes the next step from what is live, so this is the
    target of *this* apply, not the end state."""

    kind: Literal["Deployment"] = "Deployment"
    name: str
    """The endpoint's name."""
    model: str
    model_version: str | None = None
    """The registered version to serve; ``None`` while the model has none (the rollout waits)."""
    deployment: str
    """The candidate deployment's name, derived from model and version (a re-run finds it, never a duplicate)."""
    instance_type: str
    instance_count: int
    traffic: dict[str, int] = Field(default_factory=dict)
    """The endpoint's traffic after this apply (deployment → percent); empty: no switch in this apply."""
    remove: tuple[str, ...] = ()
    """Old deployments (at 0 %) deleted after the switch: beyond ``keepPrevious``."""
    bake_minutes: int = 0
    """The least time between two traffic moves (re-checked by apply)."""
    gate: tuple[GateRule, ...] = ()
    """What apply re-checks right before it moves traffic to the candidate."""
    history: tuple[str, ...] = ()
    """Deployments that served all traffic, oldest first, after this apply (which old ones are kept)."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What differs between services, declared by each backend and read by plan and apply."""

    service: str
    """A short name of the service kind (``vision``); a plan made for one service is refused by another."""
    model_change: Literal["replace", "new-version"] = "replace"
    """A model whose training inputs changed is deleted and created again (``replace``), or trained
    as a new version beside the old one (``new-version``, versioned services)."""
    dataset_change: Literal["update", "new-version"] = "update"
    """A dataset whose labels or properties changed is updated in place (with its version token as a
    precondition), or registered as a new version (versioned services)."""
    evaluation_resources: bool = True
    """Whether evaluations exist on the service as resources of their own."""
    cancel_training: bool = True
    """Whether running training can be cancelled; without it, a replacement waits for the run to end."""
    training_nodes: int = 1
    """The most compute nodes one training may hold at once: a budget of ``h`` hours costs up to
    ``training_nodes × h`` compute hours, which the plan shows and the cost guardrails hold."""
    budget_note: str | None = None
    """What ``budgetHours`` bounds on this service, shown with each training in the plan (``{hours}``,
    ``{nodes}``, ``{worst}`` are filled in); ``None`` when it is plainly compute hours."""
    evaluation_note: str | None = None
    """How this service runs an evaluation and what of it is not known to be faithful, shown with each
    evaluation the plan runs; ``None`` when the service evaluates natively."""
    deployments: bool = False
    """Whether the service has deployment resources (endpoints serving a model version with traffic); without
    them a ``Deployment`` spec is a validation error (Vision: applications call analyze with a model name)."""
    deployment_note: str | None = None
    """Why a ``Deployment`` spec cannot be used on this service, shown in that validation error."""


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

    capabilities: Capabilities

    def observe(self, *, evaluations_of: frozenset[str] | None = None, deep: bool = False) -> LiveState:
        """List datasets, models and (for the models named, or all when ``None``) their evaluations.

        ``deep``: read every version of a versioned resource, even where the service's container says
        nothing changed (scheduled drift checks; Azure ML, docs/azureml.md). A backend whose reads are always
        deep ignores it."""
        ...

    def list_models(self) -> dict[str, LiveModel]:
        """Every model (list calls only)."""
        ...

    def get_dataset(self, name: str) -> LiveDataset | None: ...

    def get_model(self, name: str) -> LiveModel | None: ...

    def get_evaluation(self, model: str, name: str) -> LiveEvaluation | None: ...

    def check_labels(self, dataset: str, annotation_kind: str, files: Sequence[tuple[str, bytes]]) -> None:
        """Plan-time check of a dataset's local label files (``(shown, bytes as uploaded)``) for what this
        service needs beyond the COCO rules. Raises :class:`~reconcile.errors.InputError` naming the file."""
        ...

    def create_dataset(self, desired: DesiredDataset) -> LiveDataset: ...

    def update_dataset(self, desired: DesiredDataset, *, etag: str) -> LiveDataset: ...

    def delete_dataset(self, name: str, *, etag: str | None = None) -> bool: ...

    def create_model(self, desired: DesiredModel) -> LiveModel:
        """Submit training. With ``model_change="new-version"`` a model of that name may already
        exist: the backend adds a version beside it."""
        ...

    def cancel_model(self, name: str) -> None:
        """Ask a running training to stop (only called when ``capabilities.cancel_training``)."""
        ...

    def finish_model(self, name: str) -> LiveModel | None:
        """Take the step a ``trained`` model still needs (a write, idempotent) and return the model as it is
        now (``succeeded``); a model in any other state is returned unchanged. ``None``: no such model."""
        ...

    def delete_model(self, name: str) -> bool: ...

    def create_evaluation(self, desired: DesiredEvaluation) -> LiveEvaluation: ...

    def delete_evaluation(self, model: str, name: str) -> bool: ...

    def predict(self, model: str, *, image: bytes | None = None, url: str | None = None) -> Prediction: ...

    def close(self) -> None: ...


class DeploymentBackend(Backend, Protocol):
    """A backend whose ``capabilities.deployments`` is true: endpoints, deployments and traffic.

    Writes start long-running operations and return without waiting (apply submits, the next apply or
    ``status`` sees the outcome); each is idempotent by name, so a re-run after a crash converges."""

    def list_endpoints(self) -> dict[str, LiveEndpoint]:
        """Every online endpoint with its deployments (list calls only)."""
        ...

    def get_endpoint(self, name: str) -> LiveEndpoint | None: ...

    def gate_evaluation(self, model: str, evaluation: str, model_version: str, dataset: str) -> LiveEvaluation | None:
        """The evaluation of ``model`` version ``model_version`` on the *current* version of ``dataset`` (figures
        included when it succeeded), or ``None`` when none was run."""
        ...

    def evaluate_version(self, model: str, evaluation: str, model_version: str, dataset: str) -> LiveEvaluation:
        """Submit the evaluation :meth:`gate_evaluation` looks for (a re-run adopts it)."""
        ...

    def create_endpoint(self, name: str) -> None:
        """Create the endpoint (no traffic), marked as ours; an existing one is left as it is."""
        ...

    def put_deployment(self, endpoint: str, name: str, *, model: str, model_version: str, instance_type: str,
                       instance_count: int) -> None: ...

    def set_traffic(self, endpoint: str, traffic: Mapping[str, int], *, history: Sequence[str], at: str) -> None:
        """Set the traffic map and record it (with when, and the serving history) on the endpoint."""
        ...

    def delete_deployment(self, endpoint: str, name: str) -> bool: ...

    def delete_endpoint(self, name: str) -> bool: ...
