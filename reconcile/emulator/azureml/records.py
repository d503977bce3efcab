"""What the Azure ML emulator stores: typed, msgspec records.

Every ARM resource keeps the body the client sent (``body``: location, tags, sku,
identity, kind, properties, after the server's checks) and its timestamps;
server-owned state (job status, provisioning) is derived from the clock and the
typed fields below when a resource is read.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Provisioning(msgspec.Struct, frozen=True):
    """An endpoint's or deployment's provisioning: ``state`` until ``ready_at``, then ``final``."""

    state: str
    """Creating, Updating or Deleting."""
    ready_at: float
    final: str = "Succeeded"
    error: str | None = None


class Trial(msgspec.Struct, frozen=True):
    """One AutoML child run: its settings, measured metrics and the fitted model's key."""

    run_id: str
    settings: dict[str, Any]
    metrics: dict[str, float]
    model_key: str


class Outcome(msgspec.Struct, frozen=True):
    """How a job's training ended (decided by really training; stored once)."""

    status: str
    """Completed or Failed."""
    trials: list[Trial] = []
    best_run_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    train_seconds: float = 0.0
    """Emulated seconds the trials take (from the data size and the trial count)."""
    metrics: dict[str, float] = {}
    """Figures logged on the job's own run (evaluation pipelines; AutoML logs them on its trials)."""


class JobState(msgspec.Struct, frozen=True):
    submitted_at: float
    cancel_requested_at: float | None = None
    outcome: Outcome | None = None
    outcome_at: float | None = None
    """Emulated time the outcome was stored (training is real work, it may lag the clock)."""


class Resource(msgspec.Struct, frozen=True):
    kind: str
    scope: str
    """The parent's name (data/model container, endpoint) or "" for top-level resources."""
    name: str
    created: float
    modified: float
    body: dict[str, Any]
    job: JobState | None = None
    provisioning: Provisioning | None = None
    keys: list[str] | None = None
    """An endpoint's primary and secondary key (never part of a GET)."""


class Operation(msgspec.Struct, frozen=True):
    """A long-running operation: poll it until ``done_at`` (emulated time)."""

    id: str
    started: float
    done_at: float
    status: str = "Succeeded"
    """The status it reaches at ``done_at`` (Succeeded, Failed or Canceled)."""
    error: str | None = None
    no_content: bool = False
    """Location polling answers 204 (deletes) rather than 200 once done."""
    target: list[str] | None = None
    """``[kind, scope, name]`` of the resource a finished Location poll returns (updates)."""
