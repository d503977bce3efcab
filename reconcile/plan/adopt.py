"""Adopting live resources we do not own (``reconcile import``): spec documents plus inventory records.

Pure: takes a plan (whose ``unmanaged`` and ``conflict`` changes name the
candidates) and the live state, returns the spec documents to write and the
records to save. A ``conflict`` already has a spec, so it only gets a record
(the next plan then shows how the live resource differs from that spec). A model
brings along its unmanaged datasets, an evaluation its model and dataset, so
the written specs always load. Secrets are never written into specs: SAS query
strings are cut from label URIs, and a customProperty whose key or value looks like
a secret (:func:`reconcile.client.redact.secret_kind`) is left out with a note; it
stays on the live dataset, since apply keeps customProperties a spec does not declare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from pydantic import TypeAdapter

from reconcile.backends.base import LiveDataset, LiveState
from reconcile.client.redact import secret_kind
from reconcile.errors import UsageError
from reconcile.inventory.records import ResourceRecord, utc_now
from reconcile.plan import normalize
from reconcile.plan.fingerprints import dataset_fp, evaluation_fp, model_fp
from reconcile.plan.model import Plan
from reconcile.specs.fingerprint import spec_hash
from reconcile.specs.models import AnySpec

_MODEL_KIND_FOR = {"imageClassification": "Generic-Classifier", "imageObjectDetection": "Generic-Detector"}


@dataclass(slots=True)
class Adoption:
    docs: list[dict[str, Any]] = field(default_factory=list)
    """Spec documents (camelCase, as written to YAML), datasets first."""
    records: list[ResourceRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _dataset_doc(d: LiveDataset, notes: list[str], protect: bool) -> dict[str, Any]:
    labels = []
    for uri in d.label_uris:
        base = uri.split("?", 1)[0]
        if base != uri:
            notes.append(f"dataset/{d.name}: the query string of a label URI was not written (secrets never go "
                         "in specs); set `authentication` if the service needs it")
        labels.append({"uri": base})
    doc: dict[str, Any] = {"kind": "Dataset", "name": d.name, "annotationKind": normalize.annotation_kind(d.annotation_kind),
                           "labels": labels}
    props = {}
    for key, value in sorted(d.custom_properties.items()):
        if key.startswith(normalize.MARKER_PREFIX):
            continue
        if (kind := secret_kind(key)) is not None:
            notes.append(f"dataset/{d.name}: a customProperties key looks like {kind}; it was not written to the "
                         "spec (secrets never go in specs) and stays on the live dataset untouched")
            continue
        if (kind := secret_kind(str(value))) is not None:
            notes.append(f"dataset/{d.name}: customProperties.{key} looks like {kind}; it was not written to the "
                         "spec (secrets never go in specs) and stays on the live dataset untouched; move the "
                         "secret out of the dataset's properties")
            continue
        props[key] = value
    if props:
        doc["customProperties"] = props
    if d.authentication_kind:
        doc["authentication"] = normalize.auth_kind(d.authentication_kind)
    if protect:
        doc["protect"] = True
    return doc


def adopt(plan: Plan, live: LiveState, addresses: Iterable[str] = (), *, protect: bool = False) -> Adoption:
    """Spec documents and records for the unmanaged resources named (all of them when none is named).

    Raises :class:`~reconcile.errors.UsageError` for a named address that is not unmanaged.
    """
    parse_spec = TypeAdapter(AnySpec).validate_python

    candidates = {c.address: c for c in plan.changes if c.action in ("unmanaged", "conflict")}
    wanted = list(addresses) or sorted(candidates)
    unknown = [a for a in wanted if a not in candidates]
    if unknown:
        raise UsageError("not a live resource vision-gitops does not own: " + ", ".join(unknown),
                         hint="`reconcile plan` lists them with `?` (not managed) or `!` (conflict with a spec)")
    chosen: set[str] = set()

    def want(address: str) -> None:
        if address in candidates and address not in chosen:
            chosen.add(address)
            c = candidates[address]
            if c.action == "conflict":
                return  # its spec exists and names its dependencies already
            if c.kind == "Model":
                m = live.models[c.name]
                want(f"dataset/{m.training_dataset}")
                if m.test_dataset:
                    want(f"dataset/{m.test_dataset}")
            elif c.kind == "Evaluation":
                want(f"model/{c.model}")
                e = live.evaluations[(c.model or "", c.name)]
                if e.test_dataset:
                    want(f"dataset/{e.test_dataset}")

    for a in wanted:
        want(a)

    out = Adoption()
    now = utc_now()
    order = {"Dataset": 0, "Model": 1, "Evaluation": 2, "Deployment": 3}
    for address in sorted(chosen, key=lambda a: (order[candidates[a].kind], a)):
        c = candidates[address]
        if c.action == "conflict":
            out.records.append(ResourceRecord(
                address=address, kind=c.kind, name=c.name, model=c.model, spec_hash=c.spec_hash,
                live_fingerprint=c.live_fingerprint, protect=protect or c.protected, created_at=now, updated_at=now,
            ))
            continue
        if c.kind == "Deployment":
            # Which model version and gate an endpoint should have is a decision, not a fact on the service.
            out.notes.append(f"{address}: endpoints are not written as specs; write a Deployment spec named "
                             f"{c.name!r} for the model it should serve, then import it (a conflict) to take it over")
            continue
        if c.kind == "Dataset":
            d = live.datasets[c.name]
            doc = _dataset_doc(d, out.notes, protect)
            fp = dataset_fp(d)
        elif c.kind == "Model":
            m = live.models[c.name]
            kind = normalize.model_kind(m.model_kind)
            if kind is None:
                ds = live.datasets.get(m.training_dataset)
                kind = _MODEL_KIND_FOR.get(normalize.annotation_kind(ds.annotation_kind) or "") if ds else None
            if kind is None:
                out.notes.append(f"{address}: its model kind is unknown (not echoed, training dataset gone); skipped")
                continue
            doc = {"kind": "Model", "name": m.name, "modelKind": kind, "trainingDataset": m.training_dataset,
                   "budgetHours": int(m.budget_hours)}
            if m.test_dataset:
                doc["testDataset"] = m.test_dataset
            if protect:
                doc["protect"] = True
            fp = model_fp(m)
        else:
            e = live.evaluations[(c.model or "", c.name)]
            if not e.test_dataset:
                out.notes.append(f"{address}: the service does not say which dataset it evaluated; skipped")
                continue
            doc = {"kind": "Evaluation", "name": e.name, "model": e.model, "dataset": e.test_dataset}
            if protect:
                doc["protect"] = True
            fp = evaluation_fp(e)
        out.docs.append(doc)
        out.records.append(ResourceRecord(
            address=address, kind=c.kind, name=c.name, model=c.model, spec_hash=spec_hash(parse_spec(doc)),
            live_fingerprint=fp, protect=protect, created_at=now, updated_at=now,
        ))
    return out
