"""The HTTP client boundary of the Vision data plane.

Modules, one concern each:

- :mod:`~reconcile.client.http`      -- ``VisionClient``: the request loop (pacing, retries, pagination).
- :mod:`~reconcile.client.errors`    -- the one mapping of statuses / httpx exceptions to :mod:`reconcile.errors`.
- :mod:`~reconcile.client.retry`     -- backoff with full jitter and ``Retry-After`` parsing.
- :mod:`~reconcile.client.ratelimit` -- the shared token bucket (GCRA) that keeps us under the service's TPS.
- :mod:`~reconcile.client.auth`      -- key, Entra ID bearer and no auth; ``auth_from_settings``.
- :mod:`~reconcile.client.redact`    -- masking of keys, tokens and SAS strings in every output.

See docs/client.md for the retry policy and what a caller should do with each error.
"""

from reconcile.client.auth import Auth, BearerAuth, KeyAuth, NoAuth, auth_from_settings
from reconcile.client.http import ClientStats, VisionClient
from reconcile.client.ratelimit import TokenBucket
from reconcile.client.redact import RedactingFilter, redact, register_secret
from reconcile.client.retry import RetryPolicy, parse_retry_after

__all__ = [
    "Auth",
    "BearerAuth",
    "ClientStats",
    "KeyAuth",
    "NoAuth",
    "RedactingFilter",
    "RetryPolicy",
    "TokenBucket",
    "VisionClient",
    "auth_from_settings",
    "parse_retry_after",
    "redact",
    "register_secret",
]
