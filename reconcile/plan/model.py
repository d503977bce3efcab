"""The plan document.

A plan is a versioned JSON document. Its ``formatVersion`` (``MAJOR.MINOR``) is
required, and the contract is:

- a consumer refuses a plan whose **major** version it does not know, with a message
  naming both versions (a new major removes fields or changes their meaning);
- a consumer accepts a plan of a **newer minor** version of its major and ignores
  the optional fields it does not know (a new minor only adds optional fields).

Resource addresses are ``dataset/<name>``, ``model/<name>``,
``evaluation/<model>/<name>`` and ``deployment/<endpoint>``. Each change carries the typed, service-neutral value
apply will make live (``desired``: a Dataset, Model or Evaluation value; only the
backend turns it into its service's request), the typed value the service reported
when the plan was made (``live``, in the same vocabulary), the live fingerprint it was computed
against (so a saved plan can refuse to apply over a changed service), for a
replacement the fields that force it, and a machine-readable ``reasonCode`` beside
the human ``reason``. ``service`` and ``endpoint`` name the service the plan was
made against; apply refuses it anywhere else.

Actions:

- ``create``      -- the resource does not exist.
- ``update``      -- a dataset differs; updated in place with its live version token
  (``liveEtag``) as a precondition. For a model (reason ``registration-pending``): its
  training succeeded and the service needs one more step before it can be used (Azure ML:
  register the best trial as a model version); nothing is trained or billed.
- ``replace``     -- an immutable field differs on a service whose models are immutable:
  cancel (if training) -> wait -> delete -> create. Refused unless allowed for the
  resource (``allowReplace: true`` in its spec) or by ``apply --allow-replace``.
- ``new-version`` -- on a versioned service: the changed resource is created as a new
  version beside the old one; nothing is deleted.
- ``no-op``       -- live matches the spec in every field the spec declares.
- ``delete``      -- (``--prune`` only) a resource we own (dataset marker or inventory
  record) whose spec was removed; evaluations go before their model, a running
  training is cancelled and awaited first. Never planned for a protected resource.
- ``unmanaged``   -- a live resource we do not own and no spec names; listed, never
  touched (``reconcile import`` adopts it).
- ``conflict``    -- a live resource we do not own under a name a spec uses; apply
  refuses the whole plan before any write (``reconcile import`` adopts it, or rename
  the spec).

Reason codes (``reasonCode``), in the manner of Terraform's action reasons:
``does-not-exist``, ``fields-changed``, ``cannot-update`` (immutable fields),
``parent-replaced`` / ``parent-new-version`` (an evaluation follows its model),
``versioned`` (a versioned service records a change as a new version),
``ended-outside`` (on a versioned service, a model whose training failed or was cancelled is trained again
as a new job), ``registration-pending`` (a model's training succeeded; apply registers it), ``reverted`` (a model
``new-version`` whose spec returns to an earlier registered version trained on the data versions the datasets
have now: apply makes that version current again, nothing is trained or billed),
``up-to-date``, ``removed-from-specs``, ``kept-without-prune``, ``protected``,
``parent-deleted``, ``gone-from-service``, ``not-owned``, ``exists-not-managed``; for a deployment
(``create``/``update`` of ``deployment/<endpoint>``): ``rollout-step`` (a candidate is created or traffic
moves to it), ``gate-pending`` (the switch waits for the gate's figures or the model's registration),
``gate-failed`` (traffic stays; apply exits 1), ``baking`` (the next traffic step waits for the bake time),
``traffic-restored`` (traffic or the record of who served is set back to what vision-gitops last set).

Format history: 1.1 added ``delete``/``unmanaged``, drift, protection, spec hashes,
label digests, owners, ``prune`` and ``guardrails``. 2.0 replaced the request bodies
in ``desired`` by typed values, made ``formatVersion`` required, and added
``service``, ``reasonCode`` and the ``conflict`` and ``new-version`` actions. 2.1 added
``live``, the typed live value of each change, and the ``ended-outside`` reason code. 2.2 added the
``registration-pending`` reason code (a model ``update``) and the
``Deployment`` kind: ``gate`` (each check: threshold or no-regression, the candidate's and the incumbent's
figure, pass/fail/pending), ``instanceHoursPerDay``, the reason codes ``rollout-step``, ``gate-pending``,
``gate-failed``, ``baking``, ``traffic-restored``, the drift classes ``traffic-changed`` and
``unexpected-model`` and the guardrail ``max-instance-hours-per-day``. 2.3 added ``deep`` and
``observation`` (how the live state was read), and the ``reverted`` reason code.

Drift classes (``drift[].kind``):

- ``changed-in-service`` -- the live object differs from what the inventory recorded
  at the last apply while its spec did not change (someone edited it outside git).
- ``deleted-in-service`` -- the inventory has it, the service does not.
- ``labels-changed``     -- the label file's bytes behind the same URI no longer
  match the digest registered (customProperties ``vision-gitops.labels-sha256``),
  the spec's ``sha256`` pin or the inventory.
- ``stale-model``        -- the model's training dataset's labels changed since the
  model was trained (models are immutable: rename it or allow a replacement).
- ``traffic-changed``    -- an endpoint's traffic differs from what vision-gitops last set (changed by
  hand); the plan sets it back.
- ``unexpected-model``   -- an endpoint serves (traffic > 0) a deployment that no spec names and
  vision-gitops did not create.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from reconcile.backends.base import DesiredDataset, DesiredDeployment, DesiredEvaluation, DesiredModel
from reconcile import __version__
from reconcile.errors import ExitCode, InputError, JsonSyntaxError

#: The format this version writes; it reads every ``2.x``.
FORMAT_VERSION = "2.3"
FORMAT_MAJOR = 2

Action = Literal["create", "update", "replace", "new-version", "no-op", "delete", "unmanaged", "conflict"]
ReasonCode = Literal[
    "does-not-exist", "fields-changed", "cannot-update", "parent-replaced", "parent-new-version", "versioned",
    "ended-outside", "registration-pending", "reverted",
    "up-to-date", "removed-from-specs", "kept-without-prune", "protected", "parent-deleted", "gone-from-service",
    "not-owned", "exists-not-managed",
    "rollout-step", "gate-pending", "gate-failed", "baking", "traffic-restored",
]
#: A compared field's value: a name, kind or property (str), a budget (int), label URIs (list).
FieldValue = str | int | list[str] | None
Desired = Annotated[DesiredDataset | DesiredModel | DesiredEvaluation | DesiredDeployment,
                    Field(discriminator="kind")]
DriftKind = Literal["changed-in-service", "deleted-in-service", "labels-changed", "stale-model", "traffic-changed",
                    "unexpected-model"]
GuardrailRule = Literal["max-budget-hours-per-model", "max-budget-hours-per-apply", "max-deletions", "empty-specs",
                        "protected", "max-instance-hours-per-day"]
ResourceKind = Literal["Dataset", "Model", "Evaluation", "Deployment"]
GateStatus = Literal["pass", "fail", "pending"]


class _Doc(BaseModel):
    # Unknown fields are ignored: a newer minor format may add optional ones (module docstring).
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")


class FieldChange(_Doc):
    """One field that differs between live and desired."""

    path: str
    """Spec-level field path, e.g. ``labels``, ``budgetHours``, ``customProperties.team``."""
    before: FieldValue = None
    """The live (normalized) value; ``None`` when absent."""
    after: FieldValue = None
    """The desired value."""
    forces_replacement: bool = False
    """True for immutable fields of models and evaluations."""


class LabelFile(_Doc):
    """A label file apply must make available before registering a dataset."""

    source: str
    """``file:<repo path>`` for a local COCO file, or the blob URI given in the spec."""
    uri: str
    """The URI registered with the service (content-addressed for local files)."""
    sha256: str | None = None
    """Digest of the bytes behind ``uri`` (of the final, URL-filled file for local files)."""
    images: str | None = None
    """Local images folder to upload (local files only)."""
    upload: bool = False
    """Whether apply uploads this file (local files)."""


class CategoryDelta(_Doc):
    name: str
    images_before: int = 0
    images_after: int = 0
    boxes_before: int = 0
    boxes_after: int = 0


class LabelDiffDoc(_Doc):
    """A semantic label diff: what changed in the labels, never a raw JSON diff."""

    categories_added: list[str] = Field(default_factory=list)
    categories_removed: list[str] = Field(default_factory=list)
    categories_renamed: list[tuple[str, str]] = Field(default_factory=list)
    per_category: list[CategoryDelta] = Field(default_factory=list)
    images_added: int = 0
    images_removed: int = 0
    examples_added: list[str] = Field(default_factory=list)
    examples_removed: list[str] = Field(default_factory=list)
    note: str | None = None


class Drift(_Doc):
    """One way the live resource moved away from what was applied."""

    kind: DriftKind
    detail: str
    """A sentence for humans: what differs, and what to do."""


class GuardrailViolation(_Doc):
    """A limit this plan exceeds; apply refuses it (before any write) unless ``override`` is given."""

    rule: GuardrailRule
    limit: int | None = None
    value: int | None = None
    addresses: list[str] = Field(default_factory=list)
    message: str
    override: str | None = None
    """The apply flag that accepts it (``--approve-cost``, ``--confirm-deletions N``); ``None``: cannot be overridden."""


class LiveDatasetValue(_Doc):
    """A dataset as the service reported it when the plan was made (spec vocabulary)."""

    kind: Literal["Dataset"] = "Dataset"
    name: str
    annotation_kind: str
    label_uris: list[str] = Field(default_factory=list)
    custom_properties: dict[str, str] = Field(default_factory=dict)
    authentication: str | None = None
    etag: str | None = None


class LiveModelValue(_Doc):
    """A model (one training run) as the service reported it when the plan was made."""

    kind: Literal["Model"] = "Model"
    name: str
    status: str
    training_dataset: str
    budget_hours: int
    model_kind: str | None = None
    """``None`` when the service does not echo it."""
    test_dataset: str | None = None
    error_code: str | None = None


class LiveEvaluationValue(_Doc):
    """An evaluation as the service reported it when the plan was made."""

    kind: Literal["Evaluation"] = "Evaluation"
    model: str
    name: str
    status: str
    test_dataset: str | None = None
    error_code: str | None = None


class LiveDeploymentValue(_Doc):
    """An endpoint and its deployments as the service reported them when the plan was made."""

    kind: Literal["Deployment"] = "Deployment"
    name: str
    provisioning: str
    traffic: dict[str, int] = Field(default_factory=dict)
    deployments: dict[str, str] = Field(default_factory=dict)
    """Deployment name → ``model:version`` it serves."""


Live = Annotated[LiveDatasetValue | LiveModelValue | LiveEvaluationValue | LiveDeploymentValue,
                 Field(discriminator="kind")]


class GateCheck(_Doc):
    """One figure a deployment gate checks: a threshold, or no regression against the incumbent."""

    evaluation: str
    metric: str
    rule: Literal["threshold", "must-not-regress"]
    required: float | None = None
    """The least figure accepted (the threshold, or the incumbent's figure minus the tolerance)."""
    candidate: float | None = None
    """The candidate model version's figure (``None``: not known yet)."""
    incumbent: float | None = None
    """The figure of the model version serving now on the same dataset version (``None``: none serves, or not
    known yet)."""
    status: GateStatus
    detail: str | None = None
    """Why it is pending or failed, for humans."""


class Gate(_Doc):
    """A deployment's gate as evaluated with the figures known when the plan was made; apply re-checks it
    right before it moves traffic."""

    status: GateStatus
    """``pass``: every check passed; ``fail``: one failed (apply refuses the switch); ``pending``: a figure is
    not known yet (the switch waits)."""
    candidate: str
    """``model:version`` the traffic would move to."""
    incumbent: str | None = None
    """``model:version`` serving now (``None``: nothing serves yet)."""
    checks: list[GateCheck] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    """Why the gate is pending or failed (evaluation missing, running, failed, stale...)."""
    incumbent_evaluations: list[str] = Field(default_factory=list)
    """``evaluation`` names apply runs on the incumbent version first (its figure on this dataset version is
    missing); the switch then waits for them."""


class ResourceChange(_Doc):
    """One resource's planned action."""

    address: str
    kind: ResourceKind
    name: str
    model: str | None = None
    """The parent model of an evaluation."""
    action: Action
    reason: str | None = None
    """Why, for humans."""
    reason_code: ReasonCode
    """Why, for machines (see the module docstring)."""
    changes: list[FieldChange] = Field(default_factory=list)
    replace_fields: list[str] = Field(default_factory=list)
    replace_allowed: bool = False
    desired: Desired | None = None
    """The value apply makes live (``None`` for deletions and resources outside the specs)."""
    live: Live | None = None
    """What the service had when the plan was made (``None``: nothing under this name). For review and
    machines only: apply decides staleness by ``liveFingerprint``, never by this value."""
    live_etag: str | None = None
    """The live dataset's version token an update sends as its precondition."""
    live_fingerprint: str | None = None
    """Hash of the live fields this change was computed against; ``None`` when absent."""
    live_status: str | None = None
    labels: list[LabelFile] = Field(default_factory=list)
    label_diff: LabelDiffDoc | None = None
    training_hours: int | None = None
    """Worst-case compute hours a new training run can bill (the budget)."""
    source: str | None = None
    """``file:line`` of the spec."""
    depends_on: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    drift: list[Drift] = Field(default_factory=list)
    """Drift classes found for this resource (empty: none)."""
    protected: bool = False
    """``protect: true`` in the spec, or recorded in the inventory for a removed spec."""
    spec_hash: str | None = None
    """Hash of the spec (recorded in the inventory after apply)."""
    labels_digest: str | None = None
    """Datasets: the digest of the label bytes this plan registers (models trained now record it)."""
    owner: Literal["marker", "inventory"] | None = None
    """For ``delete``: why we own it (the dataset's marker, or an inventory record)."""
    gate: Gate | None = None
    """Deployments: the gate of the candidate model version (format 2.2)."""
    instance_hours_per_day: int | None = None
    """Deployments: instance-hours per day the new deployment adds (billed while it exists, traffic or not)."""


class Summary(_Doc):
    create: int = 0
    update: int = 0
    replace: int = 0
    new_version: int = 0
    no_op: int = Field(0, alias="noOp")
    delete: int = 0
    unmanaged: int = 0
    conflict: int = 0
    """Spec'd names held by live resources we do not own (apply refuses the plan)."""
    drifted: int = 0
    """Resources with at least one drift class."""
    training_hours: int = 0
    """Worst-case compute hours of all training runs this plan submits."""
    instance_hours_per_day: int = 0
    """Instance-hours per day the deployments this plan creates add."""


class Plan(_Doc):
    """A complete plan. ``has_changes`` decides the exit code of ``reconcile plan``."""

    format_version: str = Field(pattern=r"^[0-9]+\.[0-9]+$", description=(
        "MAJOR.MINOR, required. A reader refuses a major version it does not know and accepts a newer minor "
        "version of its major, ignoring the optional fields it does not know."))
    tool_version: str
    created_at: str
    environment: str
    service: str
    """The kind of service the plan was made against (a backend's ``Capabilities.service``)."""
    endpoint: str
    api_version: str
    specs_fingerprint: str
    live_fingerprint: str
    changes: list[ResourceChange]
    summary: Summary
    warnings: list[str] = Field(default_factory=list)
    prune: bool = False
    """Whether owned resources that left the specs were planned for deletion."""
    guardrails: list[GuardrailViolation] = Field(default_factory=list)
    deep: bool = False
    """Whether the live state was read deeply (``reconcile plan --deep``); apply's staleness check reads the same way."""
    observation: str = ""
    """How the backend read the live state, when it has something to say (Azure ML: fast or deep dataset reads)."""

    @property
    def has_changes(self) -> bool:
        """True when apply would write something, or refuses a conflict (``unmanaged`` resources are never written)."""
        return any(c.action not in ("no-op", "unmanaged") for c in self.changes)

    @property
    def has_drift(self) -> bool:
        return any(c.drift for c in self.changes)

    def exit_code(self, *, detailed: bool = False) -> ExitCode:
        """``reconcile plan``: CHANGES when apply would change something (with ``detailed``, or
        anything drifted), else OK."""
        return ExitCode.CHANGES if self.has_changes or (detailed and self.has_drift) else ExitCode.OK

    def to_json(self) -> str:
        """The plan document, secrets masked (:func:`reconcile.client.redact.redact`): it is printed and saved."""
        from reconcile.client.redact import redact

        return redact(self.model_dump_json(by_alias=True, indent=2)) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, *, where: str = "plan") -> "Plan":
        """Read a plan document. Raises :class:`~reconcile.errors.InputError` naming ``where`` when it is
        not JSON, has no ``formatVersion``, has a major version this tool does not read, or is invalid."""
        from reconcile import safejson
        from reconcile.limits import PLAN_FILE_BYTES

        try:
            doc = safejson.loads(text, limit=PLAN_FILE_BYTES, shown=where)
        except JsonSyntaxError as exc:
            raise InputError(f"{where}: not a vision-gitops plan (not JSON: {exc})",
                             hint="make one with `reconcile plan --out FILE`") from None
        version = doc.get("formatVersion") if isinstance(doc, dict) else None
        if not isinstance(version, str) or not version.split(".", 1)[0].isdigit():
            raise InputError(f"{where}: not a vision-gitops plan (no formatVersion)",
                             hint="make one with `reconcile plan --out FILE`")
        major = int(version.split(".", 1)[0])
        if major != FORMAT_MAJOR:
            raise InputError(
                f"{where}: plan format {version} cannot be read by vision-gitops {__version__}, which reads "
                f"format {FORMAT_MAJOR}.x",
                hint="make the plan and apply it with the same major version of vision-gitops",
            )
        try:
            return cls.model_validate(doc)
        except ValidationError as exc:
            first = exc.errors()[0]
            at = ".".join(str(p) for p in first["loc"])
            raise InputError(f"{where}: not a valid plan document ({at}: {first['msg']})",
                             hint="make one with `reconcile plan --out FILE`") from None


def fingerprint(value: Any) -> str:
    """A stable sha256 of a JSON-able value (sorted keys, compact), truncated to 32 hex digits."""
    blob = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of the plan document (written to schemas/plan.schema.json)."""
    schema = Plan.model_json_schema(by_alias=True)
    schema["$id"] = "https://vision-gitops.dev/schemas/plan.schema.json"
    schema["description"] = (__doc__ or "").strip()
    return schema
