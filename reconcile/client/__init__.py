"""The HTTP client boundary: the Vision data plane and Azure Resource Manager (Azure ML).

Modules, one concern each:

- :mod:`.http`      -- ``VisionClient``: the request loop (pacing, retries, pagination).
- :mod:`.arm`       -- ``ArmClient``: the same for Resource Manager (ARM token buckets, paging, LROs).
- :mod:`.auth`      -- key, Entra ID bearer and no auth; ``auth_from_settings``.
- :mod:`.redact`    -- masking of keys, tokens and SAS strings in every output.
- :mod:`.errors`    -- internal: Vision failures as :mod:`reconcile.errors` (classified by :mod:`reconcile.remote_failures`).
- :mod:`.attempts`  -- internal: one call's attempts for both clients (retry or raise, deadline, ambiguous writes).
- :mod:`.counters`  -- internal: thread-safe call counters behind ``ClientStats`` / ``ArmStats``.
- :mod:`.retry`     -- internal: backoff with full jitter and ``Retry-After`` parsing.
- :mod:`.ratelimit` -- internal: the token bucket that keeps us under the service's TPS, and its
  mirror of a service's bucket (ARM's).

See docs/client.md for the retry policy and what a caller should do with each error.
"""

from __future__ import annotations

# Light (stdlib only) and bound eagerly: the function `redact` must shadow the submodule of that name.
from reconcile.client.redact import RedactingFilter, redact, register_secret
from reconcile.facade import lazy_exports

# Exports are imported on first use: `reconcile.client.redact` is imported by light
# modules (errors, specs) that must not pull in httpx.
_EXPORTS = {
    "Auth": "auth", "BearerAuth": "auth", "KeyAuth": "auth", "NoAuth": "auth", "auth_from_settings": "auth",
    "ClientStats": "http", "VisionClient": "http",
    "ArmClient": "arm", "ArmStats": "arm",
    "TokenBucket": "ratelimit",
    "RetryPolicy": "retry", "parse_retry_after": "retry",
}  # fmt: skip
_INTERNAL = ("attempts", "counters", "errors", "ratelimit", "retry")

__all__ = [
    "ArmClient", "ArmStats", "Auth", "BearerAuth", "ClientStats", "KeyAuth", "NoAuth", "RedactingFilter", "RetryPolicy", "TokenBucket",
    "VisionClient", "auth_from_settings", "parse_retry_after", "redact", "register_secret",
]  # fmt: skip

__getattr__ = lazy_exports(__name__, _EXPORTS)
