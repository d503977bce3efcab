"""Desired vs live to a :class:`~reconcile.plan.model.Plan`. Pure: no I/O.

Only the fields a spec declares are compared (server-side-apply style): live
customProperties keys we did not declare are kept (and carried into an update so
that a whole-object update does not drop them), and an undeclared ``testDataset``
is not compared. What a change becomes on the service (an update in place or a new
version, a replacement or a new version) follows the backend's declared
:class:`~reconcile.backends.base.Capabilities`.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Callable, Mapping, Sequence

from reconcile import __version__
from reconcile.backends.base import MODEL_TRAINED, Capabilities, LiveDataset, LiveState
from reconcile.errors import SpecError
from reconcile.inventory.records import Inventory
from reconcile.plan import deployments as deployment_plan
from reconcile.plan import desired
from reconcile.plan import drift
from reconcile.plan import guardrails
from reconcile.plan import normalize
from reconcile.plan.fingerprints import dataset_fp, evaluation_fp, model_fp
from reconcile.plan.model import (
    FORMAT_VERSION,
    FieldChange,
    LabelDiffDoc,
    LabelFile,
    LiveDatasetValue,
    LiveEvaluationValue,
    LiveModelValue,
    Plan,
    ResourceChange,
    Summary,
    fingerprint,
)
from reconcile.plan.ownership import outside_specs
from reconcile.specs.fingerprint import spec_hash
from reconcile.specs.loader import SpecSet
from reconcile.specs.models import DatasetSpec, EvaluationSpec, ModelSpec

#: Model fields whose change forces a new training run (models are immutable).
MODEL_IMMUTABLE = ("modelKind", "trainingDataset", "testDataset", "budgetHours")

#: Why a spec'd live resource we do not own is a conflict, and what to do about it.
CONFLICT_REASON = "exists and is not managed: `reconcile import` it or rename the spec"


def _source_of(specs: SpecSet, kind: str, name: str | tuple[str, str]) -> str | None:
    try:
        ref = specs.source(kind, name)
    except KeyError:  # a spec set built without locations only costs the plan a hint
        return None
    return f"{ref.file}:{ref.line}"


def compute_plan(
    specs: SpecSet,
    live: LiveState,
    *,
    labels: Mapping[str, Sequence[LabelFile]],
    environment: str,
    endpoint: str,
    api_version: str,
    capabilities: Capabilities,
    label_diffs: Mapping[str, LabelDiffDoc] | None = None,
    inventory: Inventory,
    prune: bool,
    specs_fingerprint: str = "",
    now: Callable[[], _dt.datetime] = lambda: _dt.datetime.now(_dt.timezone.utc),
    limits: guardrails.Limits = guardrails.Limits(),
    label_shas: Mapping[str, str] | None = None,
) -> Plan:
    """Compare ``specs`` with ``live``.

    ``labels`` maps each dataset name to its resolved label files (a dataset missing
    from it has only URI labels, taken from its spec). A URI label without a ``sha256``
    pin gets the digest of the bytes found behind it now (``label_shas``), so changed
    bytes behind the same URI show up as a dataset update. ``inventory``
    (what earlier applies recorded) drives ownership, protection of removed specs
    and drift; ``prune`` plans deletions of owned resources that left the specs;
    ``limits`` fills ``Plan.guardrails``; ``label_shas`` maps label URIs to the
    sha256 of the bytes behind them now (labels-changed drift). Raises
    :class:`~reconcile.errors.SpecError` only for problems that need both sides
    (e.g. reserved customProperties, evaluations on a service without them);
    everything else was validated when loading.
    """
    label_diffs = label_diffs or {}
    shas = dict(label_shas or {})

    def resolved(spec: DatasetSpec) -> list[LabelFile]:
        files = labels.get(spec.name) or desired.uri_labels(spec)
        return [lf if lf.sha256 or lf.uri not in shas else lf.model_copy(update={"sha256": shas[lf.uri]})
                for lf in files]

    records = inventory.records
    changes: list[ResourceChange] = []
    updated_datasets: set[str] = set()
    digests: dict[str, str | None] = {}

    if specs.evaluations and not capabilities.evaluation_resources:
        raise SpecError(
            f"the {capabilities.service} service has no evaluation resources",
            problems=[f"{_source_of(specs, 'Evaluation', key) or '/'.join(key)}: remove this Evaluation"
                      for key in sorted(specs.evaluations)],
        )

    deployment_plan.require_deployments(specs, capabilities)

    for name in sorted(specs.datasets):
        spec = specs.datasets[name]
        src = _source_of(specs, "Dataset", name)
        want = desired.desired_dataset(spec, resolved(spec), source=src)
        have = live.datasets.get(name)
        change = _dataset_change(want, have, src, capabilities)
        rec = records.get(change.address)
        if have is not None and rec is None and not normalize.has_marker(have):
            changes.append(_conflict(change, spec_hash(spec), spec.protect))
            continue
        if change.action != "no-op":
            updated_datasets.add(name)
            if name in label_diffs:
                change = change.model_copy(update={"label_diff": label_diffs[name]})
        digests[name] = desired.labels_digest(want.labels)
        found = (drift.deleted_in_service(rec, have)
                 + drift.changed_in_service(rec, spec_hash(spec), change.live_fingerprint)
                 + drift.labels_changed(spec, have, rec, shas))
        changes.append(change.model_copy(update={
            "spec_hash": spec_hash(spec), "protected": spec.protect, "labels_digest": digests[name], "drift": found}))

    for name in sorted(specs.models):
        model = specs.models[name]
        src = _source_of(specs, "Model", name)
        change = _model_change(model, live, src, updated_datasets, capabilities)
        rec = records.get(change.address)
        if rec is None and name in live.models:
            changes.append(_conflict(change, spec_hash(model), model.protect))
            continue
        found = (drift.deleted_in_service(rec, live.models.get(name))
                 + drift.changed_in_service(rec, spec_hash(model), change.live_fingerprint))
        if change.action == "no-op":
            found += drift.stale_model(rec, model.training_dataset, digests.get(model.training_dataset),
                                       model.budget_hours)
        changes.append(change.model_copy(update={
            "spec_hash": spec_hash(model), "protected": model.protect, "drift": found}))

    changed_models = {c.name: c.action for c in changes
                      if c.kind == "Model" and c.action in ("replace", "new-version")}
    for key in sorted(specs.evaluations):
        evaluation = specs.evaluations[key]
        src = _source_of(specs, "Evaluation", key)
        change = _evaluation_change(evaluation, live, src, changed_models, capabilities.evaluation_note)
        rec = records.get(change.address)
        if rec is None and key in live.evaluations:
            changes.append(_conflict(change, spec_hash(evaluation), evaluation.protect))
            continue
        found = (drift.deleted_in_service(rec, live.evaluations.get(key))
                 + drift.changed_in_service(rec, spec_hash(evaluation), change.live_fingerprint))
        changes.append(change.model_copy(update={
            "spec_hash": spec_hash(evaluation), "protected": evaluation.protect, "drift": found}))

    evaluated_now: dict[str, frozenset[str]] = {}
    for c in changes:
        if c.kind == "Evaluation" and c.model and c.action in ("create", "replace", "new-version"):
            evaluated_now[c.model] = evaluated_now.get(c.model, frozenset()) | {c.name}
    changes += deployment_plan.deployment_changes(specs, live, inventory, prune=prune, evaluations_created=evaluated_now,
                                                  now=now, models_retrained=frozenset(changed_models))
    changes += outside_specs(specs, live, inventory, prune=prune)
    changes = [_with_live(c, live) for c in changes]

    def count(action: str) -> int:
        return sum(c.action == action for c in changes)

    summary = Summary(
        create=count("create"), update=count("update"), replace=count("replace"), new_version=count("new-version"),
        noOp=count("no-op"), delete=count("delete"), unmanaged=count("unmanaged"), conflict=count("conflict"),
        drifted=sum(bool(c.drift) for c in changes),
        training_hours=sum(c.training_hours or 0 for c in changes),
        instance_hours_per_day=sum(c.instance_hours_per_day or 0 for c in changes),
    )
    fps = {c.address: c.live_fingerprint for c in changes if c.action != "unmanaged"}
    warnings = [f"{c.address}: {n}" for c in changes for n in c.notes]
    violations = guardrails.check(changes, limits, specs_empty=len(specs) == 0)
    return Plan(
        format_version=FORMAT_VERSION,
        tool_version=__version__,
        created_at=now().isoformat(timespec="seconds").replace("+00:00", "Z"),
        environment=environment,
        service=capabilities.service,
        endpoint=endpoint,
        api_version=api_version,
        specs_fingerprint=specs_fingerprint,
        live_fingerprint=fingerprint(sorted(fps.items())),
        changes=changes,
        summary=summary,
        warnings=warnings,
        prune=prune,
        guardrails=violations,
    )


def _with_live(change: ResourceChange, live: LiveState) -> ResourceChange:
    """``change`` with the typed live value of its resource, if the service has one."""
    value: LiveDatasetValue | LiveModelValue | LiveEvaluationValue | None = None
    if change.kind == "Dataset" and (d := live.datasets.get(change.name)) is not None:
        value = LiveDatasetValue(name=d.name, annotation_kind=d.annotation_kind, label_uris=list(d.label_uris),
                                 custom_properties=dict(d.custom_properties), authentication=d.authentication_kind,
                                 etag=d.etag)
    elif change.kind == "Model" and (m := live.models.get(change.name)) is not None:
        value = LiveModelValue(name=m.name, status=m.status, training_dataset=m.training_dataset,
                               budget_hours=m.budget_hours, model_kind=m.model_kind, test_dataset=m.test_dataset,
                               error_code=m.error_code)
    elif change.kind == "Deployment":
        return change  # the deployment planner fills ``live`` itself
    elif change.kind == "Evaluation" and (e := live.evaluations.get((change.model or "", change.name))) is not None:
        value = LiveEvaluationValue(model=e.model, name=e.name, status=e.status, test_dataset=e.test_dataset,
                                    error_code=e.error_code)
    return change if value is None else change.model_copy(update={"live": value})


def _conflict(change: ResourceChange, spec_hash: str, protected: bool) -> ResourceChange:
    """A live resource under a spec'd name that this tool does not own: apply refuses to touch it.

    The differences found are kept, so the reviewer sees what adopting it would change.
    """
    return change.model_copy(update={
        "action": "conflict", "reason": CONFLICT_REASON, "reason_code": "exists-not-managed", "replace_fields": [],
        "training_hours": None, "notes": [], "spec_hash": spec_hash, "protected": protected, "drift": [],
        "label_diff": None,
    })


def _dataset_change(want: desired.ResolvedDataset, have: LiveDataset | None, src: str | None,
                    capabilities: Capabilities) -> ResourceChange:
    value = want.desired
    common: dict[str, Any] = dict(
        address=f"dataset/{value.name}", kind="Dataset", name=value.name, source=src, labels=list(want.labels)
    )
    if have is None:
        return ResourceChange(action="create", desired=value, reason="does not exist", reason_code="does-not-exist",
                              **common)

    live = normalize.dataset_fields(have)
    diffs: list[FieldChange] = []
    if live["annotationKind"] != value.annotation_kind:
        diffs.append(FieldChange(path="annotationKind", before=live["annotationKind"], after=value.annotation_kind,
                                 forces_replacement=True))
    # A SAS query is how the service reads a blob, not which blob: specs never hold one.
    only_sas = list(have.label_uris) != list(value.label_uris) and [
        normalize.without_query(u) for u in have.label_uris] == [normalize.without_query(u) for u in value.label_uris]
    if list(have.label_uris) != list(value.label_uris) and not only_sas:
        diffs.append(FieldChange(path="labels", before=list(have.label_uris), after=list(value.label_uris)))
    for key in sorted(value.custom_properties):
        before = have.custom_properties.get(key)
        if before != value.custom_properties[key]:
            diffs.append(FieldChange(path=f"customProperties.{key}", before=before, after=value.custom_properties[key]))
    if value.authentication is not None and live["authentication"] != value.authentication:
        diffs.append(FieldChange(path="authentication", before=live["authentication"], after=value.authentication))

    fp = dataset_fp(have)
    if not diffs:
        return ResourceChange(action="no-op", reason_code="up-to-date", live_etag=have.etag, live_fingerprint=fp,
                              **common)
    if capabilities.dataset_change == "new-version":
        return ResourceChange(
            action="new-version", changes=diffs, desired=value, live_etag=have.etag, live_fingerprint=fp,
            reason=", ".join(d.path for d in diffs) + " changed; registered as a new version", reason_code="versioned",
            **common,
        )
    forced = [d.path for d in diffs if d.forces_replacement]
    if forced:
        return ResourceChange(
            action="replace", changes=diffs, replace_fields=forced, desired=value, live_etag=have.etag,
            live_fingerprint=fp, reason=f"{', '.join(forced)} cannot change in place (forces replacement)",
            reason_code="cannot-update", **common,
        )
    # Keep the properties others own: an update may replace the whole object, so send them back.
    keep = {k: v for k, v in have.custom_properties.items() if k not in value.custom_properties}
    update: dict[str, Any] = {"custom_properties": dict(sorted({**keep, **value.custom_properties}.items()))}
    if only_sas:
        update["label_uris"] = ()  # no URIs: the update keeps the ones (and their SAS) the service holds
    merged = value.model_copy(update=update)
    return ResourceChange(
        action="update", changes=diffs, desired=merged, live_etag=have.etag, live_fingerprint=fp,
        reason=", ".join(d.path for d in diffs) + " changed", reason_code="fields-changed", **common,
    )


def _model_change(spec: ModelSpec, live: LiveState, src: str | None, updated_datasets: set[str],
                  capabilities: Capabilities) -> ResourceChange:
    value = desired.desired_model(spec)
    deps = [f"dataset/{spec.training_dataset}"] + ([f"dataset/{spec.test_dataset}"] if spec.test_dataset else [])
    common: dict[str, Any] = dict(
        address=f"model/{spec.name}", kind="Model", name=spec.name, source=src, depends_on=deps,
        desired=value, replace_allowed=bool(spec.allow_replace),
    )
    have = live.models.get(spec.name)
    # Worst case: the budget on every node the service may use (the Vision budget is compute hours already).
    hours = spec.budget_hours * capabilities.training_nodes
    budget_notes = [capabilities.budget_note.format(hours=spec.budget_hours, nodes=capabilities.training_nodes,
                                                    worst=hours)] if capabilities.budget_note else []
    if have is None:
        return ResourceChange(action="create", reason="does not exist", reason_code="does-not-exist",
                              training_hours=hours, notes=budget_notes, **common)

    fields = normalize.model_fields(have)
    wanted = {
        "modelKind": spec.model_kind,
        "trainingDataset": spec.training_dataset,
        "testDataset": spec.test_dataset,
        "budgetHours": spec.budget_hours,
    }
    diffs = [
        FieldChange(path=k, before=fields[k], after=wanted[k], forces_replacement=True)
        for k in MODEL_IMMUTABLE
        # Undeclared testDataset and an un-echoed modelKind are not compared.
        if not (k == "testDataset" and wanted[k] is None) and not (k == "modelKind" and fields[k] is None)
        and fields[k] != wanted[k]
    ]
    versioned = capabilities.model_change == "new-version"
    notes: list[str] = []
    if have.status == "failed":
        notes.append(f"training failed ({have.error_code or 'unknown'}): {have.error_message or ''}".rstrip(": "))
    elif have.status == "cancelled":
        notes.append("training was cancelled; the model is unusable until replaced")
    if spec.training_dataset in updated_datasets and not diffs:
        notes.append(f"dataset {spec.training_dataset} changes in this plan; the model keeps its old training data "
                     + ("(change the model spec to train a new version)" if versioned else
                        "(models are immutable: rename it or set allowReplace to retrain)"))
    fp = model_fp(have)
    if versioned and not diffs and have.status in ("failed", "cancelled"):
        # Job names are never reused: the failed or cancelled job stays, and a new one (the next generation)
        # trains the same spec. Shown in the plan and held by the cost guardrails like any training.
        return ResourceChange(
            action="new-version", live_fingerprint=fp, live_status=have.status,
            reason=f"the model's training ended {have.status} outside apply; trained again as a new job",
            reason_code="ended-outside", training_hours=hours, notes=notes + budget_notes, **common,
        )
    if not diffs and have.status == MODEL_TRAINED:
        # Plan writes nothing: the step the service still needs (Azure ML: registering the best trial) is apply's.
        return ResourceChange(
            action="update", live_fingerprint=fp, live_status=have.status,
            reason=f"training succeeded; {have.pending or 'a finishing step'} pending", reason_code="registration-pending",
            notes=notes, **common,
        )
    if not diffs:
        return ResourceChange(action="no-op", reason_code="up-to-date", live_fingerprint=fp,
                              live_status=have.status, notes=notes, **common)
    forced = [d.path for d in diffs]
    back = next((r for r in have.reusable if versioned and r.training_dataset == spec.training_dataset
                 and r.budget_hours == spec.budget_hours and r.test_dataset == spec.test_dataset
                 and (r.model_kind is None or r.model_kind == spec.model_kind)), None)
    if back is not None:
        # A revert: that version was trained on the data versions the datasets have now, so apply makes it
        # current again; nothing is trained or billed (no training hours for the guardrails).
        return ResourceChange(
            action="new-version", changes=diffs, live_fingerprint=fp, live_status=have.status,
            reason=f"{', '.join(forced)} changed back; reverts to version {back.version} with no training",
            reason_code="reverted", notes=notes, **common,
        )
    if versioned:
        return ResourceChange(
            action="new-version", changes=diffs, live_fingerprint=fp, live_status=have.status,
            reason=f"{', '.join(forced)} changed; trained as a new version beside the old one", reason_code="versioned",
            training_hours=hours, notes=notes + budget_notes, **common,
        )
    return ResourceChange(
        action="replace", changes=diffs, replace_fields=forced, live_fingerprint=fp, live_status=have.status,
        reason=f"{', '.join(forced)} changed; models are immutable (forces replacement)", reason_code="cannot-update",
        training_hours=hours, notes=notes + budget_notes, **common,
    )


def _evaluation_change(spec: EvaluationSpec, live: LiveState, src: str | None,
                       changed_models: Mapping[str, str], note: str | None = None) -> ResourceChange:
    change = _evaluation_action(spec, live, src, changed_models)
    if note and change.action != "no-op":
        return change.model_copy(update={"notes": [*change.notes, note]})
    return change


def _evaluation_action(spec: EvaluationSpec, live: LiveState, src: str | None,
                       changed_models: Mapping[str, str]) -> ResourceChange:
    common: dict[str, Any] = dict(
        address=f"evaluation/{spec.model}/{spec.name}", kind="Evaluation", name=spec.name, model=spec.model,
        source=src, depends_on=[f"model/{spec.model}", f"dataset/{spec.dataset}"],
        desired=desired.desired_evaluation(spec), replace_allowed=bool(spec.allow_replace),
    )
    have = live.evaluations.get((spec.model, spec.name))
    if have is None:
        return ResourceChange(action="create", reason="does not exist", reason_code="does-not-exist", **common)
    fp = evaluation_fp(have)
    if changed_models.get(spec.model) == "replace":
        return ResourceChange(
            action="replace", replace_fields=["model"], live_fingerprint=fp, live_status=have.status,
            reason=f"model {spec.model} is replaced; its evaluation is re-run on the new model",
            reason_code="parent-replaced", **common,
        )
    if changed_models.get(spec.model) == "new-version":
        return ResourceChange(
            action="new-version", live_fingerprint=fp, live_status=have.status,
            reason=f"model {spec.model} gets a new version; it is evaluated too", reason_code="parent-new-version",
            **common,
        )
    model = live.models.get(spec.model)
    if (model is not None and model.status == "succeeded" and model.version and have.model_version
            and have.model_version != model.version):
        # The apply that trained the version deferred its evaluation (it waits for training): run it now.
        return ResourceChange(
            action="new-version", live_fingerprint=fp, live_status=have.status,
            reason=f"evaluates model {spec.model}'s current version {model.version} (the last evaluation is of "
                   f"{have.model_version})", reason_code="parent-new-version", **common,
        )
    if have.test_dataset != spec.dataset:
        diff = FieldChange(path="dataset", before=have.test_dataset, after=spec.dataset, forces_replacement=True)
        return ResourceChange(
            action="replace", changes=[diff], replace_fields=["dataset"], live_fingerprint=fp, live_status=have.status,
            reason="dataset changed; evaluations are immutable (forces replacement)", reason_code="cannot-update",
            **common,
        )
    return ResourceChange(action="no-op", reason_code="up-to-date", live_fingerprint=fp, live_status=have.status,
                          **common)
