"""Apply one Deployment change: endpoint, candidate deployment, gate re-check, traffic move, old deployments.

Contract (docs/azureml.md, Deployments):

- **Exactly what was reviewed.** Traffic moves only when the plan moves it (``desired.traffic`` differs from
  the live traffic); a plan whose gate was pending or failed, or whose next step was still baking, moves
  nothing, whatever the figures are by now: the next plan shows the switch for review.
- **The gate is re-checked right before the switch**, with figures read now (:func:`read_gate_figures`). A
  failed gate, or a missing, failed or stale evaluation, raises :class:`GateRefused` (the change fails, exit 1,
  nothing switched, the reason named); a figure still being computed, a candidate still provisioning or a bake
  time not over defers the switch (exit "running").
- **Idempotent by name.** The candidate's name comes from model and version, so a crash anywhere converges on
  the next apply with no duplicate deployment. Writes start long-running operations and do not wait.
- The incumbent's missing evaluation (``mustNotRegress``) is submitted here; the switch then waits for it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, replace
from typing import Callable, Literal, cast

from reconcile.backends.base import Backend, DeploymentBackend, DesiredDeployment, LiveEndpoint, LiveEvaluation
from reconcile.errors import FatalError
from reconcile.plan import gate as gates
from reconcile.plan.deployments import incumbent_of, next_move_at
from reconcile.plan.model import Gate, ResourceChange


class GateRefused(FatalError):
    """The gate does not hold (or an evaluation it needs is missing, failed or stale): nothing was switched."""


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Literal["done", "deferred"]
    message: str


def deployments_of(backend: Backend) -> DeploymentBackend:
    """``backend`` as a :class:`DeploymentBackend`; :class:`FatalError` if its service has no deployments."""
    if not backend.capabilities.deployments:
        raise FatalError(f"the {backend.capabilities.service} service has no deployments")
    return cast(DeploymentBackend, backend)


def read_gate_figures(backend: DeploymentBackend, desired: DesiredDeployment,
                      ep: LiveEndpoint | None) -> dict[tuple[str, str, str], LiveEvaluation]:
    """The gate evaluations of the candidate and the incumbent on each rule's dataset (current version), with
    figures: what :func:`reconcile.plan.gate.evaluate` reads from ``LiveState.figures``."""
    out: dict[tuple[str, str, str], LiveEvaluation] = {}
    versions = []
    if desired.model_version:
        versions.append((desired.model, desired.model_version))
    incumbent = incumbent_of(ep, desired.deployment)
    if incumbent is not None and incumbent not in versions and incumbent[0]:
        versions.append(incumbent)
    for rule in desired.gate:
        if not rule.dataset:
            continue
        for model, version in versions:
            found = backend.gate_evaluation(model, rule.evaluation, version, rule.dataset)
            if found is not None:
                out[(model, rule.evaluation, version)] = found
    return out


def check_gate(backend: DeploymentBackend, desired: DesiredDeployment, ep: LiveEndpoint | None) -> Gate:
    """The gate evaluated with the figures read now."""
    live = backend.observe(evaluations_of=frozenset({desired.model}))
    live = replace(live, figures=read_gate_figures(backend, desired, ep))
    return gates.evaluate(desired, incumbent_of(ep, desired.deployment), live)


def _positive(traffic: object) -> dict[str, int]:
    return {k: int(v) for k, v in sorted(dict(traffic).items()) if v}  # type: ignore[call-overload]


def apply_deployment(backend: DeploymentBackend, change: ResourceChange, *, now: Callable[[], _dt.datetime],
                     write_check: Callable[[], None]) -> Outcome:
    """Make ``change`` live as far as it can go in this apply (see the module docstring)."""
    d = change.desired
    assert isinstance(d, DesiredDeployment)
    ep = backend.get_endpoint(d.name)
    if ep is None:
        write_check()
        backend.create_endpoint(d.name)
        return Outcome("deferred", f"endpoint {d.name} is being created"
                       + ("" if d.model_version else f"; the deployment waits for model {d.model}"))
    if d.model_version is None:
        return Outcome("deferred", f"waits for model {d.model} to have a registered version")
    if ep.provisioning not in ("Succeeded", "Updating"):
        return Outcome("deferred", f"endpoint {d.name} is {ep.provisioning or 'provisioning'}; the deployment follows")
    cand = ep.deployments.get(d.deployment)
    if cand is None or (cand.instance_type, cand.instance_count) != (d.instance_type, d.instance_count):
        write_check()
        backend.put_deployment(d.name, d.deployment, model=d.model, model_version=d.model_version,
                               instance_type=d.instance_type, instance_count=d.instance_count)
        ep = backend.get_endpoint(d.name) or ep
        cand = ep.deployments.get(d.deployment)
    if change.gate is not None and change.gate.incumbent_evaluations:
        _evaluate_incumbent(backend, d, ep, change.gate.incumbent_evaluations, write_check)
    if change.reason_code == "gate-failed":
        gate = check_gate(backend, d, ep)
        raise GateRefused(_refusal(d, gate if gate.status == "fail" else change.gate))
    if change.reason_code in ("gate-pending", "baking"):
        return Outcome("deferred", change.reason or "the switch waits")
    target = _positive(d.traffic)
    live_traffic = _positive(ep.traffic)
    moved = False
    if target and target != live_traffic:
        if target.get(d.deployment, 0) > live_traffic.get(d.deployment, 0):
            if cand is None or cand.provisioning != "Succeeded":
                state = cand.provisioning if cand is not None else "missing"
                return Outcome("deferred", f"deployment {d.deployment} is {state}; the switch waits for it")
            gate = check_gate(backend, d, ep)
            if gate.status == "fail":
                raise GateRefused(_refusal(d, gate))
            if gate.status == "pending":
                if gate.incumbent_evaluations:
                    _evaluate_incumbent(backend, d, ep, gate.incumbent_evaluations, write_check)
                return Outcome("deferred", "the gate is pending again: " + "; ".join(gate.reasons))
            at = next_move_at(ep, d.bake_minutes) if live_traffic.get(d.deployment, 0) > 0 else None
            if at is not None and now() < at:
                return Outcome("deferred", f"bake time until {at.isoformat(timespec='seconds')}; traffic unchanged")
        write_check()
        backend.set_traffic(d.name, target, history=d.history,
                            at=now().astimezone(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"))
        moved = True
    elif target and (target != _positive(ep.recorded_traffic or {}) or list(ep.history) != list(d.history)):
        write_check()  # the service has this traffic already (set by hand, or by a run that died): record it
        backend.set_traffic(d.name, target, history=d.history, at=ep.traffic_at or _iso(now()))
    removed = []
    for old in d.remove:
        if target.get(old, 0) == 0 and old != d.deployment:
            write_check()
            if backend.delete_deployment(d.name, old):
                removed.append(old)
    parts = []
    if moved:
        parts.append("traffic " + ", ".join(f"{k} {v} %" for k, v in target.items()))
    if removed:
        parts.append("deleted " + ", ".join(removed))
    if cand is not None and cand.provisioning not in ("Succeeded",) and not moved:
        return Outcome("deferred", f"deployment {d.deployment} is {cand.provisioning}")
    return Outcome("done", "; ".join(parts) or "up to date")


def _iso(t: _dt.datetime) -> str:
    return t.astimezone(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _evaluate_incumbent(backend: DeploymentBackend, d: DesiredDeployment, ep: LiveEndpoint,
                        evaluations: list[str], write_check: Callable[[], None]) -> None:
    incumbent = incumbent_of(ep, d.deployment)
    if incumbent is None or not incumbent[0]:
        return
    for rule in d.gate:
        if rule.evaluation in evaluations and rule.dataset:
            write_check()
            backend.evaluate_version(incumbent[0], rule.evaluation, incumbent[1], rule.dataset)


def _refusal(d: DesiredDeployment, gate: Gate | None) -> str:
    if gate is None:
        return f"deployment/{d.name}: the gate of {d.model}:{d.model_version} fails; nothing switched"
    failed = [k for k in gate.checks if k.status == "fail"]
    why = "; ".join(k.detail or f"{k.evaluation} {k.metric} {k.status}" for k in failed) or "; ".join(gate.reasons)
    return f"the gate of {gate.candidate} fails, traffic not switched: {why}"
