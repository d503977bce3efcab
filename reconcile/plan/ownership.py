"""Live resources outside the specs: ours to prune, protected, gone, or not ours. Pure: no I/O.

Ownership: a dataset is ours when it carries the ``vision-gitops.managed-by``
marker or an inventory record; a model or evaluation only with an inventory
record (the service keeps no metadata on them). An evaluation of a model we
delete goes with it, so it counts as ours too. Everything else is ``unmanaged``:
listed, never touched.
"""

from __future__ import annotations

from typing import Any

from reconcile.backends.base import LiveState
from reconcile.inventory.records import Inventory
from reconcile.plan import drift
from reconcile.plan import normalize
from reconcile.plan.fingerprints import dataset_fp, evaluation_fp, model_fp
from reconcile.plan.model import ResourceChange
from reconcile.specs.loader import SpecSet

_NOT_OWNED = "not created by vision-gitops"


def outside_specs(specs: SpecSet, live: LiveState, inventory: Inventory, *, prune: bool) -> list[ResourceChange]:
    """Changes for everything live or recorded that no spec names, in deletion order:
    evaluations, models, datasets; then unmanaged resources."""

    records = inventory.records
    deletes: list[ResourceChange] = []
    kept: list[ResourceChange] = []
    unmanaged: list[ResourceChange] = []

    def owned(kind: str, address: str, change: dict[str, Any], owner: str) -> None:
        rec = records.get(address)
        if rec is not None and rec.protect:
            note = ("protected (recorded in the inventory): kept although its spec was removed; to delete it, "
                    "add the spec back with `protect: false`, apply, then remove it")
            kept.append(ResourceChange(action="no-op", reason_code="protected", protected=True, notes=[note],
                                       kind=kind, **change))
        elif prune:
            deletes.append(ResourceChange(action="delete", owner=owner, kind=kind, reason_code="removed-from-specs",
                                          reason="owned by vision-gitops and no longer in the specs", **change))
        else:
            kept.append(ResourceChange(action="no-op", kind=kind, reason_code="kept-without-prune", notes=[
                "owned by vision-gitops but no longer in the specs; `plan --prune` / `apply --prune` deletes it"],
                **change))

    doomed_models: set[str] = set()
    for name, m in sorted(live.models.items()):
        address = f"model/{name}"
        if name in specs.models:
            continue
        common = dict(address=address, name=name, live_fingerprint=model_fp(m), live_status=m.status)
        if address in records:
            owned("Model", address, common, "inventory")
            if prune and not records[address].protect:
                doomed_models.add(name)
        else:
            unmanaged.append(ResourceChange(action="unmanaged", kind="Model", reason=_NOT_OWNED,
                                            reason_code="not-owned", **common))

    for (model, name), e in sorted(live.evaluations.items()):
        address = f"evaluation/{model}/{name}"
        if (model, name) in specs.evaluations:
            continue
        common = dict(address=address, name=name, model=model, live_fingerprint=evaluation_fp(e),
                      live_status=e.status)
        if address in records:
            owned("Evaluation", address, common, "inventory")
        elif model in doomed_models:
            deletes.append(ResourceChange(action="delete", kind="Evaluation", owner="inventory",
                                          reason=f"its model {model} is deleted", reason_code="parent-deleted",
                                          **common))
        elif model in specs.models or f"model/{model}" in records:
            unmanaged.append(ResourceChange(action="unmanaged", kind="Evaluation", reason=_NOT_OWNED,
                                            reason_code="not-owned", **common))

    for name, d in sorted(live.datasets.items()):
        address = f"dataset/{name}"
        if name in specs.datasets:
            continue
        common = dict(address=address, name=name, live_fingerprint=dataset_fp(d), live_etag=d.etag)
        marker = normalize.has_marker(d)
        if address in records or marker:
            owned("Dataset", address, common, "inventory" if address in records else "marker")
        else:
            unmanaged.append(ResourceChange(action="unmanaged", kind="Dataset", reason=_NOT_OWNED,
                                            reason_code="not-owned", **common))

    # Recorded, not in the specs, and gone from the service: the next apply forgets them.
    gone: list[ResourceChange] = []
    spec_addresses = ({f"dataset/{n}" for n in specs.datasets} | {f"model/{n}" for n in specs.models}
                      | {f"evaluation/{m}/{n}" for m, n in specs.evaluations}
                      | {f"deployment/{n}" for n in specs.deployments})
    for address, rec in sorted(records.items()):
        if address in spec_addresses:
            continue
        if rec.kind == "Dataset":
            present = rec.name in live.datasets
        elif rec.kind == "Model":
            present = rec.name in live.models
        elif rec.kind == "Deployment":
            present = rec.name in live.endpoints  # outside the specs: plan.deployments lists it
        else:
            # Evaluations are listed for every model the inventory names (workflow.observe).
            present = (rec.model or "", rec.name) in live.evaluations
        if present:
            continue
        gone.append(ResourceChange(action="no-op", reason_code="gone-from-service", kind=rec.kind, name=rec.name,
                                   model=rec.model, address=address, drift=drift.deleted_in_service(rec, None),
                                   protected=rec.protect,
                                   notes=["recorded in the inventory, gone from the service and from the specs; "
                                          "the next apply forgets it"]))

    order = {"Evaluation": 0, "Model": 1, "Dataset": 2}
    deletes.sort(key=lambda c: (order[c.kind], c.address))
    return deletes + kept + gone + unmanaged

