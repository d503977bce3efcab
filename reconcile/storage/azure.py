"""Azure Blob Storage (or Azurite) behind the :class:`~reconcile.storage.base.BlobStore` protocol.

The container client comes from :mod:`reconcile.storage.open` (Azurite's
connection string, or an account URL with Microsoft Entra ID: production storage
has Shared Key access disabled). ``azure-*`` packages are imported only when a
store is opened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

from reconcile.bounded import too_large
from reconcile.errors import ConfigError
from reconcile.limits import LABEL_FILE_BYTES
from reconcile.remote_failures import blob_call

T = TypeVar("T")


class AzureBlobStore:
    """One blob container (opened by :func:`reconcile.storage.open.open_blob_store`; tests use :meth:`from_connection_string`)."""

    def __init__(self, container_client: Any) -> None:
        self._container = container_client
        self._prefix = container_client.url.rstrip("/") + "/"

    @classmethod
    def from_connection_string(cls, connection_string: str, container: str, *, create: bool = True) -> AzureBlobStore:
        """A store from a connection string (Azurite, or accounts that allow Shared Key)."""
        from azure.storage.blob import BlobServiceClient

        try:
            service = BlobServiceClient.from_connection_string(connection_string)
        except ValueError:
            # The string itself may hold a key: never echo it.
            raise ConfigError("the storage connection string is malformed (its content is not shown)") from None
        store = cls(service.get_container_client(container))
        if create:
            store.ensure_container()
        return store

    def __repr__(self) -> str:
        return f"AzureBlobStore({self._prefix!r})"

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        return blob_call(what, fn)

    def ensure_container(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        def create() -> None:
            try:
                self._container.create_container()
            except ResourceExistsError:
                pass

        self._call(f"create container {self._prefix}", create)

    @property
    def url_prefix(self) -> str:
        return self._prefix

    def url(self, name: str) -> str:
        return self._prefix + quote(name, safe="/")

    def name_for(self, uri: str) -> str | None:
        base = uri.split("?", 1)[0]
        if not base.startswith(self._prefix):
            return None
        return unquote(urlsplit(base).path)[len(unquote(urlsplit(self._prefix).path)) :] or None

    def exists(self, name: str) -> bool:
        return self._call(f"check blob {name}", lambda: self._container.get_blob_client(name).exists())

    def list_names(self, prefix: str = "") -> Iterator[str]:
        names = self._call(
            f"list blobs under {prefix or '/'}", lambda: list(self._container.list_blob_names(name_starts_with=prefix or None))
        )
        yield from names

    def put(self, name: str, data: bytes, *, content_type: str | None = None) -> bool:
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import ContentSettings

        settings = ContentSettings(content_type=content_type) if content_type else None

        def upload() -> bool:
            try:
                # overwrite=False sends If-None-Match: *, so two writers of the same
                # content-addressed name cannot clobber each other; a block upload that
                # is interrupted never commits, so no partial blob is ever visible.
                self._container.upload_blob(name, data, overwrite=False, content_settings=settings)
            except ResourceExistsError:
                return False
            return True

        return self._call(f"upload blob {name}", upload)

    def get(self, name: str) -> bytes:
        """The blob's bytes; a blob over ``labelFileBytes`` is refused before its body is read."""

        def download() -> bytes:
            stream = self._container.download_blob(name)
            if stream.size is not None and stream.size > LABEL_FILE_BYTES.value:
                raise too_large(f"blob {name!r}", LABEL_FILE_BYTES, stream.size)
            return stream.readall()

        return self._call(f"download blob {name}", download)
