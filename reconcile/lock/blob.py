"""The apply lock on Azure Blob Storage: a finite, renewed blob lease.

The lock is the lease on ``<container>/.vision-gitops/locks/<environment>.lock``.
Leases last ``duration`` seconds (15-60; Azure's finite range) and are renewed by
the holder's background thread, so a cancelled CI job frees the lock by itself
within one duration -- unlike an infinite lease, which stays until someone
breaks it. The holder record is written as blob metadata while the lease is held
and cleared on release.

``azure-storage-blob`` is imported lazily: nothing here is loaded unless a blob
lock is actually used.
"""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any

from reconcile.errors import ConflictError, NotFoundError, PreconditionFailedError, ReconcileError
from reconcile.lock.base import Acquired, Held, LeaseGone, Lock
from reconcile.lock.info import FIELDS, LockInfo
from reconcile.remote_failures import error_for_blob_sdk

if TYPE_CHECKING:
    from azure.storage.blob import BlobLeaseClient, ContainerClient

LOCK_PREFIX = ".vision-gitops/locks/"
# Metadata travels as HTTP headers: keep values printable ASCII, percent-encode the rest.
_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")
# Lease error codes that mean "this lease is no longer ours" (as opposed to "try again").
_GONE_CODES = {
    "LeaseIdMismatchWithLeaseOperation",
    "LeaseNotPresentWithLeaseOperation",
    "LeaseLost",
    "LeaseIsBrokenAndCannotBeRenewed",
    "LeaseIsBreakingAndCannotBeAcquired",
    "BlobNotFound",
    "ContainerNotFound",
}
# Failures of renew/release that mean the lease is gone (broken, taken over, blob deleted).
_NOT_OURS = (NotFoundError, ConflictError, PreconditionFailedError)


class BlobLeaseLock(Lock["BlobLeaseClient"]):
    """A blob-lease lock in ``container_client``'s container; the handle is the SDK lease client."""

    def __init__(self, container_client: "ContainerClient", environment: str, **kwargs: Any) -> None:
        super().__init__(environment, **kwargs)
        self._container = container_client
        self.blob_name = f"{LOCK_PREFIX}{environment}.lock"
        self._blob = container_client.get_blob_client(self.blob_name)

    def where(self) -> str:
        # The client URL never carries the shared key; drop any query string (a SAS) all the same.
        return self._blob.url.split("?", 1)[0]

    def current(self) -> LockInfo | None:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            props = self._blob.get_blob_properties()
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise _storage_error(exc, "read the lock blob", self.where()) from exc
        if props.lease.state not in ("leased", "breaking"):
            return None
        return self._holder(props.metadata)

    def break_lock(self) -> LockInfo | None:
        from azure.core.exceptions import AzureError, ResourceNotFoundError
        from azure.storage.blob import BlobLeaseClient

        try:
            props = self._blob.get_blob_properties()
            if props.lease.state not in ("leased", "breaking"):
                return None
            holder = self._holder(props.metadata)
            BlobLeaseClient(self._blob).break_lease(lease_break_period=0)
            self._blob.set_blob_metadata({})
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise _storage_error(exc, "break the lease on the lock blob", self.where()) from exc
        return holder

    # --- backend hooks -------------------------------------------------------------

    def _try_acquire(self, info: LockInfo) -> Acquired["BlobLeaseClient"] | Held:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            try:
                lease = self._blob.acquire_lease(lease_duration=int(self.duration))
            except ResourceNotFoundError:
                self._create_blob()
                lease = self._blob.acquire_lease(lease_duration=int(self.duration))
        except AzureError as exc:
            error = _storage_error(exc, "acquire the lease on the lock blob", self.where())
            if isinstance(error, ConflictError):  # LeaseAlreadyPresent: someone holds it
                return Held(self.current_or_unknown())
            raise error from exc
        try:
            self._blob.set_blob_metadata(_encode(info.to_dict()), lease=lease)
        except AzureError as exc:
            try:
                lease.release()
            except AzureError:
                pass  # the lease expires by itself within one duration
            raise _storage_error(exc, "record the holder on the lock blob", self.where()) from exc
        return Acquired(lease, info)

    def _renew(self, handle: "BlobLeaseClient") -> None:
        from azure.core.exceptions import HttpResponseError

        try:
            handle.renew()
        except HttpResponseError as exc:
            error = _storage_error(exc, "renew the lease on the lock blob", self.where())
            if isinstance(error, _NOT_OURS) or exc.error_code in _GONE_CODES:
                raise LeaseGone(f"the lease was broken or taken over ({exc.error_code or exc.status_code})") from exc
            raise

    def _release(self, handle: "BlobLeaseClient") -> None:
        from azure.core.exceptions import HttpResponseError

        try:
            self._blob.set_blob_metadata({}, lease=handle)
            handle.release()
        except HttpResponseError as exc:
            if isinstance(_storage_error(exc, "release the lease on the lock blob", self.where()), _NOT_OURS):
                return  # no longer ours (broken): nothing of ours to free
            raise

    # --- helpers ---------------------------------------------------------------------

    def current_or_unknown(self) -> LockInfo | None:
        """The holder record, tolerating a lease released between our attempt and this read."""
        try:
            return self.current()
        except ReconcileError:
            return None

    def _holder(self, metadata: dict[str, str] | None) -> LockInfo:
        decoded = _decode(metadata or {})
        if "who" not in decoded:
            # Leased but no record: being acquired right now, or a lease taken by another tool.
            decoded["who"] = "unknown (lease held without a vision-gitops holder record)"
        return LockInfo.from_dict(decoded, environment=self.environment)

    def _create_blob(self) -> None:
        from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

        try:
            self._blob.upload_blob(b"", overwrite=False)
        except ResourceExistsError:
            return  # a racing run created it first
        except ResourceNotFoundError:
            try:
                self._container.create_container()
            except ResourceExistsError:
                pass
            try:
                self._blob.upload_blob(b"", overwrite=False)
            except ResourceExistsError:
                return


def _encode(fields: dict[str, str]) -> dict[str, str]:
    return {k: urllib.parse.quote(v, safe=_SAFE) for k, v in fields.items()}


def _decode(metadata: dict[str, str]) -> dict[str, str]:
    lowered = {k.lower(): v for k, v in metadata.items()}
    return {k: urllib.parse.unquote(lowered[k]) for k in FIELDS if k in lowered}


def _storage_error(exc: Exception, doing: str, where: str) -> ReconcileError:
    """Classify an Azure SDK error with the storage layer's one mapper (it scrubs credentials)."""
    return error_for_blob_sdk(exc, f"could not {doing} ({where})")
