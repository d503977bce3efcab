"""Read a label file behind a URI and digest it (drift: the bytes changed behind the same URI).

The caller compares :attr:`RemoteLabel.sha256` with the digest it pinned (the spec's ``sha256`` or the last apply's).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from reconcile import safepath
from reconcile.bounded import http_get
from reconcile.errors import ConfigError, NotFoundError
from reconcile.limits import LABEL_FILE_BYTES, URI_CHARS
from reconcile.remote_failures import Hints, error_for_status, error_for_transport, scrub
from reconcile.storage.base import BlobStore, sha256_hex

#: A label file behind a URL that refuses us is a private blob: it is read through the configured store.
_FETCH_HINTS = Hints(auth="the blob is private: configure the storage account so it is read with your identity")


@dataclass(frozen=True, slots=True)
class RemoteLabel:
    """The bytes behind ``uri`` now, and their sha256."""

    uri: str
    data: bytes
    sha256: str


def fetch_label(
    uri: str, store: BlobStore | None = None, *, timeout: float = 60.0, roots: Sequence[Path] | None = None
) -> RemoteLabel:
    """Download the label file at ``uri``, at most ``labelFileBytes`` of it.

    A URI inside ``store`` is read through the store (its credentials); other
    ``file://`` URIs are read from disk -- only inside ``roots`` (the repository;
    ``None`` refuses every such URI) and only regular files -- and other
    ``http(s)://`` URIs with a plain streamed GET (public or SAS URLs). Failures
    raise :mod:`reconcile.errors` types: ``NotFoundError`` (404 or missing file),
    ``AuthError`` (401/403), ``ServiceUnavailableError`` (network, 5xx),
    ``ConfigError`` (unsupported scheme), ``LimitExceededError`` (too large),
    ``UnsafePathError`` / ``InputError`` (a local path outside ``roots`` or unreadable).
    """
    if store is not None:
        name = store.name_for(uri)
        if name is not None:
            data = store.get(name)
            return RemoteLabel(uri, data, sha256_hex(data))
    if len(uri) > URI_CHARS.value:
        raise ConfigError(f"label URI {scrub(uri[:100])}... is longer than the {URI_CHARS.name} limit of "
                          f"{URI_CHARS.shown}")
    parts = urlsplit(uri)
    shown = scrub(uri)
    if parts.scheme == "file":
        path = Path(unquote(parts.path))
        if not os.path.lexists(path):
            raise NotFoundError(f"label file {shown} does not exist", status=404)
        data = safepath.read(path, list(roots or ()), LABEL_FILE_BYTES, f"label file {shown}")
        return RemoteLabel(uri, data, sha256_hex(data))
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"cannot fetch {shown}: only https://, http:// and file:// URIs are supported")
    import httpx

    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            resp = http_get(client, uri, LABEL_FILE_BYTES, f"label file {shown}")
    except httpx.HTTPError as exc:
        raise error_for_transport(f"cannot fetch {shown}: {type(exc).__name__}") from None
    if resp.status >= 300:
        raise error_for_status(resp.status, f"fetching label file {shown} failed with HTTP {resp.status}",
                               hints=_FETCH_HINTS)
    return RemoteLabel(uri, resp.data, sha256_hex(resp.data))
