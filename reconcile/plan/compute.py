"""Desired vs live to a :class:`~reconcile.plan.model.Plan`. Pure: no I/O.

Only the fields a spec declares are compared (server-side-apply style): live
customProperties keys we did not declare are kept (and carried into a PATCH so
that a full-object PATCH does not drop them), and an undeclared ``testDataset``
is not compared.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Callable, Mapping, Sequence

from reconcile import __version__
from reconcile.backends.base import LiveState
from reconcile.backends.vision import dataset_body, model_body
from reconcile.inventory.records import Inventory
from reconcile.plan import desired as D
from reconcile.plan import drift as X
from reconcile.plan import guardrails as G
from reconcile.plan import normalize as N
from reconcile.plan.model import (
    FieldChange,
    LabelDiffDoc,
    LabelFile,
    Plan,
    ResourceChange,
    Summary,
    fingerprint,
)

#: Model fields whose change forces a new training run (models are immutable).
MODEL_IMMUTABLE = ("modelKind", "trainingDataset", "testDataset", "budgetHours")


def _source_of(specs: Any, kind: str, name: Any) -> str | None:
    try:
        ref = specs.source(kind, name)
    except Exception:  # noqa: BLE001 - a missing location only costs the plan a hint
        return None
    if ref is None:
        return None
    return f"{ref.file}:{ref.line}"


def dataset_fp(live: Any) -> str | None:
    return None if live is None else fingerprint(N.dataset_fingerprint_fields(live))


def model_fp(live: Any) -> str | None:
    return None if live is None else fingerprint(N.model_fingerprint_fields(live))


def evaluation_fp(live: Any) -> str | None:
    return None if live is None else fingerprint(N.evaluation_fields(live))


def resource_fingerprints(specs: Any, live: LiveState) -> dict[str, str | None]:
    """Per-address live fingerprints of every resource the specs name."""
    out: dict[str, str | None] = {}
    for name in specs.datasets:
        out[f"dataset/{name}"] = dataset_fp(live.datasets.get(name))
    for name in specs.models:
        out[f"model/{name}"] = model_fp(live.models.get(name))
    for model, name in specs.evaluations:
        out[f"evaluation/{model}/{name}"] = evaluation_fp(live.evaluations.get((model, name)))
    return out


def compute_plan(
    specs: Any,
    live: LiveState,
    *,
    labels: Mapping[str, Sequence[LabelFile]],
    environment: str,
    endpoint: str,
    api_version: str,
    label_diffs: Mapping[str, LabelDiffDoc] | None = None,
    specs_fingerprint: str = "",
    now: Callable[[], _dt.datetime] = lambda: _dt.datetime.now(_dt.timezone.utc),
    inventory: Inventory | None = None,
    prune: bool = False,
    guardrails: Any = None,
    label_shas: Mapping[str, str] | None = None,
) -> Plan:
    """Compare ``specs`` (a :class:`reconcile.specs.loader.SpecSet`) with ``live``.

    ``labels`` maps each dataset name to its resolved label files. ``inventory``
    (what earlier applies recorded) drives ownership, protection of removed specs
    and drift; ``prune`` plans deletions of owned resources that left the specs;
    ``guardrails`` (:class:`reconcile.specs.config.Guardrails`) fills
    ``Plan.guardrails``; ``label_shas`` maps label URIs to the sha256 of the bytes
    behind them now (labels-changed drift). Raises
    :class:`~reconcile.errors.SpecError` only for problems that need both sides
    (e.g. reserved customProperties); everything else was validated when loading.
    """
    from reconcile.plan.ownership import outside_specs
    from reconcile.specs.fingerprint import spec_hash

    label_diffs = label_diffs or {}
    inventory = inventory or Inventory(environment=environment)
    shas = dict(label_shas or {})
    records = inventory.records
    changes: list[ResourceChange] = []
    updated_datasets: set[str] = set()
    digests: dict[str, str | None] = {}

    for name in sorted(specs.datasets):
        spec = specs.datasets[name]
        src = _source_of(specs, "Dataset", name)
        want = D.desired_dataset(spec, labels.get(name) or D.uri_labels(spec), source=src)
        have = live.datasets.get(name)
        change = _dataset_change(want, have, src)
        if change.action != "no-op":
            updated_datasets.add(name)
            if name in label_diffs:
                change = change.model_copy(update={"label_diff": label_diffs[name]})
        rec = records.get(change.address)
        digests[name] = D.labels_digest(want.labels)
        drift = (X.deleted_in_service(rec, have) + X.changed_in_service(rec, spec_hash(spec), change.live_fingerprint)
                 + X.labels_changed(spec, have, rec, shas))
        changes.append(change.model_copy(update={
            "spec_hash": spec_hash(spec), "protected": spec.protect, "labels_digest": digests[name], "drift": drift}))

    for name in sorted(specs.models):
        spec = specs.models[name]
        src = _source_of(specs, "Model", name)
        change = _model_change(spec, live, src, updated_datasets)
        rec = records.get(change.address)
        drift = (X.deleted_in_service(rec, live.models.get(name))
                 + X.changed_in_service(rec, spec_hash(spec), change.live_fingerprint))
        if change.action == "no-op":
            drift += X.stale_model(rec, spec.training_dataset, digests.get(spec.training_dataset), spec.budget_hours)
        changes.append(change.model_copy(update={
            "spec_hash": spec_hash(spec), "protected": spec.protect, "drift": drift}))

    replaced_models = {c.name for c in changes if c.kind == "Model" and c.action == "replace"}
    for key in sorted(specs.evaluations):
        spec = specs.evaluations[key]
        src = _source_of(specs, "Evaluation", key)
        change = _evaluation_change(spec, live, src, replaced_models)
        rec = records.get(change.address)
        drift = (X.deleted_in_service(rec, live.evaluations.get(key))
                 + X.changed_in_service(rec, spec_hash(spec), change.live_fingerprint))
        changes.append(change.model_copy(update={
            "spec_hash": spec_hash(spec), "protected": spec.protect, "drift": drift}))

    changes += outside_specs(specs, live, inventory, prune=prune)

    summary = Summary(
        create=sum(c.action == "create" for c in changes),
        update=sum(c.action == "update" for c in changes),
        replace=sum(c.action == "replace" for c in changes),
        noOp=sum(c.action == "no-op" for c in changes),
        delete=sum(c.action == "delete" for c in changes),
        unmanaged=sum(c.action == "unmanaged" for c in changes),
        drifted=sum(bool(c.drift) for c in changes),
        training_hours=sum(c.training_hours or 0 for c in changes),
    )
    fps = {c.address: c.live_fingerprint for c in changes if c.action != "unmanaged"}
    warnings = [f"{c.address}: {n}" for c in changes for n in c.notes]
    violations = G.check(changes, G.Limits.of(guardrails), specs_empty=len(specs) == 0)
    return Plan(
        tool_version=__version__,
        created_at=now().isoformat(timespec="seconds").replace("+00:00", "Z"),
        environment=environment,
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


def _dataset_change(want: D.DesiredDataset, have: Any, src: str | None) -> ResourceChange:
    req = want.request
    address = f"dataset/{req.name}"
    common: dict[str, Any] = dict(
        address=address, kind="Dataset", name=req.name, source=src, labels=list(want.labels)
    )
    if have is None:
        return ResourceChange(action="create", desired=dataset_body(req), reason="does not exist", **common)

    live = N.dataset_fields(have)
    diffs: list[FieldChange] = []
    if live["annotationKind"] != req.annotation_kind:
        diffs.append(FieldChange(path="annotationKind", before=live["annotationKind"], after=req.annotation_kind,
                                 forces_replacement=True))
    # A SAS query is how the service reads a blob, not which blob: specs never hold one (issue 11).
    only_sas = [N.without_query(u) for u in live["annotationFileUris"]] == [
        N.without_query(u) for u in req.annotation_file_uris]
    if live["annotationFileUris"] != list(req.annotation_file_uris) and not only_sas:
        diffs.append(FieldChange(path="labels", before=live["annotationFileUris"], after=list(req.annotation_file_uris)))
    for key in sorted(req.custom_properties):
        before = have.custom_properties.get(key)
        if before != req.custom_properties[key]:
            diffs.append(FieldChange(path=f"customProperties.{key}", before=before, after=req.custom_properties[key]))
    if req.authentication_kind is not None and live["authentication"] != req.authentication_kind:
        diffs.append(FieldChange(path="authentication", before=live["authentication"], after=req.authentication_kind))

    # Keep the properties others own: PATCH replaces the object (semantics unknown), so send them back.
    keep = {k: v for k, v in have.custom_properties.items() if k not in req.custom_properties}
    body = dataset_body(req)
    if only_sas:
        body.pop("annotationFileUris", None)  # PATCH merges: the service keeps the URIs (and SAS) it holds
    if keep:
        body["customProperties"] = dict(sorted({**keep, **req.custom_properties}.items()))
    fp = dataset_fp(have)
    if not diffs:
        return ResourceChange(action="no-op", live_etag=have.etag, live_fingerprint=fp, **common)
    forced = [d.path for d in diffs if d.forces_replacement]
    if forced:
        return ResourceChange(
            action="replace", changes=diffs, replace_fields=forced, desired=dataset_body(req), live_etag=have.etag,
            live_fingerprint=fp, reason=f"{', '.join(forced)} cannot change in place (forces replacement)", **common,
        )
    return ResourceChange(
        action="update", changes=diffs, desired=body, live_etag=have.etag, live_fingerprint=fp,
        reason=", ".join(d.path for d in diffs) + " changed", **common,
    )


def _model_change(spec: Any, live: LiveState, src: str | None,
                  updated_datasets: set[str]) -> ResourceChange:
    req = D.desired_model(spec)
    deps = [f"dataset/{spec.training_dataset}"] + ([f"dataset/{spec.test_dataset}"] if spec.test_dataset else [])
    common: dict[str, Any] = dict(
        address=f"model/{spec.name}", kind="Model", name=spec.name, source=src, depends_on=deps,
        desired=model_body(req), replace_allowed=bool(spec.allow_replace),
    )
    have = live.models.get(spec.name)
    if have is None:
        return ResourceChange(action="create", reason="does not exist", training_hours=spec.budget_hours, **common)

    fields = N.model_fields(have)
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
    notes: list[str] = []
    if have.status == "failed":
        notes.append(f"training failed ({have.error_code or 'unknown'}): {have.error_message or ''}".rstrip(": "))
    elif have.status == "cancelled":
        notes.append("training was cancelled; the model is unusable until replaced")
    if spec.training_dataset in updated_datasets and not diffs:
        notes.append(f"dataset {spec.training_dataset} changes in this plan; the model keeps its old training data "
                     "(models are immutable: rename it or set allowReplace to retrain)")
    fp = model_fp(have)
    if not diffs:
        return ResourceChange(action="no-op", live_fingerprint=fp, live_status=have.status, notes=notes, **common)
    forced = [d.path for d in diffs]
    return ResourceChange(
        action="replace", changes=diffs, replace_fields=forced, live_fingerprint=fp, live_status=have.status,
        reason=f"{', '.join(forced)} changed; models are immutable (forces replacement)",
        training_hours=spec.budget_hours, notes=notes, **common,
    )


def _evaluation_change(spec: Any, live: LiveState, src: str | None, replaced_models: set[str]) -> ResourceChange:
    req = D.desired_evaluation(spec)
    common: dict[str, Any] = dict(
        address=f"evaluation/{spec.model}/{spec.name}", kind="Evaluation", name=spec.name, model=spec.model,
        source=src, depends_on=[f"model/{spec.model}", f"dataset/{spec.dataset}"],
        desired={"evaluationParameters": {"testDatasetName": req.test_dataset}},
        replace_allowed=bool(spec.allow_replace),
    )
    have = live.evaluations.get((spec.model, spec.name))
    if have is None:
        return ResourceChange(action="create", reason="does not exist", **common)
    fp = evaluation_fp(have)
    if spec.model in replaced_models:
        return ResourceChange(
            action="replace", replace_fields=["model"], live_fingerprint=fp, live_status=have.status,
            reason=f"model {spec.model} is replaced; its evaluation is re-run on the new model", **common,
        )
    if have.test_dataset != spec.dataset:
        diff = FieldChange(path="dataset", before=have.test_dataset, after=spec.dataset, forces_replacement=True)
        return ResourceChange(
            action="replace", changes=[diff], replace_fields=["dataset"], live_fingerprint=fp, live_status=have.status,
            reason="dataset changed; evaluations are immutable (forces replacement)", **common,
        )
    return ResourceChange(action="no-op", live_fingerprint=fp, live_status=have.status, **common)
