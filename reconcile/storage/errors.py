"""Map blob-storage exceptions into :mod:`reconcile.errors` (the one place that inspects them).

Messages never carry credentials: query strings (SAS) are cut from any URL.
"""

from __future__ import annotations

import re
from typing import Callable, TypeVar

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

T = TypeVar("T")

_QUERY = re.compile(r"\?[^\s'\"]*")


def scrub(text: str) -> str:
    """``text`` without query strings (blob URLs may carry SAS) and with every secret
    :func:`reconcile.client.redact.redact` knows masked (account keys, signatures, keys)."""
    from reconcile.client.redact import redact

    return redact(_QUERY.sub("?<redacted>", text))


def map_azure_error(exc: BaseException, what: str) -> ReconcileError:
    """Classify an azure-core / azure-storage exception raised while doing ``what``."""
    from azure.core import exceptions as az

    first_line = scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    status = getattr(exc, "status_code", None)
    code = getattr(exc, "error_code", None)
    code = str(code) if code is not None else None
    if isinstance(exc, az.ClientAuthenticationError) or status in (401, 403):
        return AuthError(
            f"{what}: storage refused the credentials ({first_line})",
            status=status,
            code=code,
            hint="check the connection string, or that your identity has 'Storage Blob Data Contributor' on the account",
        )
    if isinstance(exc, (az.ServiceRequestError, az.ServiceResponseError)):
        return ServiceUnavailableError(f"{what}: storage is unreachable ({first_line})")
    if status == 429:
        return RateLimitedError(f"{what}: storage is throttling requests ({first_line})")
    if status is not None and status >= 500:
        return ServiceUnavailableError(f"{what}: storage error {status} ({first_line})")
    if isinstance(exc, az.ResourceNotFoundError) or status == 404:
        return NotFoundError(f"{what}: not found ({first_line})", status=404, code=code)
    if isinstance(exc, az.ResourceExistsError) or status == 409:
        return ConflictError(f"{what}: conflict ({first_line})", status=409, code=code)
    if isinstance(exc, az.ResourceModifiedError) or status == 412:
        return PreconditionFailedError(f"{what}: precondition failed ({first_line})", status=412, code=code)
    if isinstance(exc, az.AzureError):
        return RemoteError(f"{what}: {first_line}", status=status, code=code)
    return ServiceUnavailableError(f"{what}: {type(exc).__name__}: {first_line}")


def azure_call(what: str, fn: "Callable[[], T]") -> "T":
    """Run one azure-storage-blob call; any failure leaves as a :mod:`reconcile.errors` type
    (classified by :func:`map_azure_error`, with ``what`` in the message)."""
    try:
        return fn()
    except ReconcileError:
        raise
    except Exception as exc:  # noqa: BLE001 - classified into the error tree right here
        raise map_azure_error(exc, what) from None
