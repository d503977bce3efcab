"""A job's visible status as a pure function of the emulated clock (REFERENCE §3.4).

``NotStarted -> Starting -> Preparing -> Queued -> Running -> Finalizing -> Completed | Failed``,
and from any non-terminal status ``CancelRequested -> Canceled``. Training is real
work done off the request path: until its outcome is stored the job stays
``Running`` however far the clock has moved, so no status claims what has not
happened.
"""

from __future__ import annotations

import re

from reconcile.emulator.azureml.records import JobState

#: Emulated seconds after submission at which each phase starts.
PHASES = (("NotStarted", 0.0), ("Starting", 5.0), ("Preparing", 15.0), ("Queued", 60.0), ("Running", 120.0))
RUNNING_AT = PHASES[-1][1]
FINALIZING_SECONDS = 30.0
CANCEL_SECONDS = 10.0
TERMINAL = frozenset({"Completed", "Failed", "Canceled", "NotResponding", "Paused"})

_DURATION = re.compile(r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
                       r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")


def parse_duration(text: str) -> float | None:
    """Seconds of an ISO 8601 duration (``PT2H``, ``P7D``), or None if it is not one."""
    m = _DURATION.match(text or "")
    if m is None or text in ("P", "PT"):
        return None
    d, h, mi, s = (float(m.group(k) or 0) for k in ("d", "h", "m", "s"))
    return d * 86400 + h * 3600 + mi * 60 + s


def end_of_run(state: JobState) -> float | None:
    """Emulated time the job reaches a terminal training status (None while training is unfinished)."""
    if state.outcome is None:
        return None
    return state.submitted_at + RUNNING_AT + state.outcome.train_seconds + FINALIZING_SECONDS


def status(state: JobState, now: float) -> str:
    cancel = state.cancel_requested_at
    end = end_of_run(state)
    if cancel is not None and (end is None or cancel < end):
        return "Canceled" if now >= cancel + CANCEL_SECONDS else "CancelRequested"
    if end is not None and state.outcome is not None:
        if now >= end:
            return state.outcome.status
        if now >= end - FINALIZING_SECONDS and state.outcome.status == "Completed":
            return "Finalizing"
    elapsed = now - state.submitted_at
    current = PHASES[0][0]
    for name, at in PHASES:
        if elapsed >= at:
            current = name
    return current


def times(state: JobState, now: float) -> tuple[float | None, float | None]:
    """(start, end) emulated times of the run as run history reports them."""
    start = state.submitted_at + RUNNING_AT if now >= state.submitted_at + RUNNING_AT else None
    s = status(state, now)
    if s not in TERMINAL:
        return start, None
    if s == "Canceled":
        return start, (state.cancel_requested_at or now) + CANCEL_SECONDS
    return start, end_of_run(state)
