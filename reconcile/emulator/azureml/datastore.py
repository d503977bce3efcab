"""The workspace's default blob datastore (``workspaceblobstore``), backed by Azurite.

:class:`BlobDatastore` resolves ``azureml://`` URIs (short
``azureml://datastores/{ds}/paths/{p}`` and long
``azureml://subscriptions/../workspaces/{ws}/datastores/{ds}/paths/{p}``) to blob
paths and reads them. Reads raise :class:`DataError` with a message a user can act on.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from reconcile.limits import IMAGE_BYTES, URI_CHARS, Limit

DEFAULT_DATASTORE = "workspaceblobstore"

_SHORT = re.compile(r"^azureml://datastores/(?P<ds>[^/]+)/paths/(?P<path>.*)$", re.IGNORECASE)
_LONG = re.compile(r"^azureml://subscriptions/[^/]+/resource[gG]roups/[^/]+/(?:providers/[^/]+/)?workspaces/[^/]+"
                   r"/datastores/(?P<ds>[^/]+)/paths/(?P<path>.*)$", re.IGNORECASE)


class DataError(Exception):
    """A data input cannot be read (missing blob, bad URI, no storage configured)."""


@dataclass(frozen=True, slots=True)
class BlobConfig:
    """Where the datastore's container lives: an Azurite (or real) blob endpoint and its account key."""

    endpoint: str
    """``http://127.0.0.1:10000/devstoreaccount1``."""
    account: str
    key: str
    container: str = "azureml-blobstore"

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={self.key};"
                f"BlobEndpoint={self.endpoint};")


def datastore_path(uri: str) -> tuple[str, str]:
    """``(datastore, path)`` of an ``azureml://`` datastore URI; raises :class:`DataError` otherwise."""
    m = _SHORT.match(uri) or _LONG.match(uri)
    if m is None:
        raise DataError(f"{uri!r} is not an azureml://datastores/<name>/paths/<path> URI")
    return m.group("ds"), unquote(m.group("path"))


class BlobDatastore:
    """Reads (and, for tests and the demo, writes) blobs of the default datastore."""

    def __init__(self, config: BlobConfig | None) -> None:
        self.config = config
        self._container: Any = None
        self._lock = threading.Lock()

    def _client(self) -> Any:
        if self.config is None:
            raise DataError("the emulator has no blob storage configured (start it with a blob endpoint, e.g. Azurite)")
        with self._lock:
            if self._container is None:
                from azure.storage.blob import BlobServiceClient

                service = BlobServiceClient.from_connection_string(self.config.connection_string)
                container = service.get_container_client(self.config.container)
                if not container.exists():
                    container.create_container()
                self._container = container
            return self._container

    def ensure(self) -> None:
        """Create the container if missing (at start, so clients can upload at once)."""
        if self.config is not None:
            self._client()

    def read(self, path: str, limit: Limit = IMAGE_BYTES) -> bytes:
        """The blob at ``path``; :class:`DataError` if it is missing or larger than ``limit``."""
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

        try:
            download = self._client().download_blob(path.lstrip("/"))
            if download.size > limit.value:
                raise DataError(f"'{path}' is larger than the {limit.name} limit of {limit.shown} "
                                f"({download.size} bytes)")
            return download.readall()
        except ResourceNotFoundError:
            raise DataError(f"StreamError(NotFound): no blob at path '{path}' in datastore "
                            f"'{DEFAULT_DATASTORE}'") from None
        except HttpResponseError as exc:
            raise DataError(f"reading '{path}' failed: {exc.reason}") from None

    def write(self, path: str, data: bytes) -> None:
        self._client().upload_blob(path.lstrip("/"), data, overwrite=True)

    def read_uri(self, uri: str, base: str = "", limit: Limit = IMAGE_BYTES) -> bytes:
        """Bytes behind an ``azureml://`` URI, or a path relative to the folder ``base``."""
        if len(uri) > URI_CHARS.value:
            raise DataError(f"a URI is longer than the {URI_CHARS.name} limit of {URI_CHARS.shown}")
        if uri.startswith("azureml://"):
            ds, path = datastore_path(uri)
            if ds != DEFAULT_DATASTORE:
                raise DataError(f"datastore '{ds}' does not exist (the emulator has only '{DEFAULT_DATASTORE}')")
            return self.read(path, limit)
        if "://" in uri:
            raise DataError(f"{uri!r}: only azureml:// URIs and relative paths are readable by the emulator")
        rel = uri[2:] if uri.startswith("./") else uri
        return self.read(f"{base.rstrip('/')}/{rel}" if base else rel, limit)
