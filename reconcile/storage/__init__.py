"""Blob storage for label files and images.

- :mod:`.base`: the :class:`~reconcile.storage.base.BlobStore` protocol and content-addressed names.
- :mod:`.local`: a folder on disk (the embedded default; the emulator reads it through ``file://`` URIs).
- :mod:`.azure`: Azure Blob Storage or Azurite (``azure-storage-blob``, imported lazily).
- :mod:`.upload`: content-addressed, parallel, resumable uploads of images and COCO files.
- :mod:`.open`: open an environment's storage (the one place settings and secrets are read).
- :mod:`.fetch`: read a remote label file's bytes and digest (drift detection).

Failures are classified into :mod:`reconcile.errors` by :mod:`reconcile.remote_failures`.
"""
