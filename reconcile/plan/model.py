"""The plan document.

A plan is a versioned JSON document (``formatVersion``). Consumers must check
``formatVersion``: a change of the major number means fields were removed or their
meaning changed; new optional fields may appear within a major version.

Resource addresses are ``dataset/<name>``, ``model/<name>`` and
``evaluation/<model>/<name>``. Each change carries the exact request body apply
will send (``desired``), the live fingerprint it was computed against (so a saved
plan can refuse to apply over a changed service), and, for a replacement, the
fields that force it.

Actions:

- ``create``   -- the resource does not exist; one PUT.
- ``update``   -- a dataset differs; one PATCH with ``If-Match: <liveEtag>``.
- ``replace``  -- an immutable field of a model or evaluation differs; cancel (if
  training) -> wait -> DELETE -> PUT. Refused unless allowed for the resource
  (``allowReplace: true`` in its spec) or by ``apply --allow-replace``.
- ``no-op``    -- live matches the spec in every field the spec declares.
- ``delete``   -- (``--prune`` only) a resource we own (dataset marker or inventory
  record) whose spec was removed; evaluations go before their model, a running
  training is cancelled and awaited first. Never planned for a protected resource.
- ``unmanaged`` -- a live resource we do not own; listed, never touched
  (``reconcile import`` adopts it).

Format 1.1 added ``delete``/``unmanaged``, and per change ``drift`` (drift classes,
below), ``protected``, ``specHash``, ``labelsDigest`` and ``owner``; per plan
``prune``, ``guardrails`` (violated limits and the flag that overrides each) and
summary counts ``delete``, ``unmanaged``, ``drifted``.

Drift classes (``drift[].kind``):

- ``changed-in-service`` -- the live object differs from what the inventory recorded
  at the last apply while its spec did not change (someone edited it outside git).
- ``deleted-in-service`` -- the inventory has it, the service does not.
- ``labels-changed``     -- the label file's bytes behind the same URI no longer
  match the digest registered (customProperties ``vision-gitops.labels-sha256``),
  the spec's ``sha256`` pin or the inventory.
- ``stale-model``        -- the model's training dataset's labels changed since the
  model was trained (models are immutable: rename it or allow a replacement).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

FORMAT_VERSION = "1.1"

Action = Literal["create", "update", "replace", "no-op", "delete", "unmanaged"]
DriftKind = Literal["changed-in-service", "deleted-in-service", "labels-changed", "stale-model"]
GuardrailRule = Literal["max-budget-hours-per-model", "max-budget-hours-per-apply", "max-deletions", "empty-specs",
                        "protected"]
ResourceKind = Literal["Dataset", "Model", "Evaluation"]


class _Doc(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="forbid")


class FieldChange(_Doc):
    """One field that differs between live and desired."""

    path: str
    """Spec-level field path, e.g. ``labels``, ``budgetHours``, ``customProperties.team``."""
    before: Any = None
    """The live (normalized) value; ``None`` when absent."""
    after: Any = None
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


class ResourceChange(_Doc):
    """One resource's planned action."""

    address: str
    kind: ResourceKind
    name: str
    model: str | None = None
    """The parent model of an evaluation."""
    action: Action
    reason: str | None = None
    changes: list[FieldChange] = Field(default_factory=list)
    replace_fields: list[str] = Field(default_factory=list)
    replace_allowed: bool = False
    desired: dict[str, Any] = Field(default_factory=dict)
    """The exact request body apply sends (PUT or PATCH)."""
    live_etag: str | None = None
    """The live dataset eTag an update sends as If-Match."""
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


class Summary(_Doc):
    create: int = 0
    update: int = 0
    replace: int = 0
    no_op: int = Field(0, alias="noOp")
    delete: int = 0
    unmanaged: int = 0
    drifted: int = 0
    """Resources with at least one drift class."""
    training_hours: int = 0
    """Worst-case compute hours of all training runs this plan submits."""


class Plan(_Doc):
    """A complete plan. ``has_changes`` decides the exit code of ``reconcile plan``."""

    format_version: str = FORMAT_VERSION
    tool_version: str
    created_at: str
    environment: str
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

    @property
    def has_changes(self) -> bool:
        """True when apply would write something (``unmanaged`` resources are never written)."""
        return any(c.action not in ("no-op", "unmanaged") for c in self.changes)

    @property
    def has_drift(self) -> bool:
        return any(c.drift for c in self.changes)

    def to_json(self) -> str:
        """The plan document, secrets masked (:func:`reconcile.client.redact.redact`): it is printed and saved."""
        from reconcile.client.redact import redact

        return redact(self.model_dump_json(by_alias=True, indent=2)) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> "Plan":
        return cls.model_validate_json(text)


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
