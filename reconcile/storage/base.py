"""The blob-store protocol and content-addressed blob names.

Blob names are derived from content (sha256), so an upload is idempotent: the
same bytes always land at the same name, a re-run after an interruption only
uploads what is missing, and nothing is ever uploaded twice.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

LABELS_PREFIX = "labels/"
IMAGES_PREFIX = "images/"
LABEL_SUFFIX = ".coco.json"


@runtime_checkable
class BlobStore(Protocol):
    """A flat namespace of immutable blobs with URIs the Vision service (or emulator) can read.

    Implementations map their own failures into :mod:`reconcile.errors`
    (``AuthError``, ``ServiceUnavailableError``, ``NotFoundError``...).
    """

    @property
    def url_prefix(self) -> str:
        """The URI every blob's URI starts with (ends with ``/``)."""
        ...

    def url(self, name: str) -> str:
        """The URI of blob ``name`` (whether or not it exists)."""
        ...

    def name_for(self, uri: str) -> str | None:
        """The blob name behind ``uri``, or ``None`` if ``uri`` is not in this store."""
        ...

    def exists(self, name: str) -> bool: ...

    def list_names(self, prefix: str = "") -> Iterator[str]:
        """Names of the blobs that start with ``prefix``."""
        ...

    def put(self, name: str, data: bytes, *, content_type: str | None = None) -> bool:
        """Store ``data`` at ``name`` atomically; return ``False`` (and write nothing) if ``name`` exists.

        Never leaves a partial blob behind: an interrupted put leaves no blob at all.
        """
        ...

    def get(self, name: str) -> bytes:
        """The bytes of blob ``name``; ``NotFoundError`` if it does not exist."""
        ...


def sha256_hex(data: bytes | bytearray | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def label_blob_name(digest: str) -> str:
    """``labels/<sha256>.coco.json``."""
    return f"{LABELS_PREFIX}{digest}{LABEL_SUFFIX}"


def image_blob_name(digest: str, file_name: str) -> str:
    """``images/<sha256><ext>``, keeping the (lower-cased) extension so the service can tell the format."""
    ext = posixpath.splitext(file_name.replace("\\", "/"))[1].lower()
    if len(ext) > 10 or not ext[1:].isalnum():
        ext = ""
    return f"{IMAGES_PREFIX}{digest}{ext}"
