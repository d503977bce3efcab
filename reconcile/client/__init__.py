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

from __future__ import annotations

import importlib
from typing import Any

# Light (stdlib only) and bound eagerly: the function `redact` must shadow the submodule of that name.
from reconcile.client.redact import RedactingFilter, redact, register_secret

# Exports are imported on first use: `reconcile.client.redact` is imported by light
# modules (errors, specs) that must not pull in httpx.
_EXPORTS = {
    "Auth": "auth", "BearerAuth": "auth", "KeyAuth": "auth", "NoAuth": "auth", "auth_from_settings": "auth",
    "ClientStats": "http", "VisionClient": "http",
    "TokenBucket": "ratelimit",
    "RetryPolicy": "retry", "parse_retry_after": "retry",
}  # fmt: skip

__all__ = sorted([*_EXPORTS, "RedactingFilter", "redact", "register_secret"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'reconcile.client' has no attribute {name!r}")
    return getattr(importlib.import_module(f"reconcile.client.{module}"), name)
