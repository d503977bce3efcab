"""The emulator's stored resources: typed, immutable records (msgspec Structs).

Times are emulated unix seconds. A model or evaluation stores *when* things
happen (queued, started, cancelled) and, once judged at its start, its
:class:`Outcome`; its visible status is then a pure function of the clock (see
:mod:`reconcile.emulator.lifecycle`).
"""

from __future__ import annotations

from typing import Any

import msgspec


class Auth(msgspec.Struct, frozen=True):
    kind: str
    sas_token: str | None = None


class DatasetRecord(msgspec.Struct, frozen=True):
    name: str
    annotation_kind: str
    created: float
    updated: float
    etag: str
    annotation_file_uris: list[str] | None = None
    custom_properties: dict[str, str] | None = None
    authentication: Auth | None = None
    annotation_data: dict[str, Any] | None = None


class Failure(msgspec.Struct, frozen=True):
    """A failed run's ``error``: camelCase code (``notEnoughBudget`` ...) and a message."""

    code: str
    message: str


PENDING = "pending"
"""Outcome status of a run whose fit or evaluation is still running off the request path."""


class Outcome(msgspec.Struct, frozen=True):
    """How a run ends: judged when it starts, completed when its fit (or evaluation) finishes."""

    status: str
    """``succeeded``, ``failed`` or :data:`PENDING`."""
    end_at: float
    cost_minutes: int = 0
    model_kind: str | None = None
    error: Failure | None = None
    performance: dict[str, Any] | None = None
    fitted: dict[str, Any] | None = None
    """The trainer's fitted model, serialized (models only)."""


class ModelRecord(msgspec.Struct, frozen=True):
    name: str
    training_dataset_name: str
    budget_hours: int
    created: float
    start_at: float
    api_version: str
    model_kind: str | None = None
    """As sent; ``None`` when the request omitted it (then derived from the dataset)."""
    test_dataset_name: str | None = None
    has_evaluation_parameters: bool = False
    cancel_at: float | None = None
    outcome: Outcome | None = None


class EvaluationRecord(msgspec.Struct, frozen=True):
    model_name: str
    name: str
    test_dataset_name: str
    created: float
    start_at: float
    api_version: str
    outcome: Outcome | None = None
