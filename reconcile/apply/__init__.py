"""Executing a plan.

- :mod:`reconcile.apply.executor` -- runs a :class:`~reconcile.plan.model.Plan` against a backend.
- :mod:`reconcile.apply.waiting`  -- follows training and evaluations until they end.
"""
