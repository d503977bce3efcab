"""The attempts of one logical call, shared by both clients' request loops.

Both :class:`~reconcile.client.http.VisionClient` and :class:`~reconcile.client.arm.ArmClient`
send a call as attempts; what a failed attempt means and when to stop is decided here, once:

- :func:`failed_response` / :func:`failed_transport`: a failure worth retrying becomes a
  :class:`RetryableFailure`; any other is raised at once, classified by
  :mod:`reconcile.client.errors` (which follows :mod:`reconcile.remote_failures`);
- :class:`CallAttempts`: the attempt count, the deadline, the jittered wait
  (:class:`~reconcile.client.retry.RetryPolicy`) and whether a write may already
  have been applied (``ambiguous_write``); it raises the last failure when the retries
  or the deadline are spent.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from reconcile.client import errors as classify
from reconcile.client.retry import RetryPolicy, parse_retry_after
from reconcile.errors import ReconcileError


@dataclass(frozen=True, slots=True)
class RetryableFailure:
    """An attempt that failed in a way worth retrying: a retryable status or a transport error."""

    reason: str
    """What the retry log line says (``HTTP 503``, ``ConnectTimeout``)."""
    unknown: bool
    """The service may have applied it (matters for writes)."""
    response: httpx.Response | None = None
    exc: Exception | None = None
    retry_after: float | None = None


def failed_response(response: httpx.Response, *, ambiguous: bool, context: dict[str, Any],
                    now: Callable[[], float] = time.time) -> RetryableFailure:
    """A non-2xx answer: the :class:`RetryableFailure` of a retryable status (429, 5xx), with the
    server's ``Retry-After`` (``now`` is wall-clock time for HTTP dates); raises the classified
    error of any other status. ``context`` is the call's method, path, request_id and attempts."""
    status = response.status_code
    if not classify.is_retryable_status(status):
        raise classify.from_response(response, ambiguous_write=ambiguous, **context)
    _code, message = classify.service_error(response)
    return RetryableFailure(reason=f"HTTP {status}", unknown=classify.outcome_unknown(status=status),
                            response=response, retry_after=parse_retry_after(response.headers, message, now=now))


def failed_transport(exc: httpx.HTTPError, *, ambiguous: bool, context: dict[str, Any]) -> RetryableFailure:
    """An httpx exception: the :class:`RetryableFailure` of a timeout or connection failure;
    raises the classified error of any other."""
    if not classify.is_retryable_exception(exc):
        raise classify.from_exception(exc, ambiguous_write=ambiguous, **context) from None
    return RetryableFailure(reason=type(exc).__name__, unknown=classify.outcome_unknown(exc=exc), exc=exc)


@dataclass
class CallAttempts:
    """Retry bookkeeping of one logical call (one per call; not shared between threads)."""

    policy: RetryPolicy
    method: str
    path: str
    """What messages and logs show (never a query string)."""
    request_id: str
    write: bool
    monotonic: Callable[[], float]
    rng: random.Random
    rng_lock: threading.Lock
    attempt: int = 0
    unknown_before: bool = False
    """An earlier attempt of this call may have been applied."""
    start: float = field(init=False)

    def __post_init__(self) -> None:
        self.start = self.monotonic()

    def next(self) -> int:
        """Count a new attempt; return its number (1-based)."""
        self.attempt += 1
        return self.attempt

    @property
    def ambiguous(self) -> bool:
        """What an error raised now carries as ``ambiguous_write``."""
        return self.write and self.unknown_before

    def context(self) -> dict[str, Any]:
        """The call context every classified error carries."""
        return dict(method=self.method, path=self.path, request_id=self.request_id, attempts=self.attempt)

    def wait_after(self, failure: RetryableFailure) -> float:
        """The wait (s) before retrying after ``failure``.

        Raises ``failure`` classified when the retries are spent or the wait would pass
        the deadline; its ``ambiguous_write`` counts this attempt too.
        """
        ambiguous = self.write and (self.unknown_before or failure.unknown)
        if self.attempt > self.policy.max_retries:
            raise self.error(failure, ambiguous)
        with self.rng_lock:
            wait = self.policy.wait(self.attempt, failure.retry_after, self.rng)
        if self.monotonic() - self.start + wait > self.policy.deadline:
            raise self.error(failure, ambiguous)
        self.unknown_before = self.unknown_before or failure.unknown
        return wait

    def error(self, failure: RetryableFailure, ambiguous: bool) -> ReconcileError:
        """``failure`` as the classified error the caller gets."""
        if failure.response is not None:
            return classify.from_response(failure.response, ambiguous_write=ambiguous,
                                          retry_after=failure.retry_after, **self.context())
        assert failure.exc is not None
        return classify.from_exception(failure.exc, ambiguous_write=ambiguous, **self.context())
