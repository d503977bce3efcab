"""Drift classes: how live resources moved away from what was applied. Pure: no I/O.

The inputs are the live objects, the inventory records written by the last
apply, and the sha256 of the label bytes found behind each URI now (fetched by
:func:`reconcile.labels.probe_label_digests`). See
:mod:`reconcile.plan.model` for the classes and their meaning.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from reconcile.backends.base import LiveDataset
from reconcile.inventory.records import ResourceRecord
from reconcile.plan import desired
from reconcile.plan import normalize
from reconcile.plan.model import Drift, LabelFile
from reconcile.specs.models import DatasetSpec


def changed_in_service(record: ResourceRecord | None, spec_hash: str | None, live_fp: str | None) -> list[Drift]:
    """The live fingerprint moved since the last apply while the spec stayed the same."""
    if record is None or record.live_fingerprint is None or live_fp is None:
        return []
    if record.spec_hash != spec_hash or record.live_fingerprint == live_fp:
        return []
    return [Drift(kind="changed-in-service",
                  detail="changed in the service since the last apply while its spec did not change "
                  "(edited outside git); apply restores the declared fields and records the live state")]


def deleted_in_service(record: ResourceRecord | None, live: object | None) -> list[Drift]:
    if record is None or live is not None or record.intent is not None and record.live_fingerprint is None:
        # A bare intent without a recorded fingerprint may simply never have reached the service.
        return []
    return [Drift(kind="deleted-in-service", detail="recorded in the inventory but gone from the service")]


def digest_of(uris: Sequence[str], shas: Mapping[str, str]) -> str | None:
    """The label digest (as registered in customProperties) of ``uris`` with the bytes found now."""
    if not uris or any(u not in shas for u in uris):
        return None
    return desired.labels_digest([LabelFile(source=u, uri=u, sha256=shas[u]) for u in uris])


def labels_changed(
    spec: DatasetSpec, have: LiveDataset | None, record: ResourceRecord | None, shas: Mapping[str, str]
) -> list[Drift]:
    """Label bytes behind the same URI no longer match the pin, the registered digest or the inventory."""
    out: list[Drift] = []
    for label in spec.labels:
        uri, pin = label.uri, label.sha256
        if uri and pin and uri in shas and shas[uri] != pin.lower():
            out.append(Drift(kind="labels-changed",
                             detail=f"the bytes behind {uri} no longer match the sha256 pinned in the spec "
                             f"(pinned {pin[:12]}, found {shas[uri][:12]}); fix the file or review and re-pin"))
    if out or have is None:
        return out
    now = digest_of(list(have.label_uris), shas)
    if now is None:
        return out
    registered = have.custom_properties.get(normalize.LABELS_DIGEST_KEY) or (record.labels_digest if record else None)
    if registered and registered != now:
        out.append(Drift(kind="labels-changed",
                         detail="the label bytes behind the registered URIs changed since they were registered "
                         f"(digest {registered[:12]} -> {now[:12]}); apply records the new digest"))
    return out


def stale_model(record: ResourceRecord | None, dataset: str, dataset_digest: str | None,
                budget_hours: int | None = None) -> list[Drift]:
    """The training dataset's label digest differs from the one recorded when training was submitted."""
    if record is None or not record.labels_digest or not dataset_digest or record.labels_digest == dataset_digest:
        return []
    cost = f" (up to {budget_hours} compute hours)" if budget_hours else ""
    return [Drift(kind="stale-model",
                  detail=f"trained on dataset {dataset}@{record.labels_digest[:12]}; its labels are now "
                  f"@{dataset_digest[:12]}: retrain{cost} under a new name or by replacing it (allowReplace), "
                  "or keep it")]
