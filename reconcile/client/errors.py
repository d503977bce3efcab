"""Failures of calls to the Vision endpoint, as :mod:`reconcile.errors`.

The class of each failure comes from the project's one classifier,
:mod:`reconcile.remote_failures` (the same table blob storage follows); this module
adds what is particular to the Vision endpoint: reading the service's error body
(``{"error": {"code", "message", "innererror"}}``, docs/client.md), the hints, and
the call context below. Nothing else in the client inspects an httpx exception.
The resulting mapping::

    401, 403                      AuthError                 (fatal; hint: key, disableLocalAuth, role)
    404                           NotFoundError
    409                           ConflictError
    412                           PreconditionFailedError
    429 (retries exhausted)       RateLimitedError          (retryable; retry_after when known)
    5xx, timeouts, connection     ServiceUnavailableError   (retryable)
    any other 4xx                 RemoteError
    2xx with a body that is not JSON   RemoteError
    a bad endpoint URL            ConfigError

Every error raised here carries, as attributes (``None`` when not applicable):

- ``status`` (int), ``code`` (the service's ``error.code`` or header ``x-ms-error-code``),
  ``method``, ``path`` (relative to ``/computervision/``; never a query string);
- ``request_id`` (our ``x-ms-client-request-id``, for support tickets), ``attempts``;
- ``ambiguous_write`` (bool): the call was a write (PUT/PATCH/DELETE/POST) and an
  attempt whose outcome is unknown (timeout, dropped connection, 500/502/503/504)
  was made before this error, so the write may already have taken effect. The
  caller must resolve it by reading the resource: a 409 on a create, a 412 on a
  PATCH or a 404 on a DELETE may then be the echo of our own earlier attempt, and a
  retryable error may hide a write that succeeded.

The message is for a human and passes through :func:`~reconcile.client.redact.redact`.
"""

from __future__ import annotations

import json
from typing import Final

import httpx

from reconcile.client.redact import redact
from reconcile.errors import ConfigError, ReconcileError, RemoteError
from reconcile.remote_failures import Hints, error_for_status, error_for_transport

WRITE_METHODS: Final = frozenset({"PUT", "PATCH", "DELETE", "POST"})
RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
#: Statuses after which a write may or may not have been applied. 429 is not here:
#: a throttled request was refused before it reached the service.
UNKNOWN_OUTCOME_STATUSES: Final = frozenset({500, 502, 503, 504})

#: Transport failures that happen before the request left us: retrying cannot duplicate a write.
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

AUTH_HINT: Final = (
    "check the key (the resource's Keys page; keys are rotated per slot); if the resource has "
    "disableLocalAuth=true, keys are refused: use auth kind 'entra'; with 'entra', the identity needs the "
    "role 'Cognitive Services User' on the Vision resource, and a new role assignment takes about 5 minutes "
    "to take effect; Entra ID also needs a custom-subdomain endpoint (https://<name>.cognitiveservices.azure.com)"
)

#: What to tell the user for each kind of failure of the Vision endpoint.
VISION_HINTS: Final = Hints(
    auth=AUTH_HINT,
    conflict="the name already exists or its current state does not allow this; run plan again",
    precondition="the resource changed since it was read (eTag moved); run plan again",
    rate_limited="the resource's rate limit was hit; run again later, or lower the client's rate_limit_tps",
    unavailable="a transient service failure; run again (apply resumes)",
)

_MAX_MESSAGE: Final = 500


def is_write(method: str) -> bool:
    """True for methods that change state (every retried one may be ambiguous)."""
    return method.upper() in WRITE_METHODS


def is_retryable_status(status: int) -> bool:
    """True for statuses the client retries (429, 500, 502, 503, 504)."""
    return status in RETRY_STATUSES


def is_retryable_exception(exc: Exception) -> bool:
    """True for transport failures the client retries: timeouts and network/protocol errors."""
    return isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError))


def outcome_unknown(*, status: int | None = None, exc: Exception | None = None) -> bool:
    """True if an attempt that ended this way may have been applied by the service."""
    if exc is not None:
        return not isinstance(exc, _NOT_SENT)
    return status in UNKNOWN_OUTCOME_STATUSES


def service_error(response: httpx.Response) -> tuple[str | None, str | None]:
    """The service's ``(code, message)`` from an error response.

    Reads ``{"error": {"code", "message", "innererror": {...}}}`` (docs/client.md),
    falling back to header ``x-ms-error-code`` and to the raw text. An inner error's
    code is appended to the message because it is the specific reason
    (``InvalidRequest`` / ``InvalidImageFormat``). Never raises.
    """
    code = response.headers.get("x-ms-error-code") or None
    message: str | None = None
    try:
        body = json.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        if isinstance(err.get("code"), (str, int)):
            code = str(err["code"])
        if isinstance(err.get("message"), str):
            message = err["message"]
        inner = err.get("innererror")
        if isinstance(inner, dict) and inner.get("code"):
            message = f"{message or ''} ({inner['code']}: {inner.get('message', '')})".strip()
    elif response.content:
        message = response.content.decode("utf-8", "replace").strip() or None
    if message and len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "..."
    return code, message


def annotate(
    err: ReconcileError,
    *,
    status: int | None,
    code: str | None,
    method: str,
    path: str,
    request_id: str | None,
    attempts: int,
    ambiguous_write: bool,
) -> ReconcileError:
    """Set the call-context attributes (see the module docstring) on ``err``; return it."""
    # RetryableError's constructor does not take these; set them the same way on
    # every class so callers can read them without isinstance checks.
    err.status = status  # type: ignore[attr-defined]
    err.code = code  # type: ignore[attr-defined]
    err.method = method  # type: ignore[attr-defined]
    err.path = path  # type: ignore[attr-defined]
    err.request_id = request_id
    err.attempts = attempts
    err.ambiguous_write = ambiguous_write
    return err


def _suffix(request_id: str | None, attempts: int, ambiguous_write: bool) -> str:
    parts = []
    if attempts > 1:
        parts.append(f"after {attempts} attempts")
    if ambiguous_write:
        parts.append("an earlier attempt may have been applied")
    if request_id:
        parts.append(f"request id {request_id}")
    return f" [{'; '.join(parts)}]" if parts else ""


def from_response(
    response: httpx.Response,
    *,
    method: str,
    path: str,
    request_id: str | None = None,
    attempts: int = 1,
    ambiguous_write: bool = False,
    retry_after: float | None = None,
) -> ReconcileError:
    """The error for a non-2xx ``response`` to ``method path`` (see the module table).

    ``ambiguous_write`` is passed through as the attribute of the same name; the
    caller computes it (an earlier attempt of this write had an unknown outcome).
    """
    status = response.status_code
    code, message = service_error(response)
    what = f"{method} {path}"
    detail = f"HTTP {status}" + (f" {code}" if code and code != str(status) else "")
    text = f"{what} failed: {detail}" + (f": {message}" if message else "")
    text = redact(text + _suffix(request_id, attempts, ambiguous_write))
    err = error_for_status(status, text, code=code, method=method, path=path, retry_after=retry_after,
                           hints=VISION_HINTS)
    return annotate(
        err,
        status=status,
        code=code,
        method=method,
        path=path,
        request_id=request_id,
        attempts=attempts,
        ambiguous_write=ambiguous_write,
    )


def from_exception(
    exc: Exception,
    *,
    method: str,
    path: str,
    request_id: str | None = None,
    attempts: int = 1,
    ambiguous_write: bool = False,
) -> ReconcileError:
    """The error for an httpx exception raised while calling ``method path``.

    Timeouts, network and protocol failures become :class:`ServiceUnavailableError`;
    a malformed or unsupported endpoint URL becomes :class:`ConfigError`; anything
    else httpx raises becomes :class:`RemoteError`. The httpx message is redacted.
    """
    kind = type(exc).__name__
    detail = redact(str(exc)) or kind
    suffix = _suffix(request_id, attempts, ambiguous_write)
    err: ReconcileError
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        err = ConfigError(
            f"the Vision endpoint URL is not usable for {method} {path}: {detail}",
            hint="set the endpoint to https://<name>.cognitiveservices.azure.com (or http://127.0.0.1:<port> for the emulator)",
        )
    elif isinstance(exc, httpx.TimeoutException):
        err = error_for_transport(
            f"{method} {path} timed out ({kind}){suffix}",
            hints=Hints(unavailable="the service or network is slow; run again, or raise the client timeout"),
        )
    elif is_retryable_exception(exc):
        err = error_for_transport(
            f"{method} {path} failed: connection problem ({kind}: {detail}){suffix}",
            hints=Hints(unavailable="check the endpoint and network; run again"),
        )
    else:
        err = RemoteError(f"{method} {path} failed: {kind}: {detail}{suffix}", method=method, path=path)
    return annotate(
        err,
        status=None,
        code=None,
        method=method,
        path=path,
        request_id=request_id,
        attempts=attempts,
        ambiguous_write=ambiguous_write,
    )


def unexpected_answer(method: str, path: str, what: str) -> ReconcileError:
    """A :class:`RemoteError` for an answer of the wrong shape (``what`` says how), with the call context."""
    err = RemoteError(redact(f"{method} {path}: the service answered with {what}"), method=method, path=path)
    return annotate(err, status=None, code=None, method=method, path=path, request_id=None, attempts=1,
                    ambiguous_write=False)
