"""The plan: what apply would change, as data.

- :mod:`reconcile.plan.model`     -- the versioned plan document (pydantic; JSON Schema in schemas/plan.schema.json).
- :mod:`reconcile.plan.desired`   -- specs (+ resolved label files) to the request bodies we want live.
- :mod:`reconcile.plan.normalize` -- live objects to comparable values (server defaults, casing, order).
- :mod:`reconcile.plan.compute`   -- desired vs live to a :class:`~reconcile.plan.model.Plan`.
- :mod:`reconcile.plan.render`    -- the plan as coloured text and as Markdown.

The same :class:`~reconcile.plan.model.Plan` object is rendered for review, saved
with ``plan --out`` and executed by :mod:`reconcile.apply`.
"""
