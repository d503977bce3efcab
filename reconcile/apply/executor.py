"""Run a :class:`~reconcile.plan.model.Plan` against a backend.

Contract:

- **Exactly what was reviewed.** Before any write the live state is observed again
  and every change's live fingerprint recomputed; any difference raises
  :class:`~reconcile.errors.StalePlanError` and nothing is written.
- **Guardrails first.** A ``conflict`` (a live resource under a spec'd name that we
  do not own), a replacement that is not allowed (spec ``allowReplace`` or
  ``allow_replace``), a protected resource replaced, a cost cap exceeded without
  ``approve_cost``, or deletions over ``maxDeletions`` (or from an empty spec set)
  without ``confirm_deletions`` equal to their number, raise
  :class:`~reconcile.errors.RefusedError` before any write.
- **Dependency order.** Datasets, then models, then evaluations; then deletions in
  reverse (evaluations, models -- cancelled and awaited if training -- datasets).
  Within a phase, changes run concurrently (bounded), under the client's rate limit.
- **Ownership is recorded.** With a :class:`~reconcile.inventory.Journal`, an intent
  record is saved before any model or evaluation PUT is sent; a later run that finds
  an intent GETs the resource by name and adopts it instead of submitting again. At
  the end every spec'd live resource is recorded (spec hash, live fingerprint, label
  digest, protect), deleted ones are forgotten.
- **One write per change, idempotent.** A create that answers 409, or whose answer
  was lost, is re-read and counts as done when the live object matches the request;
  a model PUT is create-only by name, so a training run is never submitted twice.
- **Submit, do not block.** Training is submitted and apply returns; evaluations of
  models still training are *deferred* (the next apply, or ``--wait``, creates
  them). :attr:`ApplyResult.exit_code` is ``ExitCode.RUNNING`` when work is left running.
"""

from __future__ import annotations

import datetime as _dt
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, NamedTuple, Protocol, TypeVar

from reconcile import defaults
from reconcile.apply import rollout
from reconcile.apply.waiting import Progress, Waiter
from reconcile.backends.base import (
    MODEL_TRAINED,
    Backend,
    DesiredDataset,
    DesiredEvaluation,
    DesiredModel,
    LiveDataset,
    LiveEvaluation,
    LiveModel,
    LiveState,
)
from reconcile.errors import (
    ConflictError,
    ExitCode,
    FatalError,
    InputError,
    PreconditionFailedError,
    RefusedError,
    ReconcileError,
    ServiceUnavailableError,
    StalePlanError,
)
from reconcile.inventory.journal import Journal
from reconcile.inventory.records import Intent, ResourceRecord, utc_now
from reconcile.plan import fingerprints, guardrails, normalize
from reconcile.plan.model import LabelFile, Plan, ResourceChange

_D = TypeVar("_D", DesiredDataset, DesiredModel, DesiredEvaluation)
_L = TypeVar("_L", LiveDataset, LiveModel, LiveEvaluation)

@dataclass(frozen=True, slots=True)
class ApplyEvent:
    address: str
    status: str
    """``start``, ``done``, ``adopted`` (already existed and matched), ``deferred``, ``deleted`` or ``failed``."""
    message: str = ""


class LabelPublisher(Protocol):
    """Makes local label files available at their planned URIs (:class:`reconcile.labels.LabelUploader`)."""

    def check(self, change: ResourceChange, label: LabelFile) -> None:
        """Raise :class:`~reconcile.errors.StalePlanError` if the file differs from the planned one. Writes nothing."""
        ...

    def upload(self, change: ResourceChange, label: LabelFile) -> None:
        """Make the file (and its images) available at ``label.uri``; idempotent."""
        ...


@dataclass(slots=True)
class ApplyOptions:
    allow_replace: bool = False
    max_concurrency: int = defaults.MAX_CONCURRENCY
    wait: bool = False
    waiter: Waiter | None = None
    """Used to wait for cancellations (replacements) and, with ``wait``, for training."""
    on_event: Callable[[ApplyEvent], None] | None = None
    labels: LabelPublisher | None = None
    """Checks (all before the first write) and uploads the plan's local label files."""
    check_lock: Callable[[], None] | None = None
    """Raises if the apply lock was lost; called before every write."""
    approve_cost: bool = False
    """Accept plans over the training-budget caps (``--approve-cost``)."""
    confirm_deletions: int | None = None
    """Accept this exact number of deletions over the limits (``--confirm-deletions N``)."""
    journal: Journal | None = None
    """The environment's inventory; ``None`` records nothing (ownership then rests on dataset markers)."""
    run_id: str = ""
    """Who runs this apply (written into intents)."""
    now: Callable[[], _dt.datetime] = lambda: _dt.datetime.now(_dt.timezone.utc)
    """The clock a rollout's bake time is measured with (tests inject one)."""


class Failure(NamedTuple):
    """One change that did not go through."""

    address: str
    message: str


@dataclass(slots=True)
class ApplyResult:
    done: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    unchanged: int = 0

    @property
    def exit_code(self) -> ExitCode:
        """ERROR if a change failed, RUNNING if work was left running or deferred, else OK."""
        if self.failed:
            return ExitCode.ERROR
        if self.deferred or self.running:
            return ExitCode.RUNNING
        return ExitCode.OK


def check_not_stale(plan: Plan, live: LiveState) -> None:
    """Raise :class:`StalePlanError` naming every resource that changed since the plan was made."""
    now = fingerprints.current(plan, live)
    moved = [c.address for c in plan.changes if c.action != "unmanaged" and now.get(c.address) != c.live_fingerprint]
    if moved:
        raise StalePlanError(
            "the live state changed since this plan was made: " + ", ".join(moved),
            hint="run `reconcile plan` again, review the new plan, and apply that one",
        )


def check_target(plan: Plan, *, environment: str, service: str, endpoint: str) -> None:
    """Raise :class:`InputError` unless ``plan`` was made for this environment, service kind and endpoint."""
    made = (plan.environment, plan.service, plan.endpoint)
    here = (environment, service, endpoint)
    if made != here:
        raise InputError(
            f"this plan was made for environment {plan.environment!r} ({plan.service} at {plan.endpoint}), "
            f"not {environment!r} ({service} at {endpoint})",
            hint=f"apply it with `--env {plan.environment}`, or make a new plan for {environment!r}",
        )


def _desired(c: ResourceChange, kind: type[_D]) -> _D:
    if not isinstance(c.desired, kind):
        raise InputError(f"{c.address}: the plan has no {kind.__name__} value to {c.action}",
                         hint="make the plan again with `reconcile plan --out FILE`")
    return c.desired


class Executor:
    """Applies one plan. Not reusable across plans."""

    def __init__(self, plan: Plan, backend: Backend, options: ApplyOptions | None = None) -> None:
        self.plan = plan
        self.backend = backend
        self.options = options or ApplyOptions()
        self.result = ApplyResult()
        self._lock = threading.Lock()
        self._failed_addresses: set[str] = set()
        self._models_now: dict[str, LiveModel] = {}
        """Models as listed just before the evaluation phase."""
        journal = self.options.journal
        self._initial_intents = (
            {a for a, r in journal.inventory.records.items() if r.intent is not None} if journal is not None else None
        )

    # --- public -----------------------------------------------------------------

    def run(self) -> ApplyResult:
        """Apply the plan. Raises StalePlanError/RefusedError before any write; per-change
        failures are collected in the result (dependents of a failed change are skipped)."""
        conflicts = [c for c in self.plan.changes if c.action == "conflict"]
        if conflicts:
            raise RefusedError(
                "the plan names live resources that vision-gitops does not own: "
                + ", ".join(c.address for c in conflicts),
                hint="`reconcile import` them to take them over, or rename the specs; nothing was written",
            )
        refused = [c for c in self.plan.changes
                   if c.action == "replace" and not (c.replace_allowed or self.options.allow_replace)]
        if refused:
            raise RefusedError(
                "the plan replaces resources whose replacement is not allowed: "
                + "; ".join(f"{c.address} ({c.reason})" for c in refused),
                hint="set `allowReplace: true` in the spec, or run apply with --allow-replace "
                "(a model replacement retrains and bills again)",
            )
        blocked = guardrails.refusals(self.plan, approve_cost=self.options.approve_cost,
                             confirm_deletions=self.options.confirm_deletions)
        if blocked:
            raise RefusedError(
                "the plan exceeds guardrails: " + "; ".join(blocked),
                hint="review the plan; approve with the flag named for each limit, or change the specs",
            )
        service = self.backend.capabilities.service
        if self.plan.service != service:
            raise InputError(f"this plan was made for the {self.plan.service} service, not {service}",
                             hint="make a new plan against this environment's service")
        names = {c.model for c in self.plan.changes if c.kind == "Evaluation" and c.model}
        names |= {c.name for c in self.plan.changes if c.kind == "Model" and c.action == "delete"}
        live = self.backend.observe(evaluations_of=frozenset(names), deep=self.plan.deep)
        check_not_stale(self.plan, live)
        self._check_labels()
        self.result.unchanged = sum(c.action == "no-op" for c in self.plan.changes)

        writes = [c for c in self.plan.changes if c.action in ("create", "update", "replace", "new-version")]
        for kind in ("Dataset", "Model", "Evaluation", "Deployment"):
            todo = [c for c in writes if c.kind == kind]
            if kind == "Evaluation" and todo:
                # One list instead of a GET per evaluation to learn which models have finished.
                self._models_now = self.backend.list_models()
            self._record_intents(todo)
            self._run_phase(todo, live)
        for kind in ("Deployment", "Evaluation", "Model", "Dataset"):
            self._run_phase([c for c in self.plan.changes if c.kind == kind and c.action == "delete"], live)

        if self.options.wait:
            self._wait_all()
        if self.options.journal is not None:
            wrote = self.plan.has_changes
            self._sync_inventory(self.backend.observe(evaluations_of=frozenset(names), deep=self.plan.deep) if wrote else live)
        return self.result

    def _check_labels(self) -> None:
        """Every local label file this plan uploads must still be the reviewed one (before any write)."""
        uploads = [(c, lf) for c in self.plan.changes
                   if c.kind == "Dataset" and c.action in ("create", "update", "replace", "new-version")
                   for lf in c.labels if lf.upload]
        if not uploads:
            return
        if self.options.labels is None:
            raise FatalError(f"{uploads[0][0].address}: {uploads[0][1].source} must be uploaded but no storage is "
                             "configured")
        for c, lf in uploads:
            self.options.labels.check(c, lf)

    # --- inventory ----------------------------------------------------------------

    def _record_intents(self, changes: list[ResourceChange]) -> None:
        """Before models and evaluations are PUT: make it durable that they may come to exist."""
        journal = self.options.journal
        todo = [c for c in changes if c.kind != "Dataset" and c.action in ("create", "replace", "new-version")]
        if journal is None or not todo:
            return
        self._write_check()
        digests = {c.name: c.labels_digest for c in self.plan.changes if c.kind == "Dataset"}
        old = journal.inventory.records
        now = utc_now()
        records = []
        for c in todo:
            prev = old.get(c.address)
            training = c.desired.training_dataset if isinstance(c.desired, DesiredModel) else None
            records.append(ResourceRecord(
                address=c.address, kind=c.kind, name=c.name, model=c.model, spec_hash=c.spec_hash,
                labels_digest=digests.get(training) if training else None, protect=c.protected,
                created_at=prev.created_at if prev else now,
                intent=Intent(spec_hash=c.spec_hash or "", at=now, run=self.options.run_id),
            ))
        journal.put(records)

    def _sync_inventory(self, live: LiveState) -> None:
        """Record every spec'd resource that is live now; forget what was deleted or is gone."""
        journal = self.options.journal
        assert journal is not None
        fps = fingerprints.current(self.plan, live)
        digests = {c.name: c.labels_digest for c in self.plan.changes if c.kind == "Dataset"}
        now = utc_now()

        def change(records: dict[str, ResourceRecord]) -> None:
            for c in self.plan.changes:
                prev = records.get(c.address)
                if c.action in ("unmanaged", "conflict"):
                    continue
                if c.spec_hash is None:  # outside the specs: deleted now, or already gone
                    if fps.get(c.address) is None:
                        records.pop(c.address, None)
                    continue
                fp = fps.get(c.address)
                if fp is None:
                    continue  # not live: a pending intent stays until the resource is seen
                if c.kind == "Dataset":
                    digest = c.labels_digest
                elif c.kind == "Model":
                    # The digest recorded with the intent (what this run trained on) wins; a model
                    # seen for the first time (created before the inventory existed) is assumed to
                    # be trained on its dataset's current labels.
                    training = c.desired.training_dataset if isinstance(c.desired, DesiredModel) else None
                    digest = prev.labels_digest if prev is not None and prev.labels_digest else None
                    if digest is None and training:
                        digest = digests.get(training)
                else:
                    digest = None
                records[c.address] = ResourceRecord(
                    address=c.address, kind=c.kind, name=c.name, model=c.model, spec_hash=c.spec_hash,
                    live_fingerprint=fp, labels_digest=digest, protect=c.protected,
                    created_at=prev.created_at if prev else now, updated_at=now, intent=None,
                )

        self._write_check()
        journal.update(change)

    # --- phases -----------------------------------------------------------------

    def _run_phase(self, changes: list[ResourceChange], live: LiveState) -> None:
        if not changes:
            return
        workers = max(1, min(self.options.max_concurrency, len(changes)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apply") as pool:
            list(pool.map(lambda c: self._run_one(c, live), changes))

    def _run_one(self, c: ResourceChange, live: LiveState) -> None:
        blocked = [d for d in c.depends_on if d in self._failed_addresses]
        if blocked:
            self._fail(c, f"skipped: depends on {', '.join(blocked)}, which failed")
            return
        self._emit(c.address, "start", c.action)
        try:
            if c.action == "delete":
                self._delete(c, live)
            elif c.kind == "Dataset":
                self._apply_dataset(c)
            elif c.kind == "Model":
                self._apply_model(c, live)
            elif c.kind == "Deployment":
                self._apply_deployment(c)
            else:
                self._apply_evaluation(c)
        except (FatalError, ReconcileError) as exc:
            self._fail(c, str(exc))

    # --- datasets ---------------------------------------------------------------

    def _apply_dataset(self, c: ResourceChange) -> None:
        for lf in c.labels:
            if lf.upload:
                if self.options.labels is None:
                    raise FatalError(f"{c.address}: {lf.source} must be uploaded but no storage is configured")
                self.options.labels.upload(c, lf)
        req = _desired(c, DesiredDataset)
        if c.action in ("create", "new-version"):  # a new version: the backend registers it beside the old one
            self._create(c, lambda: self.backend.create_dataset(req), lambda: self.backend.get_dataset(c.name),
                         lambda live: _dataset_matches(live, req), running=False)
        elif c.action == "update":
            self._write_check()
            try:
                self.backend.update_dataset(req, etag=c.live_etag or "")
            except (PreconditionFailedError, ServiceUnavailableError):
                live = self.backend.get_dataset(c.name)
                if live is None or not _dataset_matches(live, req):
                    raise
                self._record(c.address, "adopted", "already up to date (an earlier attempt went through)")
                return
            self._record(c.address, "done", "updated")
        else:  # replace: the annotation kind changed
            self._write_check()
            self.backend.delete_dataset(c.name, etag=c.live_etag)
            self._create(c, lambda: self.backend.create_dataset(req), lambda: self.backend.get_dataset(c.name),
                         lambda live: _dataset_matches(live, req), running=False)

    # --- models -----------------------------------------------------------------

    def _apply_model(self, c: ResourceChange, live: LiveState) -> None:
        req = _desired(c, DesiredModel)
        if c.action == "update":  # registration-pending: training succeeded, the service needs one more step
            self._finish_model(c)
            return
        if c.action == "replace":
            self._remove_model(c.name, live)
        elif self._had_intent(c):
            # An earlier run announced this submission and may have crashed after sending it.
            existing = self.backend.get_model(c.name)
            if existing is not None and _model_matches(existing, req):
                self._record(c.address, "adopted", "submitted by an interrupted earlier run", running=True)
                return
        self._create(c, lambda: self.backend.create_model(req), lambda: self.backend.get_model(c.name),
                     lambda m: _model_matches(m, req), running=True)

    def _finish_model(self, c: ResourceChange) -> None:
        self._write_check()
        model = self.backend.finish_model(c.name)
        if model is None or model.status not in ("succeeded", MODEL_TRAINED):
            raise FatalError(f"{c.address}: expected a model whose training succeeded, found "
                             f"{model.status if model else 'none'}; run `reconcile plan` again")
        if model.status == MODEL_TRAINED:
            raise FatalError(f"{c.address}: {model.pending or 'the finishing step'} did not complete; run apply again")
        self._record(c.address, "done", "registered (training had succeeded)")

    def _remove_model(self, name: str, live: LiveState) -> None:
        model = self.backend.get_model(name)
        if model is None:
            return
        if not model.terminal and model.status != MODEL_TRAINED:  # a trained model has nothing left to cancel
            if self.backend.capabilities.cancel_training:
                self._write_check()
                self._emit(f"model/{name}", "start", f"cancelling training ({model.status})")
                if model.status != "cancelling":
                    self.backend.cancel_model(name)
            else:
                self._emit(f"model/{name}", "start", f"waiting for training to end ({model.status}; "
                           "this service cannot cancel it)")
            result = self._waiter().wait(models=[name])
            if result.timed_out:
                raise FatalError(f"model/{name}: training did not end in time; run apply again later")
        # Evaluations first: whether the service cascades is unknown (docs/service-api.md §3, Evaluations).
        for (m, ev), e in sorted(live.evaluations.items()):
            if m == name and f"evaluation/{m}/{ev}" not in self.result.deleted:
                if not e.terminal:
                    self._waiter().wait(evaluations=[(m, ev)])
                self._write_check()
                self.backend.delete_evaluation(m, ev)
        self._write_check()
        self.backend.delete_model(name)

    def _had_intent(self, c: ResourceChange) -> bool:
        journal = self.options.journal
        if journal is None or self._initial_intents is None:
            return False
        return c.address in self._initial_intents

    # --- deletions --------------------------------------------------------------

    def _delete(self, c: ResourceChange, live: LiveState) -> None:
        if c.protected:
            raise RefusedError(f"{c.address} is protected and was not deleted")
        if c.kind == "Evaluation":
            existing = self.backend.get_evaluation(c.model or "", c.name)
            if existing is not None:
                if not existing.terminal:
                    self._waiter().wait(evaluations=[(c.model or "", c.name)])
                self._write_check()
                self.backend.delete_evaluation(c.model or "", c.name)
            gone = [c.address]
        elif c.kind == "Model":
            self._remove_model(c.name, live)
            gone = [c.address] + [f"evaluation/{m}/{e}" for (m, e) in live.evaluations if m == c.name]
        elif c.kind == "Deployment":
            self._write_check()
            rollout.deployments_of(self.backend).delete_endpoint(c.name)
            gone = [c.address]
        else:
            self._write_check()
            self.backend.delete_dataset(c.name, etag=c.live_etag)
            gone = [c.address]
        if self.options.journal is not None:
            self._write_check()
            self.options.journal.forget(gone)
        with self._lock:
            self.result.deleted.append(c.address)
        self._emit(c.address, "deleted", f"({c.reason})" if c.reason else "")

    # --- evaluations ------------------------------------------------------------

    def _apply_evaluation(self, c: ResourceChange) -> None:
        req = _desired(c, DesiredEvaluation)
        model = self._models_now.get(req.model) or self.backend.get_model(req.model)
        if model is not None and model.status == MODEL_TRAINED:
            self._write_check()
            model = self.backend.finish_model(req.model)
        if model is None or model.status != "succeeded":
            if model is not None and model.terminal:
                raise FatalError(f"model {req.model} ended {model.status} ({model.error_code or 'no code'}); "
                                 "an evaluation needs a succeeded model")
            if not self.options.wait:
                self._record(c.address, "deferred", f"waiting for model {req.model} to finish training")
                return
            result = self._waiter().wait(models=[req.model])
            model = result.models.get(req.model)
            if result.timed_out and model is not None and not model.terminal:
                # --timeout ran out, nothing failed: like apply without --wait (exit 3, not 1).
                self._record(c.address, "deferred", f"model {req.model} is still training (--timeout passed)")
                return
            if model is None or model.status != "succeeded":
                raise FatalError(f"model {req.model} is {model.status if model else 'missing'}; "
                                 "the evaluation was not created")
        if c.action == "replace":
            existing = self.backend.get_evaluation(req.model, req.name)
            if existing is not None:
                if not existing.terminal:
                    self._waiter().wait(evaluations=[(req.model, req.name)])
                self._write_check()
                self.backend.delete_evaluation(req.model, req.name)
        self._create(c, lambda: self.backend.create_evaluation(req),
                     lambda: self.backend.get_evaluation(req.model, req.name),
                     lambda e: e.test_dataset in (None, req.dataset), running=True)

    # --- deployments -------------------------------------------------------------

    def _apply_deployment(self, c: ResourceChange) -> None:
        """Endpoint, candidate, gate re-check, traffic (:mod:`reconcile.apply.rollout`); a refused gate fails
        the change (exit 1, nothing switched), a switch that must wait defers it."""
        outcome = rollout.apply_deployment(rollout.deployments_of(self.backend), c, now=self.options.now,
                                           write_check=self._write_check)
        self._record(c.address, outcome.status, outcome.message)

    # --- helpers ----------------------------------------------------------------

    def _create(self, c: ResourceChange, create: Callable[[], object], read: Callable[[], _L | None],
                matches: Callable[[_L], bool], *, running: bool) -> None:
        """One create; on 409 or a lost answer, re-read and adopt a matching object."""
        self._write_check()
        try:
            create()
            self._record(c.address, "done", "created", running=running)
            return
        except (ConflictError, ServiceUnavailableError) as exc:
            live = read()
            if live is not None and matches(live):
                self._record(c.address, "adopted", "already existed with the planned fields", running=running)
                return
            if live is not None and isinstance(exc, ConflictError):
                raise ConflictError(
                    f"{c.address} already exists with different fields (created outside this plan)",
                    status=409, hint="run `reconcile plan` again to see the difference",
                ) from None
            raise

    def _record(self, address: str, status: str, message: str, *, running: bool = False) -> None:
        with self._lock:
            if status == "deferred":
                self.result.deferred.append(address)
            elif status == "adopted":
                self.result.adopted.append(address)
            else:
                self.result.done.append(address)
            if running:
                self.result.running.append(address)
        self._emit(address, status, message)

    def _fail(self, c: ResourceChange, message: str) -> None:
        with self._lock:
            self.result.failed.append(Failure(c.address, message))
            self._failed_addresses.add(c.address)
        self._emit(c.address, "failed", message)

    def _emit(self, address: str, status: str, message: str) -> None:
        if self.options.on_event is not None:
            self.options.on_event(ApplyEvent(address, status, message))

    def _write_check(self) -> None:
        if self.options.check_lock is not None:
            self.options.check_lock()

    def _waiter(self) -> Waiter:
        return self.options.waiter or Waiter(self.backend)

    def _wait_all(self) -> None:
        # With ``wait`` nothing is deferred: evaluations waited for their models inline.
        models = [a.split("/", 1)[1] for a in self.result.running if a.startswith("model/")]
        evals = [(p[1], p[2]) for p in (a.split("/", 2) for a in self.result.running) if p[0] == "evaluation"]
        final = self._waiter().wait(models=models, evaluations=evals)
        pending = set(Progress(final.models, final.evaluations, 0.0).pending)
        self.result.running = [a for a in self.result.running if a in pending]
        for address, problem in final.failed:
            if address not in self._failed_addresses:
                self.result.failed.append(Failure(address, problem))


def _dataset_matches(live: LiveDataset, req: DesiredDataset) -> bool:
    return (
        normalize.annotation_kind(live.annotation_kind) == req.annotation_kind
        and list(live.label_uris) == list(req.label_uris)
        and all(live.custom_properties.get(k) == v for k, v in req.custom_properties.items())
    )


def _model_matches(live: LiveModel, req: DesiredModel) -> bool:
    kind = normalize.model_kind(live.model_kind) if live.model_kind else req.model_kind
    return (
        kind == req.model_kind
        and live.training_dataset == req.training_dataset
        and int(live.budget_hours) == req.budget_hours
        and (req.test_dataset is None or live.test_dataset == req.test_dataset)
    )


def apply_plan(plan: Plan, backend: Backend, options: ApplyOptions | None = None) -> ApplyResult:
    """Apply ``plan`` (see the module docstring for the contract)."""
    return Executor(plan, backend, options).run()
