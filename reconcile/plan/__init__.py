"""The plan: what apply would change, as data.

- :mod:`reconcile.plan.model`        -- the versioned plan document (pydantic; JSON Schema in schemas/plan.schema.json).
- :mod:`reconcile.plan.desired`      -- specs (+ resolved label files) to the typed values we want live.
- :mod:`reconcile.plan.normalize`    -- live objects to comparable values (server defaults, casing, order).
- :mod:`reconcile.plan.fingerprints` -- the live fingerprints a saved plan pins.
- :mod:`reconcile.plan.compute`      -- desired vs live to a :class:`~reconcile.plan.model.Plan`.
- :mod:`reconcile.plan.ownership`    -- live resources outside the specs: ours to prune, protected, or not ours.
- :mod:`reconcile.plan.drift`        -- drift classes (changed or deleted in the service, labels changed, stale model).
- :mod:`reconcile.plan.guardrails`   -- the limits a plan is checked against before apply writes.
- :mod:`reconcile.plan.adopt`        -- ``reconcile import``: spec documents and records for resources we adopt.
- :mod:`reconcile.plan.render`       -- the plan as coloured text and as Markdown.

The same :class:`~reconcile.plan.model.Plan` object is rendered for review, saved
with ``plan --out`` and executed by :mod:`reconcile.apply`.
"""
