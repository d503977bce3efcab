"""When to retry and how long to wait: exponential backoff with full jitter, or ``Retry-After``.

The spec documents no ``Retry-After`` (docs/service-api.md §2), but Azure gateways send
one on 429 and 503, sometimes as ``retry-after-ms`` / ``x-ms-retry-after-ms``, and
the APIM 429 body says "Try again in N seconds"; all are honoured, capped at
``max_retry_after``. Without a hint the wait is ``uniform(0, min(cap, base * 2**(n-1)))``
for the n-th retry ("full jitter"), so that many clients that failed together do
not retry together.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

_TRY_AGAIN = re.compile(r"(?i)try again in (\d+(?:\.\d+)?) seconds?")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times and how long to retry one logical call."""

    max_retries: int = 6
    """Retries after the first attempt (so at most ``max_retries + 1`` attempts)."""
    backoff_base: float = 0.5
    """Upper bound of the first retry's jittered wait, in seconds; doubles per retry."""
    backoff_cap: float = 8.0
    """Upper bound of any jittered wait, in seconds."""
    max_retry_after: float = 60.0
    """A server's ``Retry-After`` longer than this is cut to this."""
    deadline: float = 120.0
    """A call gives up instead of waiting past this many seconds since it started."""

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.backoff_base < 0 or self.backoff_cap < 0 or self.max_retry_after < 0 or self.deadline <= 0:
            raise ValueError("backoff_base, backoff_cap and max_retry_after must be >= 0 and deadline > 0")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """The jittered wait before the ``retry``-th retry (1-based) when the server gave no hint."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** (retry - 1)))
        return rng.uniform(0.0, ceiling)

    def wait(self, retry: int, retry_after: float | None, rng: random.Random) -> float:
        """The wait before the ``retry``-th retry: the server's hint (capped) if any, else :meth:`backoff`."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return self.backoff(retry, rng)


def parse_retry_after(
    headers: Mapping[str, str],
    message: str | None = None,
    *,
    now: Callable[[], float] = time.time,
) -> float | None:
    """Seconds the server asked us to wait, or ``None`` if it did not say.

    Reads ``retry-after-ms`` / ``x-ms-retry-after-ms`` (milliseconds), then
    ``Retry-After`` as delta-seconds or an HTTP-date (relative to ``now()``, which
    is wall-clock time), then "Try again in N seconds" in the error message.
    Unparseable values are ignored; a date in the past gives 0.
    """
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = headers.get(name)
        if value:
            try:
                return max(float(value) / 1000.0, 0.0)
            except ValueError:
                pass
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        try:
            return max(float(value), 0.0)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None and when.tzinfo is not None:
                return max(when.timestamp() - now(), 0.0)
    if message:
        match = _TRY_AGAIN.search(message)
        if match:
            return float(match.group(1))
    return None
