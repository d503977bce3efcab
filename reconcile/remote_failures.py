"""The one boundary where failures of remote services become :mod:`reconcile.errors`.

Every remote call -- the Vision endpoint (:mod:`reconcile.client.http`), blob
storage through the Azure SDK (:mod:`reconcile.storage.azure`, the inventory, the
apply lock) and plain label-file downloads (:mod:`reconcile.storage.fetch`) --
classifies its failure here, by one table::

    401, 403 / credentials refused   AuthError                 fatal: fix credentials or role assignments
    404                              NotFoundError             fatal
    409                              ConflictError             fatal
    412                              PreconditionFailedError   fatal: the eTag moved
    429                              RateLimitedError          retry later (retry_after when known)
    5xx, timeouts, connection        ServiceUnavailableError   retry later
    any other status >= 300          RemoteError               fatal

An HTTP answer is classified by its status (:func:`error_for_status`); an Azure SDK
exception by the status it carries, or else by its type, mapped to the same row
(:func:`error_for_blob_sdk`); a failure before any answer (timeout, refused
connection) by :func:`error_for_transport`. The caller words the message (what was
being done, on what); the classifier picks the class and the hint. Messages never
carry credentials: :func:`scrub` cuts query strings (SAS) and masks known secrets.

:mod:`reconcile.client.errors` adds the Vision-specific parts around this (reading
the service's error body, request ids, ambiguous writes).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from reconcile.errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    RateLimitedError,
    ReconcileError,
    RemoteError,
    ServiceUnavailableError,
)

__all__ = [
    "STORAGE_HINTS",
    "Hints",
    "blob_call",
    "error_for_blob_sdk",
    "error_for_status",
    "error_for_transport",
    "scrub",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Hints:
    """What to tell the user per row of the table; each service words its own (None: no hint)."""

    auth: str | None = None
    not_found: str | None = None
    conflict: str | None = None
    precondition: str | None = None
    rate_limited: str | None = None
    unavailable: str | None = None


STORAGE_HINTS = Hints(
    auth="check the connection string, or that your identity has 'Storage Blob Data Contributor' on the account",
)
"""Hints for blob storage (the Azure SDK and plain downloads of blob URLs)."""


def error_for_status(
    status: int,
    message: str,
    *,
    code: str | None = None,
    method: str | None = None,
    path: str | None = None,
    retry_after: float | None = None,
    hints: Hints = Hints(),
) -> ReconcileError:
    """The error for a remote answer with HTTP ``status`` (>= 300), by the module's table.

    ``message`` is used as given (the caller redacts what it quotes); ``code`` is the
    service's error code. Fatal errors carry ``status``/``code``/``method``/``path``.
    """
    remote = dict(status=status, code=code, method=method, path=path)
    if status in (401, 403):
        return AuthError(message, hint=hints.auth, **remote)
    if status == 404:
        return NotFoundError(message, hint=hints.not_found, **remote)
    if status == 409:
        return ConflictError(message, hint=hints.conflict, **remote)
    if status == 412:
        return PreconditionFailedError(message, hint=hints.precondition, **remote)
    if status == 429:
        return RateLimitedError(message, retry_after=retry_after, hint=hints.rate_limited)
    if status >= 500:
        return ServiceUnavailableError(message, retry_after=retry_after, hint=hints.unavailable)
    return RemoteError(message, **remote)


def error_for_transport(message: str, *, hints: Hints = Hints()) -> ServiceUnavailableError:
    """The error for a call that got no answer (timeout, refused or dropped connection): retry later."""
    return ServiceUnavailableError(message, hint=hints.unavailable)


def scrub(text: str) -> str:
    """``text`` without query strings (blob URLs may carry SAS) and with every secret
    :func:`reconcile.client.redact.redact` knows masked (account keys, signatures, keys)."""
    from reconcile.client.redact import redact

    return redact(_QUERY.sub("?<redacted>", text))


_QUERY = re.compile(r"\?[^\s'\"]*")


def error_for_blob_sdk(exc: BaseException, what: str, *, hints: Hints = STORAGE_HINTS) -> ReconcileError:
    """Classify an azure-core / azure-storage exception raised while doing ``what``.

    The exception's HTTP status decides when it has one; otherwise its type maps to
    the status it stands for (credentials refused = 401, not found = 404, exists =
    409, modified = 412); a request that got no answer, or anything that is not an
    Azure SDK error, is a transport failure.
    """
    from azure.core import exceptions as az

    detail = scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    status = getattr(exc, "status_code", None)
    code = getattr(exc, "error_code", None)
    code = str(code) if code is not None else None
    if isinstance(exc, az.ClientAuthenticationError) and status not in (401, 403):
        status = 401  # a credential that could not even get a token
    if status is None:
        if isinstance(exc, (az.ServiceRequestError, az.ServiceResponseError)) or not isinstance(exc, az.AzureError):
            return error_for_transport(f"{what}: storage is unreachable ({type(exc).__name__}: {detail})", hints=hints)
        implied = ((az.ResourceNotFoundError, 404), (az.ResourceExistsError, 409), (az.ResourceModifiedError, 412))
        status = next((s for kind, s in implied if isinstance(exc, kind)), None)
        if status is None:
            return RemoteError(f"{what}: {detail}", code=code)
    return error_for_status(status, f"{what}: storage answered {status} ({detail})", code=code, hints=hints)


def blob_call(what: str, fn: Callable[[], T]) -> T:
    """Run one Azure SDK blob call; any failure leaves as a :mod:`reconcile.errors` type
    (classified by :func:`error_for_blob_sdk`, with ``what`` in the message)."""
    try:
        return fn()
    except ReconcileError:
        raise
    except Exception as exc:  # noqa: BLE001 - classified into the error tree right here
        raise error_for_blob_sdk(exc, what) from None
