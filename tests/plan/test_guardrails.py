"""Guardrails: every limit a plan exceeds is reported, and apply's approvals lift exactly the
limits they name, never the others."""

from __future__ import annotations

import pytest

from reconcile.plan import guardrails
from reconcile.plan.guardrails import Limits
from reconcile.plan.model import FORMAT_VERSION, Action, Plan, ResourceChange, Summary


def _model(name: str, action: Action, hours: int | None, *, protected: bool = False) -> ResourceChange:
    return ResourceChange(address=f"model/{name}", kind="Model", name=name, action=action, reason_code="up-to-date",
                          training_hours=hours, protected=protected)


def _delete(name: str) -> ResourceChange:
    return ResourceChange(address=f"dataset/{name}", kind="Dataset", name=name, action="delete",
                          reason_code="removed-from-specs")


def _plan(changes: list[ResourceChange], limits: Limits, *, specs_empty: bool = False) -> Plan:
    return Plan(format_version=FORMAT_VERSION, tool_version="0", created_at="t", environment="e", service="vision",
                endpoint="x", api_version="v", specs_fingerprint="", live_fingerprint="", changes=changes,
                summary=Summary(), guardrails=guardrails.check(changes, limits, specs_empty=specs_empty))


@pytest.mark.parametrize("action", ["create", "replace", "new-version"])
def test_every_new_training_run_counts_against_the_cost_caps(action: Action) -> None:
    found = guardrails.check([_model("big", action, 12)], Limits(max_budget_hours_per_model=10,
                                                                 max_budget_hours_per_apply=11), specs_empty=False)
    assert found[0].message == "training budget over the per-model cap of 10 h: model/big (12 h)"
    assert [(v.rule, v.limit, v.value, v.addresses) for v in found] == [
        ("max-budget-hours-per-model", 10, 12, ["model/big"]),
        ("max-budget-hours-per-apply", 11, 12, ["model/big"]),
    ]
    assert all(v.override == "--approve-cost" for v in found)


def test_what_trains_nothing_costs_nothing() -> None:
    changes = [_model("kept", "no-op", None), _model("gone", "delete", None), _model("theirs", "conflict", None)]
    assert guardrails.check(changes, Limits(max_budget_hours_per_model=0, max_budget_hours_per_apply=0),
                            specs_empty=False) == []


def test_caps_are_exclusive_and_none_is_no_limit() -> None:
    at_cap = [_model("a", "create", 10)]
    assert guardrails.check(at_cap, Limits(max_budget_hours_per_model=10, max_budget_hours_per_apply=10),
                            specs_empty=False) == []
    assert guardrails.check([_model("a", "create", 10_000)], Limits(), specs_empty=False) == []


def test_deletion_limits() -> None:
    deletes = [_delete("a"), _delete("b")]
    assert guardrails.check(deletes, Limits(max_deletions=2), specs_empty=False) == []
    over = guardrails.check(deletes, Limits(max_deletions=1), specs_empty=False)
    assert [(v.rule, v.limit, v.value, v.override, v.addresses) for v in over] == [
        ("max-deletions", 1, 2, "--confirm-deletions 2", ["dataset/a", "dataset/b"])]
    empty = guardrails.check(deletes, Limits(), specs_empty=True)
    assert [(v.rule, v.value, v.override, v.addresses) for v in empty] == [
        ("empty-specs", 2, "--confirm-deletions 2", ["dataset/a", "dataset/b"])]
    assert "a missing specs folder looks exactly like this" in empty[0].message
    plan = _plan(deletes, Limits(), specs_empty=True)
    assert guardrails.refusals(plan, approve_cost=False, confirm_deletions=2) == []
    assert len(guardrails.refusals(plan, approve_cost=True, confirm_deletions=None)) == 1


@pytest.mark.parametrize("action", ["replace", "delete"])
def test_a_protected_resource_replaced_or_deleted_is_refused_with_no_override(action: Action) -> None:
    changes = [_model("a", action, None, protected=True), _model("b", action, None, protected=True),
               _model("c", action, None)]
    found = guardrails.check(changes, Limits(), specs_empty=False)
    assert [(v.rule, v.addresses, v.override) for v in found] == [("protected", ["model/a", "model/b"], None)]
    assert found[0].message.startswith("protected resources would be replaced or deleted: model/a, model/b (")


def test_an_approval_lifts_only_the_limits_it_names() -> None:
    changes = [_model("big", "create", 12), _model("guarded", "replace", 1, protected=True), _delete("a"),
               _delete("b"), _model("kept", "no-op", None)]
    plan = _plan(changes, Limits(max_budget_hours_per_model=10, max_budget_hours_per_apply=10, max_deletions=1))
    assert [v.rule for v in plan.guardrails] == ["max-budget-hours-per-model", "max-budget-hours-per-apply",
                                                 "max-deletions", "protected"]
    refused = guardrails.refusals(plan, approve_cost=True, confirm_deletions=2)
    assert len(refused) == 1 and "protected resources would be replaced or deleted: model/guarded" in refused[0]
    assert refused[0].endswith("apply that first)")  # no override to offer
    both = guardrails.refusals(plan, approve_cost=False, confirm_deletions=3)  # the wrong count confirms nothing
    assert len(both) == 4
    assert both[0].endswith("(override: --approve-cost)") and both[2].endswith("(override: --confirm-deletions 2)")
    cost_only = guardrails.refusals(plan, approve_cost=False, confirm_deletions=2)
    assert len(cost_only) == 3
    assert cost_only[0].startswith("training budget over the per-model cap of 10 h: model/big (12 h)")
    assert cost_only[1].startswith("this apply submits 13 worst-case training hours")
    assert cost_only[2].startswith("protected resources would be replaced or deleted")
