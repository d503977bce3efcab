"""Deployment specs vs live endpoints: the next step of a blue/green rollout. Pure: no I/O.

A rollout spans several applies; each plan computes the next step from what is live:

1. The **candidate** is a deployment named after the model and its registered version
   (:func:`deployment_name`), created beside the current one with 0 % traffic. A re-run after a crash
   computes the same name and finds it: never a duplicate.
2. When the **gate** holds (:mod:`reconcile.plan.gate`) and the candidate is provisioned, traffic moves to
   the next of ``rollout.steps`` (the rest stays on the incumbent); a further step waits until
   ``rollout.bakeMinutes`` have passed since the last move (the time is a tag on the endpoint).
3. At 100 %, the old deployments beyond ``keepPrevious`` (newest kept, at 0 %) are deleted. A spec naming a
   kept version again is a traffic switch: no training.

Drift: traffic unlike what vision-gitops last set (``traffic-changed``: set back), a deployment it
recorded deleted outside (``deleted-in-service``: the candidate is created again), and traffic on a
deployment it did not create (``unexpected-model``). An endpoint without our marker or inventory record is a
``conflict``; an owned endpoint whose spec was removed is deleted with ``--prune`` (never if protected).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from typing import Any, Callable

from reconcile.backends.base import Capabilities, DesiredDeployment, GateRule, LiveEndpoint, LiveState
from reconcile.errors import SpecError
from reconcile.inventory.records import Inventory
from reconcile.plan import gate as gates
from reconcile.plan.fingerprints import endpoint_fp
from reconcile.plan.model import Drift, LiveDeploymentValue, ResourceChange
from reconcile.specs.fingerprint import spec_hash
from reconcile.specs.loader import SpecSet
from reconcile.specs.models import DeploymentSpec

#: Hours a deployment bills per day per instance (managed online endpoints bill while they exist).
HOURS_PER_DAY = 24
#: Deployment names: at most 32 letters, digits and hyphens, starting with a letter (Azure ML's rule).
_NAME_CHARS = 32
_HASH_HEX = 8

NO_DEPLOYMENTS = ("the {service} service has no deployment resource{why}; remove this Deployment spec or use an "
                  "environment whose service has deployments (service: azureml)")


def require_deployments(specs: SpecSet, capabilities: Capabilities) -> None:
    """Raise :class:`SpecError` naming each Deployment spec's file:line when the service has no deployments."""
    if not specs.deployments or capabilities.deployments:
        return
    why = f" ({capabilities.deployment_note})" if capabilities.deployment_note else ""
    problems = []
    for name in sorted(specs.deployments):
        try:
            where = str(specs.source("Deployment", name))
        except KeyError:
            where = f"deployment {name}"
        problems.append(f"{where}: {NO_DEPLOYMENTS.format(service=capabilities.service, why=why)}")
    raise SpecError(f"{len(problems)} Deployment spec(s) in an environment whose service has no deployments",
                    problems=problems, hint="Deployment specs need service: azureml")


def deployment_name(model: str, version: str) -> str:
    """The candidate deployment's name: readable, derived only from model and version, at most 32 characters."""
    digest = hashlib.sha256(f"{model}\n{version}".encode()).hexdigest()[:_HASH_HEX]
    slug = re.sub(r"[^a-zA-Z0-9-]+", "-", model).strip("-") or "m"
    if not slug[0].isalpha():
        slug = "m-" + slug
    return f"{slug[: _NAME_CHARS - _HASH_HEX - 1].rstrip('-')}-{digest}"


def live_value(live: LiveEndpoint) -> LiveDeploymentValue:
    return LiveDeploymentValue(name=live.name, provisioning=live.provisioning,
                               traffic={k: v for k, v in sorted(live.traffic.items()) if v},
                               deployments={n: f"{d.model}:{d.model_version}" for n, d in sorted(live.deployments.items())})


def incumbent_of(ep: LiveEndpoint | None, candidate: str) -> tuple[str, str] | None:
    """``(model, version)`` the candidate is measured against: the deployment other than ``candidate`` taking the
    most of :func:`base_traffic` (ties: the first name); the candidate itself when it takes everything; ``None``
    when nothing serves."""
    base = base_traffic(ep)
    if ep is None or not base:
        return None
    others = sorted(n for n in base if n != candidate)
    name = max(others, key=lambda n: base[n]) if others else candidate
    d = ep.deployments[name]
    return (d.model, d.model_version)


def deployment_changes(specs: SpecSet, live: LiveState, inventory: Inventory, *, prune: bool,
                       evaluations_created: dict[str, frozenset[str]],
                       now: Callable[[], _dt.datetime],
                       models_retrained: frozenset[str] = frozenset()) -> list[ResourceChange]:
    """One change per Deployment spec, then the owned endpoints no spec names (deleted with ``prune``).

    ``evaluations_created``: per model, the evaluations this plan creates or re-runs (their gate figures are
    pending, not missing). ``models_retrained``: the models this plan trains a new version of (a steady endpoint
    serving one of them says the switch waits for that version)."""
    out = []
    for name in sorted(specs.deployments):
        spec = specs.deployments[name]
        try:
            src = str(specs.source("Deployment", name))
        except KeyError:
            src = None
        out.append(_deployment_change(spec, gate_rules(spec, specs), live, inventory, src,
                                      evaluations_created.get(spec.model, frozenset()), now(),
                                      retrained=spec.model in models_retrained))
    for name, ep in sorted(live.endpoints.items()):
        if name in specs.deployments:
            continue
        address = f"deployment/{name}"
        rec = inventory.records.get(address)
        common: dict[str, Any] = dict(address=address, kind="Deployment", name=name, live_fingerprint=endpoint_fp(ep),
                                      live=live_value(ep))
        if rec is None:
            out.append(ResourceChange(action="unmanaged", reason="not created by vision-gitops",
                                      reason_code="not-owned", **common))
        elif rec.protect:
            out.append(ResourceChange(action="no-op", reason_code="protected", protected=True, notes=[
                "protected (recorded in the inventory): kept although its spec was removed"], **common))
        elif prune:
            out.append(ResourceChange(action="delete", owner="inventory", reason_code="removed-from-specs",
                                      reason="owned by vision-gitops and no longer in the specs; the endpoint and its "
                                      "deployments are deleted", **common))
        else:
            out.append(ResourceChange(action="no-op", reason_code="kept-without-prune", notes=[
                "owned by vision-gitops but no longer in the specs; `plan --prune` / `apply --prune` deletes it "
                "(it bills per instance-hour while it exists)"], **common))
    return out


def gate_rules(spec: DeploymentSpec, specs: SpecSet) -> tuple[GateRule, ...]:
    out = []
    for g in spec.gate:
        ev = specs.evaluations.get((spec.model, g.evaluation))
        out.append(GateRule(evaluation=g.evaluation, dataset=ev.dataset if ev else "",
                            thresholds=dict(sorted(g.thresholds.items())),
                            tolerance=g.must_not_regress.tolerance if g.must_not_regress else None))
    return tuple(out)


def _parse_time(text: str | None) -> _dt.datetime | None:
    if not text:
        return None
    try:
        t = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)


def next_move_at(ep: LiveEndpoint | None, bake_minutes: int) -> _dt.datetime | None:
    """When the bake time since the last traffic move ends (``None``: no move recorded)."""
    at = _parse_time(ep.traffic_at if ep else None)
    return None if at is None else at + _dt.timedelta(minutes=bake_minutes)


def _positive(traffic: dict[str, int] | Any) -> dict[str, int]:
    return {k: int(v) for k, v in sorted(traffic.items()) if v}


def _traffic_text(traffic: dict[str, int]) -> str:
    return ", ".join(f"{name} {share} %" for name, share in traffic.items()) or "none"


def base_traffic(ep: LiveEndpoint | None) -> dict[str, int]:
    """The traffic this plan starts from: what vision-gitops last set (drift is set back), restricted to the
    deployments that still exist; the share of a deleted one goes to the largest remaining."""
    if ep is None:
        return {}
    source = ep.recorded_traffic if ep.recorded_traffic is not None else ep.traffic
    base = {k: v for k, v in _positive(source).items() if k in ep.deployments}
    if base and sum(base.values()) != 100:
        top = max(sorted(base), key=lambda k: base[k])
        base[top] += 100 - sum(base.values())
    return base


def _drift(ep: LiveEndpoint | None, history: list[str]) -> list[Drift]:
    if ep is None:
        return []
    out = []
    live_pos = _positive(ep.traffic)
    if ep.recorded_traffic is not None and live_pos != _positive(ep.recorded_traffic):
        out.append(Drift(kind="traffic-changed", detail=f"traffic is {_traffic_text(live_pos)}, vision-gitops last "
                         f"set {_traffic_text(_positive(ep.recorded_traffic))} (changed outside git); apply sets it back"))
    recorded = set(_positive(ep.recorded_traffic or {})) | set(history)
    gone = sorted(d for d in recorded if d not in ep.deployments)
    if gone:
        out.append(Drift(kind="deleted-in-service", detail=f"deployment(s) {', '.join(gone)} recorded by vision-gitops "
                         "were deleted outside it"))
    foreign = sorted(n for n, v in live_pos.items() if n in ep.deployments and not ep.deployments[n].managed)
    if foreign:
        shown = ", ".join(f"{n} ({ep.deployments[n].model}:{ep.deployments[n].model_version}, {live_pos[n]} %)"
                          for n in foreign)
        out.append(Drift(kind="unexpected-model", detail=f"the endpoint serves {shown}, which no spec names and "
                         "vision-gitops did not create"))
    return out


def _deployment_change(spec: DeploymentSpec, rules: tuple[GateRule, ...], live: LiveState, inventory: Inventory,
                       src: str | None, created_now: frozenset[str], now: _dt.datetime, *,
                       retrained: bool = False) -> ResourceChange:
    address = f"deployment/{spec.name}"
    ep = live.endpoints.get(spec.name)
    model = live.models.get(spec.model)
    version = model.version if model is not None and model.status == "succeeded" else None
    if retrained:  # the live version is not the one the spec describes: nothing moves toward it
        version = None
    candidate = deployment_name(spec.model, version) if version else ""
    rec = inventory.records.get(address)
    history = list(ep.history) if ep is not None else []
    drift = _drift(ep, history)
    if ep is not None:  # deployments deleted outside leave the history (the drift above names them)
        history = [h for h in history if h in ep.deployments]
    common: dict[str, Any] = dict(address=address, kind="Deployment", name=spec.name, model=spec.model, source=src,
                                  depends_on=[f"model/{spec.model}"] + [f"evaluation/{spec.model}/{g.evaluation}"
                                                                         for g in spec.gate],
                                  spec_hash=spec_hash(spec), protected=spec.protect,
                                  live_fingerprint=endpoint_fp(ep), drift=drift,
                                  live=live_value(ep) if ep is not None else None)
    base = base_traffic(ep)
    desired = DesiredDeployment(
        name=spec.name, model=spec.model, model_version=version, deployment=candidate,
        instance_type=spec.instance_type, instance_count=spec.instance_count, bake_minutes=spec.rollout.bake_minutes,
        gate=rules, traffic=base, history=tuple(history))
    if ep is not None and not ep.managed and rec is None:
        return ResourceChange(action="conflict", reason="an endpoint of that name exists and is not managed: "
                              "`reconcile import` it or rename the spec", reason_code="exists-not-managed",
                              desired=desired, **{**common, "drift": []})
    create_or_update = "create" if ep is None else "update"
    if version is None and retrained:
        serving = f"{', '.join(base)} keeps serving" if base else "nothing serves"
        why = (f"model {spec.model} gets a new version in this apply; {serving} until a later apply finds the new "
               "version trained, evaluated and its gate held")
        return ResourceChange(action=create_or_update, desired=desired, reason=why, reason_code="gate-pending",
                              notes=["apply creates the endpoint only"] if ep is None else [], **common)
    if version is None:
        why = (f"model {spec.model} has no registered version yet ({model.status if model else 'not trained'}); "
               "the deployment waits for it")
        return ResourceChange(action=create_or_update, desired=desired, reason=why, reason_code="gate-pending",
                              notes=["apply creates the endpoint only" if ep is None else "nothing changes yet"],
                              **common)

    incumbent_dep = max(sorted(n for n in base if n != candidate), key=lambda n: base[n], default=None)
    gate = gates.evaluate(desired, incumbent_of(ep, candidate), live, created_now=created_now)
    cand_live = ep.deployments.get(candidate) if ep is not None else None
    share = base.get(candidate, 0)
    notes: list[str] = []
    reason_code = "rollout-step"
    target = dict(base)
    hours = 0
    if cand_live is None:
        hours = HOURS_PER_DAY * spec.instance_count
        notes.append(f"creates deployment {candidate} ({spec.model}:{version}, {spec.instance_count} × "
                     f"{spec.instance_type}) at 0 % traffic")
    elif (cand_live.instance_type, cand_live.instance_count) != (spec.instance_type, spec.instance_count):
        hours = HOURS_PER_DAY * max(0, spec.instance_count - cand_live.instance_count)
        notes.append(f"updates deployment {candidate} to {spec.instance_count} × {spec.instance_type} (was "
                     f"{cand_live.instance_count} × {cand_live.instance_type})")
    reason = ""
    if share < 100:
        step = next((x for x in spec.rollout.steps if x > share), 100) if incumbent_dep is not None else 100
        wait_until = next_move_at(ep, spec.rollout.bake_minutes) if share > 0 else None
        if gate.status == "fail":
            reason_code, reason = "gate-failed", (f"the gate of {spec.model}:{version} fails; traffic stays where it "
                                                  "is (apply exits 1)")
        elif gate.status == "pending":
            reason_code, reason = "gate-pending", f"the switch to {spec.model}:{version} waits for its gate"
        elif wait_until is not None and now < wait_until:
            reason_code = "baking"
            reason = (f"{candidate} takes {share} %; the next step ({step} %) waits for the bake time until "
                      f"{wait_until.isoformat(timespec='seconds').replace('+00:00', 'Z')}")
        else:
            target = {candidate: step} | ({incumbent_dep: 100 - step} if step < 100 and incumbent_dep else {})
            reason = f"moves traffic to {candidate} ({spec.model}:{version}): {share} % → {step} %"
            if cand_live is None or cand_live.provisioning != "Succeeded":
                notes.append(f"the switch waits until deployment {candidate} is provisioned (a later apply moves it)")
    elif _positive(ep.traffic if ep else {}) != base:
        reason_code, reason = "traffic-restored", f"traffic set back to {_traffic_text(base)}"
    if target.get(candidate) == 100:
        if incumbent_dep and incumbent_dep not in history:
            history.append(incumbent_dep)
        history = [h for h in history if h != candidate] + [candidate]
    remove: list[str] = []
    if target.get(candidate) == 100 and ep is not None:
        kept = [h for h in history if h != candidate and h in ep.deployments][-spec.keep_previous:] \
            if spec.keep_previous else []
        old = sorted(n for n, d in ep.deployments.items() if n != candidate and n not in kept and d.managed)
        if spec.protect and old:
            notes.append(f"protected: old deployments {', '.join(old)} are kept at 0 % (they bill while they exist)")
        else:
            remove = old
        if kept:
            notes.append(f"keeps {', '.join(kept)} at 0 % (keepPrevious {spec.keep_previous}): a revert is a "
                         "traffic switch")
    history = [h for h in history if h not in remove]  # deleted by this apply: not drift on the next plan
    if remove and not reason:
        reason = f"deletes old deployments beyond keepPrevious {spec.keep_previous}: {', '.join(remove)}"
    if not reason and ep is not None and list(ep.history) != history:
        reason_code, reason = "traffic-restored", "records the deployments that served (some were deleted outside)"
    desired = desired.model_copy(update={"traffic": target, "remove": tuple(remove), "history": tuple(history)})
    changed = (ep is None or cand_live is None or hours > 0 or target != _positive(ep.traffic) or bool(remove)
               or (target and list(ep.history) != history)
               or reason_code in ("gate-failed", "gate-pending", "baking")
               or (cand_live is not None and (cand_live.instance_type, cand_live.instance_count)
                   != (spec.instance_type, spec.instance_count)))
    if not changed:  # a steady endpoint says nothing about what it keeps (notes become plan warnings)
        return ResourceChange(action="no-op", desired=desired, reason_code="up-to-date", gate=None,
                              notes=[n for n in notes if not n.startswith("keeps ")], **common)
    if not reason:
        reason = f"creates deployment {candidate}" if cand_live is None else f"updates deployment {candidate}"
    if ep is None:
        reason_code = "does-not-exist" if reason_code == "rollout-step" else reason_code
    return ResourceChange(action=create_or_update, desired=desired, reason=reason, reason_code=reason_code,
                          gate=gate if share < 100 else None, instance_hours_per_day=hours or None, notes=notes,
                          **common)
