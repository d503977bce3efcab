"""The plan: what apply would change, as data.

- :mod:`.model`        -- the versioned plan document (pydantic; JSON Schema in schemas/plan.schema.json).
- :mod:`.desired`      -- specs (+ resolved label files) to the typed values we want live.
- :mod:`.normalize`    -- live objects to comparable values (server defaults, casing, order).
- :mod:`.fingerprints` -- the live fingerprints a saved plan pins.
- :mod:`.compute`      -- desired vs live to a :class:`~reconcile.plan.model.Plan`.
- :mod:`.guardrails`   -- the limits a plan is checked against before apply writes.
- :mod:`.deployments`  -- Deployment specs vs live endpoints: the next step of a blue/green rollout.
- :mod:`.gate`         -- a deployment's gate: the candidate's figures vs thresholds and the incumbent.
- :mod:`.adopt`        -- ``reconcile import``: spec documents and records for resources we adopt.
- :mod:`.render`       -- the plan as coloured text and as Markdown.
- :mod:`.ownership`    -- internal: live resources outside the specs: ours to prune, protected, or not ours.
- :mod:`.drift`        -- internal: drift classes (changed or deleted in the service, labels changed, stale model).

The same :class:`~reconcile.plan.model.Plan` object is rendered for review, saved
with ``plan --out`` and executed by :mod:`reconcile.apply`.
"""

from __future__ import annotations

from reconcile.facade import lazy_exports

_EXPORTS = {
    "Plan": "model", "ResourceChange": "model", "plan_json_schema": "model",
    "compute_plan": "compute",
}  # fmt: skip
_INTERNAL = ("drift", "ownership")

__all__ = ["Plan", "ResourceChange", "compute_plan", "plan_json_schema"]

__getattr__ = lazy_exports(__name__, _EXPORTS)
