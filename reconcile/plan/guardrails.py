"""Limits a plan is checked against before apply writes anything. Pure: no I/O.

The same function fills ``Plan.guardrails`` (so reviewers see which limit is
exceeded) and decides, at apply time, whether the plan is refused
(:func:`refusals`): cost caps need ``--approve-cost``, deletions over
``maxDeletions`` or from an empty spec set need ``--confirm-deletions N`` with N
equal to the number of deletions, and a protected resource is never replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from reconcile.plan.model import GuardrailViolation, Plan, ResourceChange
from reconcile.specs.config import Guardrails


@dataclass(frozen=True, slots=True)
class Limits:
    """The environment's ``guardrails`` (``None``: no limit)."""

    max_budget_hours_per_model: int | None = None
    max_budget_hours_per_apply: int | None = None
    max_deletions: int | None = None
    max_instance_hours_per_day: int | None = None

    @classmethod
    def of(cls, guardrails: Guardrails | None) -> "Limits":
        """From the environment's resolved guardrails."""
        if guardrails is None:
            return cls()
        return cls(guardrails.max_budget_hours_per_model, guardrails.max_budget_hours_per_apply,
                   guardrails.max_deletions, guardrails.max_instance_hours_per_day)


def check(changes: Sequence[ResourceChange], limits: Limits, *, specs_empty: bool) -> list[GuardrailViolation]:
    """Every limit ``changes`` exceed, in a stable order."""
    out: list[GuardrailViolation] = []
    training = [c for c in changes if c.kind == "Model" and c.action in ("create", "replace", "new-version")
                and c.training_hours]
    cap = limits.max_budget_hours_per_model
    if cap is not None:
        over = [c for c in training if (c.training_hours or 0) > cap]
        if over:
            out.append(GuardrailViolation(
                rule="max-budget-hours-per-model", limit=cap, value=max(c.training_hours or 0 for c in over),
                addresses=[c.address for c in over], override="--approve-cost",
                message="training budget over the per-model cap of "
                f"{cap} h: " + ", ".join(f"{c.address} ({c.training_hours} h)" for c in over),
            ))
    total = sum(c.training_hours or 0 for c in training)
    cap = limits.max_budget_hours_per_apply
    if cap is not None and total > cap:
        out.append(GuardrailViolation(
            rule="max-budget-hours-per-apply", limit=cap, value=total, addresses=[c.address for c in training],
            override="--approve-cost",
            message=f"this apply submits {total} worst-case training hours, over the per-apply cap of {cap} h",
        ))
    serving = [c for c in changes if c.instance_hours_per_day and c.action in ("create", "update")]
    added = sum(c.instance_hours_per_day or 0 for c in serving)
    cap = limits.max_instance_hours_per_day
    if cap is not None and added > cap:
        out.append(GuardrailViolation(
            rule="max-instance-hours-per-day", limit=cap, value=added, addresses=[c.address for c in serving],
            override="--approve-cost",
            message=f"this apply adds deployments billing {added} instance-hours per day, over the cap of {cap}",
        ))
    deletes = [c for c in changes if c.action == "delete"]
    if deletes and specs_empty:
        out.append(GuardrailViolation(
            rule="empty-specs", value=len(deletes), addresses=[c.address for c in deletes],
            override=f"--confirm-deletions {len(deletes)}",
            message=f"the spec set is empty and this plan deletes every resource we own ({len(deletes)}); "
            "a missing specs folder looks exactly like this",
        ))
    cap = limits.max_deletions
    if cap is not None and len(deletes) > cap:
        out.append(GuardrailViolation(
            rule="max-deletions", limit=cap, value=len(deletes), addresses=[c.address for c in deletes],
            override=f"--confirm-deletions {len(deletes)}",
            message=f"this plan deletes {len(deletes)} resources, over the limit of {cap}",
        ))
    protected = [c for c in changes if c.protected and c.action in ("replace", "delete")]
    if protected:
        out.append(GuardrailViolation(
            rule="protected", addresses=[c.address for c in protected],
            message="protected resources would be replaced or deleted: " + ", ".join(c.address for c in protected)
            + " (set `protect: false` in the spec and apply that first)",
        ))
    return out


def refusals(plan: Plan, *, approve_cost: bool, confirm_deletions: int | None) -> list[str]:
    """The violations of ``plan`` that the given approvals do not cover (empty: apply may proceed)."""
    deletes = sum(c.action == "delete" for c in plan.changes)
    out = []
    for v in plan.guardrails:
        if v.rule in ("max-budget-hours-per-model", "max-budget-hours-per-apply", "max-instance-hours-per-day") \
                and approve_cost:
            continue
        if v.rule in ("max-deletions", "empty-specs") and confirm_deletions == deletes:
            continue
        out.append(v.message + (f" (override: {v.override})" if v.override else ""))
    return out
