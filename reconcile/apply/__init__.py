"""Executing a plan.

- :mod:`.executor` -- runs a :class:`~reconcile.plan.model.Plan` against a backend.
- :mod:`.waiting`  -- follows training and evaluations until they end.
- :mod:`.rollout`  -- one Deployment change: candidate, gate re-check, traffic move, old deployments.
"""

from __future__ import annotations

from reconcile.facade import lazy_exports

_EXPORTS = {
    "ApplyOptions": "executor", "ApplyResult": "executor", "apply_plan": "executor",
    "WaitResult": "waiting", "Waiter": "waiting",
}  # fmt: skip
_INTERNAL: tuple[str, ...] = ()

__all__ = ["ApplyOptions", "ApplyResult", "WaitResult", "Waiter", "apply_plan"]

__getattr__ = lazy_exports(__name__, _EXPORTS)
