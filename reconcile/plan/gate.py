"""A deployment's gate: may traffic move to the candidate model version? Pure: no I/O.

Plan and apply call :func:`evaluate` with the same rules (``DesiredDeployment.gate``) and the figures
known at their moment (``LiveState.figures``, read by :mod:`reconcile.gate_figures`): the plan shows the
result, apply re-checks it right before it moves traffic and moves nothing unless it is ``pass``.

For each gate rule (an Evaluation of the deployed model):

- the **candidate's figure** is the evaluation of the candidate version on the *current* version of the
  evaluation's dataset. None yet: ``pending`` while this plan creates it or it runs; ``fail`` when it is
  missing, failed, or ran on another dataset version than the spec's dataset has now (stale).
- each **threshold** ``metric: x`` needs the candidate's figure ``>= x``.
- **mustNotRegress** ``{tolerance: t}`` needs, for each threshold metric, the candidate's figure
  ``>= incumbent's figure - t``, the incumbent measured on the same dataset version. When that evaluation of the
  incumbent is missing, apply runs it first (listed in ``Gate.incumbentEvaluations``) and the switch waits.
  With nothing serving yet, there is nothing to regress from: the check passes.
"""

from __future__ import annotations

from typing import Mapping

from reconcile.backends.base import DesiredDeployment, GateRule, LiveEvaluation, LiveState
from reconcile.plan.model import Gate, GateCheck, GateStatus

#: Figures are compared rounded to this many decimals (services report 6; float noise must not flip a gate).
PRECISION = 9


def version_ref(model: str, version: str | None) -> str:
    return f"{model}:{version or '?'}"


def evaluate(desired: DesiredDeployment, incumbent: tuple[str, str] | None, live: LiveState, *,
             created_now: frozenset[str] = frozenset()) -> Gate:
    """The gate of ``desired``'s candidate against ``incumbent`` (``(model, version)`` serving now, or ``None``).

    ``created_now``: evaluations of the candidate's model this plan creates (their figures are pending, not
    missing). The result's ``status`` is ``fail`` if any check failed, else ``pending`` if any figure is
    not known yet, else ``pass``.
    """
    candidate = version_ref(desired.model, desired.model_version)
    checks: list[GateCheck] = []
    reasons: list[str] = []
    run_incumbent: list[str] = []
    if desired.model_version is None:
        return Gate(status="pending", candidate=candidate,
                    incumbent=version_ref(*incumbent) if incumbent else None,
                    reasons=[f"model {desired.model} has no registered version yet (training)"])
    for rule in desired.gate:
        figures, problem, pending = _candidate_figures(desired, rule, live, created_now)
        if problem is not None:
            reasons.append(problem)
        for metric, least in sorted(rule.thresholds.items()):
            checks.append(_threshold(rule, metric, least, figures, problem, pending))
        if rule.tolerance is None:
            continue
        if incumbent is None or incumbent == (desired.model, desired.model_version):
            # Nothing serves yet, or the candidate serves already: nothing to regress from.
            why = "nothing serves yet" if incumbent is None else "the candidate is the incumbent"
            incumbent_side: _Side = (None, why, "pass")
        else:
            inc = live.figures.get((incumbent[0], rule.evaluation, incumbent[1]))
            if inc is None:
                run_incumbent.append(rule.evaluation)
                incumbent_side = (None, f"the incumbent {version_ref(*incumbent)} has no evaluation {rule.evaluation} "
                                  f"on dataset {rule.dataset}'s current version: apply runs it, then the switch waits "
                                  "for its figures", "pending")
            else:
                incumbent_side = _from_evaluation(inc, f"the incumbent's evaluation {rule.evaluation} "
                                                       f"({version_ref(*incumbent)})")
            if incumbent_side[1] is not None:
                reasons.append(incumbent_side[1])
        for metric in sorted(rule.thresholds):
            checks.append(_regression(rule, metric, (figures, problem, "pending" if pending else "fail"),
                                      incumbent_side))
    status: GateStatus = "pass"
    if any(c.status == "fail" for c in checks):
        status = "fail"
    elif any(c.status == "pending" for c in checks):
        status = "pending"
    return Gate(status=status, candidate=candidate, incumbent=version_ref(*incumbent) if incumbent else None,
                checks=checks, reasons=reasons, incumbent_evaluations=sorted(set(run_incumbent)))


#: (figures, why they are missing, what a check on them is when missing: pending or fail/pass).
_Side = tuple[Mapping[str, object] | None, str | None, GateStatus]


def _candidate_figures(desired: DesiredDeployment, rule: GateRule, live: LiveState,
                       created_now: frozenset[str]) -> tuple[Mapping[str, object] | None, str | None, bool]:
    """(figures, problem, pending) of the candidate on ``rule``'s evaluation."""
    ev = live.figures.get((desired.model, rule.evaluation, desired.model_version or ""))
    where = f"evaluation {desired.model}/{rule.evaluation}"
    if ev is not None:
        figures, problem, status = _from_evaluation(ev, where)
        return figures, problem, status == "pending"
    if rule.evaluation in created_now:
        return None, (f"{where} runs in this apply on {version_ref(desired.model, desired.model_version)}; "
                      "the switch waits for its figures"), True
    newest = live.evaluations.get((desired.model, rule.evaluation))
    if newest is not None and newest.model_version == desired.model_version and newest.dataset_version:
        current = live.datasets.get(rule.dataset)
        return None, (f"{where} is stale: it ran on dataset {rule.dataset} version {newest.dataset_version}, the "
                      f"spec's dataset is at version {current.version if current else '?'}; rename the Evaluation "
                      "to run it again"), False
    return None, (f"{where} is missing for {version_ref(desired.model, desired.model_version)}: no evaluation of this "
                  "version on the dataset's current version"), False


def _from_evaluation(ev: LiveEvaluation, where: str) -> _Side:
    if ev.status == "succeeded" and ev.performance is not None:
        return ev.performance, None, "pass"
    if ev.status == "failed":
        return None, f"{where} failed ({ev.error_code or 'no code'}): {ev.error_message or ''}".rstrip(": "), "fail"
    return None, f"{where} is {ev.status}; the switch waits for its figures", "pending"


def _figure(figures: Mapping[str, object] | None, metric: str) -> float | None:
    value = (figures or {}).get(metric)
    return round(float(value), PRECISION) if isinstance(value, (int, float)) else None


def _threshold(rule: GateRule, metric: str, least: float, figures: Mapping[str, object] | None,
               problem: str | None, pending: bool) -> GateCheck:
    got = _figure(figures, metric)
    if figures is None:
        return GateCheck(evaluation=rule.evaluation, metric=metric, rule="threshold", required=least, candidate=got,
                         status="pending" if pending else "fail", detail=problem)
    if got is None:
        return GateCheck(evaluation=rule.evaluation, metric=metric, rule="threshold", required=least, candidate=got,
                         status="fail", detail=f"the evaluation reports no figure {metric}")
    ok = got >= round(least, PRECISION)
    return GateCheck(evaluation=rule.evaluation, metric=metric, rule="threshold", required=least, candidate=got,
                     status="pass" if ok else "fail",
                     detail=None if ok else f"{metric} {got} is below the threshold {least}")


def _regression(rule: GateRule, metric: str, candidate: _Side, incumbent: _Side) -> GateCheck:
    tol = rule.tolerance or 0.0
    got = _figure(candidate[0], metric)
    had = _figure(incumbent[0], metric)
    required = None if had is None else round(had - tol, PRECISION)

    def check(status: GateStatus, detail: str | None) -> GateCheck:
        return GateCheck(evaluation=rule.evaluation, metric=metric, rule="must-not-regress", candidate=got,
                         incumbent=had, required=required, status=status, detail=detail)

    if incumbent[0] is None and incumbent[2] == "pass":
        return check("pass", incumbent[1])
    if candidate[0] is None:
        return check(candidate[2], candidate[1])
    if incumbent[0] is None:
        return check(incumbent[2], incumbent[1])
    if got is None or had is None:
        return check("fail", f"{metric} is not reported by both evaluations")
    ok = required is not None and got >= required
    return check("pass" if ok else "fail",
                 None if ok else f"{metric} {got} regresses from the incumbent's {had} by more than the tolerance {tol}")
