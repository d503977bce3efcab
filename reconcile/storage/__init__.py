"""Blob storage for label files and images.

Modules:

- :mod:`.open`   -- open an environment's storage (the one place its settings and secrets are read).
- :mod:`.base`   -- the :class:`~reconcile.storage.base.BlobStore` protocol and content-addressed names.
- :mod:`.upload` -- content-addressed, parallel, resumable uploads of images and COCO files.
- :mod:`.fetch`  -- read a remote label file's bytes and digest (drift detection).
- :mod:`.local`  -- internal: a folder on disk (the embedded default; the emulator reads it through ``file://`` URIs).
- :mod:`.azure`  -- internal: Azure Blob Storage or Azurite (``azure-storage-blob``, imported lazily).
- :mod:`.azurite` -- start a local Azurite (the embedded Azure ML environment's datastore).

Failures are classified into :mod:`reconcile.errors` by :mod:`reconcile.remote_failures`.
"""

from __future__ import annotations

from reconcile.facade import lazy_exports

_EXPORTS = {
    "open_blob_store": "open", "open_container": "open", "open_connection_string_store": "open",
    "AzuriteProcess": "azurite", "start_azurite": "azurite",
    "BlobStore": "base", "sha256_hex": "base",
    "build_local_coco": "upload", "upload_label_file": "upload", "upload_local_coco": "upload",
    "RemoteLabel": "fetch", "fetch_label": "fetch",
}  # fmt: skip
_INTERNAL = ("azure", "local")

__all__ = [
    "AzuriteProcess", "BlobStore", "RemoteLabel", "build_local_coco", "fetch_label", "open_blob_store", "open_connection_string_store", "open_container",
    "sha256_hex", "start_azurite", "upload_label_file", "upload_local_coco",
]  # fmt: skip

__getattr__ = lazy_exports(__name__, _EXPORTS)
