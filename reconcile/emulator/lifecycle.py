"""Model and evaluation state as a pure function of emulated time.

A run is queued (``notStarted``) for :data:`QUEUE_SECONDS`, then trains/runs until
its :class:`~reconcile.emulator.records.Outcome` ends. Cancelling takes
:data:`CANCEL_SECONDS`. Emulated training time is derived from the data and the
budget (:func:`training_seconds`) and never exceeds the budget.
"""

from __future__ import annotations

import math

from reconcile.api import versions
from reconcile.emulator.records import PENDING, EvaluationRecord, ModelRecord

QUEUE_SECONDS = 30.0
"""notStarted -> training / running."""
FAIL_SECONDS = 60.0
"""A run that fails (bad data, budget, kind) does so this long after it starts."""
CANCEL_SECONDS = 20.0
"""cancelling -> cancelled."""
BASE_TRAINING_SECONDS = 300.0
"""Fixed set-up cost of every training run."""
TRAINING_SPEEDUP = 3.0
"""Training compute = this many times the documented minimum budget per image."""
BASE_EVALUATION_SECONDS = 30.0
EVALUATION_SECONDS_PER_IMAGE = 0.05


def training_seconds(model_kind: str, num_images: int, avg_boxes: float, budget_hours: int) -> float:
    """Emulated compute time: set-up + 3x the documented minimum per image, capped by the budget."""
    per_image = versions.MIN_BUDGET_HOURS_PER_IMAGE[model_kind] * 3600.0
    if model_kind == versions.PRODUCT_RECOGNIZER:
        per_image *= max(1.0, avg_boxes)
    wanted = BASE_TRAINING_SECONDS + TRAINING_SPEEDUP * per_image * num_images
    return min(budget_hours * 3600.0, wanted)


def evaluation_seconds(num_images: int) -> float:
    return BASE_EVALUATION_SECONDS + EVALUATION_SECONDS_PER_IMAGE * num_images


def cost_minutes(seconds: float, budget_hours: int) -> int:
    """Billed minutes for ``seconds`` of compute: rounded up, never above the budget."""
    return min(budget_hours * 60, math.ceil(max(0.0, seconds) / 60.0))


def model_state(rec: ModelRecord, now: float) -> tuple[str, float]:
    """``(status, updatedDateTime)`` of ``rec`` at ``now``.

    A started model is ``training`` until both its emulated time has passed and its fit
    has finished (an unjudged or pending outcome).
    """
    if rec.cancel_at is not None:
        done = rec.cancel_at + CANCEL_SECONDS
        return ("cancelled", done) if now >= done else ("cancelling", rec.cancel_at)
    if now < rec.start_at:
        return "notStarted", rec.created
    o = rec.outcome
    if o is None or o.status == PENDING or now < o.end_at:
        return "training", rec.start_at
    return o.status, o.end_at


def evaluation_state(rec: EvaluationRecord, now: float) -> tuple[str, float]:
    if now < rec.start_at:
        return "notStarted", rec.created
    o = rec.outcome
    if o is None or o.status == PENDING or now < o.end_at:
        return "running", rec.start_at
    return o.status, o.end_at


def needs_judging(rec: ModelRecord | EvaluationRecord, now: float) -> bool:
    """True when the run has started but its outcome has not been decided yet."""
    cancelled = isinstance(rec, ModelRecord) and rec.cancel_at is not None
    return rec.outcome is None and not cancelled and now >= rec.start_at


def cancelled_cost(rec: ModelRecord) -> int:
    """Minutes billed for a cancelled model: the compute it used before the cancel."""
    if rec.cancel_at is None or rec.cancel_at <= rec.start_at or rec.outcome is None:
        return 0
    end = min(rec.cancel_at, rec.outcome.end_at)
    return cost_minutes(end - rec.start_at, rec.budget_hours)
