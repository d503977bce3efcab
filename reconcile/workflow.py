"""The steps the commands are made of: load, observe, plan, apply, wait, import.

Each function takes typed values (a :class:`~reconcile.session.Session`, a
:class:`~reconcile.specs.loader.SpecSet`, a :class:`~reconcile.plan.model.Plan`) and
returns typed values; the CLI only parses flags and prints. Tests call these
functions directly against the emulator. docs/architecture.md follows a spec
through them.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from reconcile.apply.executor import ApplyEvent, ApplyOptions, ApplyResult, apply_plan, check_target
from reconcile.apply.rollout import deployments_of, read_gate_figures
from reconcile.apply.waiting import Waiter
from reconcile.backends.base import DesiredDeployment, LiveState
from reconcile.errors import UsageError
from reconcile.inventory.journal import Journal
from reconcile.inventory.records import Inventory
from reconcile.labels import LabelUploader, probe_label_digests, resolve_labels
from reconcile.plan.adopt import Adoption, adopt
from reconcile.plan.compute import compute_plan
from reconcile.plan.deployments import base_traffic, deployment_name, gate_rules
from reconcile.plan.guardrails import Limits
from reconcile.plan.model import Plan, fingerprint
from reconcile.session import Session
from reconcile.specs.config import EnvironmentConfig
from reconcile.specs.fingerprint import spec_hash
from reconcile.specs.loader import SpecSet, load_specs


def load_desired(config: EnvironmentConfig) -> SpecSet:
    """Load and cross-check the specs of ``config``; raises SpecError listing every problem (a Deployment spec
    in an environment whose service has no deployments is one, named by file and line)."""
    from reconcile.backends.kinds import capabilities_of
    from reconcile.plan.deployments import require_deployments

    specs = load_specs(list(config.specs), root=config.root, api_version=config.spec_limits_version)
    require_deployments(specs, capabilities_of(config.service))
    return specs


def specs_fingerprint(specs: SpecSet) -> str:
    items = [("Dataset", n, spec_hash(s)) for n, s in sorted(specs.datasets.items())]
    items += [("Model", n, spec_hash(s)) for n, s in sorted(specs.models.items())]
    items += [("Evaluation", "/".join(k), spec_hash(s)) for k, s in sorted(specs.evaluations.items())]
    return fingerprint(items)


def observe(session: Session, specs: SpecSet, inventory: Inventory | None = None, *, deep: bool = False) -> LiveState:
    """List the live state (list calls only), with the evaluations of the models the
    evaluation specs name and of every model the inventory records. ``deep``: see
    :meth:`~reconcile.backends.base.Backend.observe`."""
    models = {m for m, _ in specs.evaluations}
    if inventory is not None:
        models |= {r.model or r.name for r in inventory.records.values() if r.kind in ("Model", "Evaluation")}
    return session.backend.observe(evaluations_of=frozenset(models), deep=deep)


def observe_with_metrics(session: Session) -> LiveState:
    """What ``reconcile status`` shows: one observe, then the figures a list did not carry.

    A service whose lists carry no metrics (Azure ML keeps them in MLflow) gets one read per
    succeeded model (``get_model``) and per succeeded evaluation (``get_evaluation``) still without
    figures; a service whose lists carry them (Vision) gets no extra call. A model listed as
    succeeded is already registered, so these reads write nothing.
    """
    live = session.backend.observe()
    backend = session.backend
    models = dict(live.models)
    for name, model in live.models.items():
        if model.status == "succeeded" and model.performance is None:
            fresh = backend.get_model(name)
            if fresh is not None and fresh.performance is not None:
                models[name] = replace(model, performance=fresh.performance)
    evaluations = dict(live.evaluations)
    for (model_name, name), evaluation in live.evaluations.items():
        if evaluation.status == "succeeded" and evaluation.performance is None:
            fresh_eval = backend.get_evaluation(model_name, name)
            if fresh_eval is not None and fresh_eval.performance is not None:
                evaluations[(model_name, name)] = replace(evaluation, performance=fresh_eval.performance)
    return replace(live, models=models, evaluations=evaluations)


def load_inventory(session: Session) -> Inventory:
    """The environment's inventory as last written (empty before the first apply)."""
    return session.state_store().load()


def with_gate_figures(session: Session, specs: SpecSet, live: LiveState) -> LiveState:
    """``live`` with the figures each Deployment spec's gate reads (the candidate's and the incumbent's
    evaluations on each gate dataset's current version): a few reads per Deployment spec whose model version
    does not take all traffic yet, none otherwise (a no-op plan stays list calls only)."""
    if not specs.deployments or not session.backend.capabilities.deployments:
        return live
    backend = deployments_of(session.backend)
    figures = dict(live.figures)
    for spec in specs.deployments.values():
        model = live.models.get(spec.model)
        version = model.version if model is not None and model.status == "succeeded" else None
        candidate = deployment_name(spec.model, version) if version else ""
        if not version or base_traffic(live.endpoints.get(spec.name)).get(candidate) == 100:
            continue  # nothing to gate: no version yet, or it serves everything already
        desired = DesiredDeployment(name=spec.name, model=spec.model, model_version=version, deployment=candidate,
                                    instance_type=spec.instance_type, instance_count=spec.instance_count,
                                    gate=gate_rules(spec, specs))
        figures.update(read_gate_figures(backend, desired, live.endpoints.get(spec.name)))
    return replace(live, figures=figures)


def make_plan(session: Session, specs: SpecSet, *, prune: bool = False, deep: bool = False,
              now: Callable[[], _dt.datetime] | None = None) -> Plan:
    """Resolve label files, observe the service (deeply with ``deep``: the scheduled drift check) and
    compute the plan. Writes nothing.

    Label URIs are read to digest them: a URI label without a ``sha256`` pin is
    registered with the digest of the bytes found now, so bytes changed behind the
    same URI show up as a dataset update with ``labels-changed`` drift.
    """
    inventory = load_inventory(session)
    live = with_gate_figures(session, specs, observe(session, specs, inventory, deep=deep))
    resolved = resolve_labels(specs, session, live)
    warnings: list[str] = []
    shas = probe_label_digests(session, resolved.labels, live, warnings)
    plan = compute_plan(
        specs,
        live,
        labels=resolved.labels,
        label_diffs=resolved.diffs,
        environment=session.config.name,
        endpoint=session.display_endpoint,
        api_version=session.config.api_version,
        capabilities=session.backend.capabilities,
        specs_fingerprint=specs_fingerprint(specs),
        inventory=inventory,
        prune=prune,
        limits=Limits.of(session.config.guardrails),
        label_shas=shas,
        **({"now": now} if now is not None else {}),
    )
    plan = plan.model_copy(update={"deep": deep, "observation": live.observation})
    if warnings:
        plan = plan.model_copy(update={"warnings": plan.warnings + warnings})
    return plan


@dataclass(frozen=True, slots=True)
class WaitSettings:
    timeout: float | None = None
    poll: float = 5.0


def make_waiter(session: Session, settings: WaitSettings) -> Waiter:
    poll = settings.poll
    if session.emulator is not None:
        # The embedded emulator runs on a sped-up clock: poll often so the demo is snappy.
        poll = min(poll, 0.2)
    return Waiter(session.backend, poll=poll, timeout=settings.timeout)


def run_apply(
    session: Session,
    plan: Plan,
    *,
    allow_replace: bool = False,
    wait: bool = False,
    wait_settings: WaitSettings = WaitSettings(),
    on_event: Callable[[ApplyEvent], None] | None = None,
    check_lock: Callable[[], None] | None = None,
    waiter: Waiter | None = None,
    approve_cost: bool = False,
    confirm_deletions: int | None = None,
    run_id: str = "",
    now: Callable[[], _dt.datetime] | None = None,
) -> ApplyResult:
    """Apply ``plan`` through ``session`` (uploading local label files first), recording
    ownership in the environment's inventory. A plan made for another environment, service
    or endpoint raises :class:`~reconcile.errors.InputError`, and guardrail refusals raise
    :class:`~reconcile.errors.RefusedError`, before any write."""
    check_target(plan, environment=session.config.name, service=session.backend.capabilities.service,
                 endpoint=session.display_endpoint)
    options = ApplyOptions(
        allow_replace=allow_replace,
        max_concurrency=session.config.max_concurrency,
        wait=wait,
        waiter=waiter or make_waiter(session, wait_settings),
        on_event=on_event,
        labels=LabelUploader(session),
        check_lock=check_lock,
        approve_cost=approve_cost,
        confirm_deletions=confirm_deletions,
        journal=Journal(session.state_store()),
        run_id=run_id,
        **({"now": now} if now is not None else {}),
    )
    return apply_plan(plan, session.backend, options)


def adopt_unmanaged(session: Session, target: Path | str, addresses: Sequence[str] = (), *,
                    protect: bool = False) -> Adoption:
    """``reconcile import``: append the specs of unmanaged live resources to ``target`` and record
    them, and live resources in conflict with a spec (no spec written), in the inventory. Returns what was adopted.

    Raises :class:`~reconcile.errors.UsageError` if ``target`` is not read as a spec
    file, and restores ``target`` if the written specs do not load (nothing is recorded then).
    """
    config = session.config
    target = Path(target).resolve()
    roots = [Path(p).resolve() for p in config.specs]
    if not any(target == r or r in target.parents for r in roots) or target.suffix not in (".yaml", ".yml"):
        raise UsageError(f"{target} is not inside the spec paths of {config.name!r} "
                         f"({', '.join(str(r) for r in roots)}), or is not a .yaml file",
                         hint="pass --out specs/<name>.yaml")
    specs = load_desired(config)
    plan = make_plan(session, specs)
    inventory = load_inventory(session)
    live = observe(session, specs, inventory)
    result = adopt(plan, live, addresses, protect=protect)
    if result.docs:
        _append_specs(config, target, result.docs)
    if result.records:
        Journal(session.state_store()).put(result.records)
    return result


def _append_specs(config: EnvironmentConfig, target: Path, docs: list[dict[str, Any]]) -> None:
    """Append ``docs`` to ``target``; restore it and raise if the specs no longer load."""
    import yaml

    before = target.read_text(encoding="utf-8") if target.exists() else None
    text = yaml.safe_dump_all(docs, sort_keys=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    if before:
        text = before.rstrip("\n") + "\n---\n" + text
    target.write_text(text, encoding="utf-8")
    try:
        load_desired(config)
    except BaseException:
        if before is None:
            target.unlink()
        else:
            target.write_text(before, encoding="utf-8")
        raise
