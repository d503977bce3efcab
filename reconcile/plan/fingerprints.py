"""Live fingerprints: the hash of a live resource's compared fields. Pure: no I/O.

A plan pins the fingerprint of every resource it was computed against, apply
recomputes them from a fresh observation before its first write (a saved plan is
refused when one moved), and the inventory records them after an apply (drift).
"""

from __future__ import annotations

from reconcile.backends.base import LiveDataset, LiveEndpoint, LiveEvaluation, LiveModel, LiveState
from reconcile.plan import normalize
from reconcile.plan.model import Plan, fingerprint


def dataset_fp(live: LiveDataset | None) -> str | None:
    return None if live is None else fingerprint(normalize.dataset_fingerprint_fields(live))


def model_fp(live: LiveModel | None) -> str | None:
    return None if live is None else fingerprint(normalize.model_fingerprint_fields(live))


def evaluation_fp(live: LiveEvaluation | None) -> str | None:
    return None if live is None else fingerprint(normalize.evaluation_fields(live))


def endpoint_fp(live: LiveEndpoint | None) -> str | None:
    """An endpoint's traffic, what each deployment serves on what, and the traffic we recorded; not provisioning
    states, which move by themselves between plan and apply."""
    if live is None:
        return None
    return fingerprint({"traffic": {k: v for k, v in sorted(live.traffic.items()) if v},
                        "deployments": {n: [d.model, d.model_version, d.instance_type, d.instance_count]
                                        for n, d in sorted(live.deployments.items())},
                        "recorded": dict(sorted((live.recorded_traffic or {}).items()))})


def current(plan: Plan, live: LiveState) -> dict[str, str | None]:
    """The fingerprint, in ``live``, of every resource ``plan`` names (``None``: absent)."""
    out: dict[str, str | None] = {}
    for c in plan.changes:
        if c.kind == "Dataset":
            out[c.address] = dataset_fp(live.datasets.get(c.name))
        elif c.kind == "Model":
            out[c.address] = model_fp(live.models.get(c.name))
        elif c.kind == "Deployment":
            out[c.address] = endpoint_fp(live.endpoints.get(c.name))
        else:
            out[c.address] = evaluation_fp(live.evaluations.get((c.model or "", c.name)))
    return out
