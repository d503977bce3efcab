"""The steps the commands are made of: load, validate, plan, apply, wait, status.

Each function takes typed values and returns typed values; the CLI only parses
flags and prints. Tests call these functions directly against the emulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from reconcile.apply.executor import ApplyOptions, ApplyResult, apply_plan
from reconcile.apply.waiting import Waiter
from reconcile.backends.base import LiveState
from reconcile.plan.compute import compute_plan
from reconcile.plan.model import Plan, fingerprint
from reconcile.specs.config import EnvironmentConfig
from reconcile.specs.loader import SpecSet, load_specs


def load_desired(config: EnvironmentConfig) -> SpecSet:
    """Load and cross-check the specs of ``config``; raises SpecError listing every problem."""
    return load_specs(list(config.specs), root=config.root, api_version=config.api_version)


def specs_fingerprint(specs: SpecSet) -> str:
    from reconcile.specs.fingerprint import spec_hash

    items = [("Dataset", n, spec_hash(s)) for n, s in sorted(specs.datasets.items())]
    items += [("Model", n, spec_hash(s)) for n, s in sorted(specs.models.items())]
    items += [("Evaluation", "/".join(k), spec_hash(s)) for k, s in sorted(specs.evaluations.items())]
    return fingerprint(items)


def observe(session: Any, specs: SpecSet) -> LiveState:
    """List the live state (list calls only) for the models the evaluation specs name."""
    return session.backend.observe(evaluations_of=frozenset(m for m, _ in specs.evaluations))


def make_plan(session: Any, specs: SpecSet) -> Plan:
    """Resolve label files, observe the service and compute the plan. Writes nothing."""
    from reconcile.labels import resolve_labels

    live = observe(session, specs)
    resolved = resolve_labels(specs, session, live)
    return compute_plan(
        specs,
        live,
        labels=resolved.labels,
        label_diffs=resolved.diffs,
        environment=session.config.name,
        endpoint=session.display_endpoint,
        api_version=session.config.api_version,
        specs_fingerprint=specs_fingerprint(specs),
    )


@dataclass(frozen=True, slots=True)
class WaitSettings:
    timeout: float | None = None
    poll: float = 5.0


def make_waiter(session: Any, settings: WaitSettings) -> Waiter:
    poll = settings.poll
    if session.emulator is not None:
        # The embedded emulator runs on a sped-up clock: poll often so the demo is snappy.
        poll = min(poll, 0.2)
    return Waiter(session.backend, poll=poll, timeout=settings.timeout)


def run_apply(
    session: Any,
    plan: Plan,
    *,
    allow_replace: bool = False,
    wait: bool = False,
    wait_settings: WaitSettings = WaitSettings(),
    on_event: Callable[[Any], None] | None = None,
    check_lock: Callable[[], None] | None = None,
    waiter: Waiter | None = None,
) -> ApplyResult:
    """Apply ``plan`` through ``session`` (uploading local label files first)."""
    from reconcile.labels import uploader_for

    options = ApplyOptions(
        allow_replace=allow_replace,
        max_concurrency=session.config.max_concurrency,
        wait=wait,
        waiter=waiter or make_waiter(session, wait_settings),
        on_event=on_event,
        upload_labels=uploader_for(session),
        check_lock=check_lock,
    )
    return apply_plan(plan, session.backend, options)
