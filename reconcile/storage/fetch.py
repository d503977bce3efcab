"""Read a label file behind a URI and digest it (drift: the bytes changed behind the same URI)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from reconcile.errors import AuthError, ConfigError, NotFoundError, RemoteError, ServiceUnavailableError
from reconcile.storage.base import BlobStore, sha256_hex
from reconcile.storage.errors import scrub

MAX_LABEL_BYTES = 2 * 1024**3


@dataclass(frozen=True, slots=True)
class RemoteLabel:
    """The bytes behind ``uri`` now, and their sha256."""

    uri: str
    data: bytes
    sha256: str

    def drifted(self, pinned_sha256: str | None) -> bool:
        """True when a digest was pinned (spec ``sha256``, or the last apply) and the bytes no longer match it."""
        return pinned_sha256 is not None and pinned_sha256.lower() != self.sha256


def fetch_label(uri: str, store: BlobStore | None = None, *, timeout: float = 60.0) -> RemoteLabel:
    """Download the label file at ``uri``.

    A URI inside ``store`` is read through the store (its credentials); other
    ``file://`` URIs are read from disk and other ``http(s)://`` URIs with a plain
    GET (public or SAS URLs). Failures raise :mod:`reconcile.errors` types:
    ``NotFoundError`` (404 or missing file), ``AuthError`` (401/403),
    ``ServiceUnavailableError`` (network, 5xx), ``ConfigError`` (unsupported scheme).
    """
    if store is not None:
        name = store.name_for(uri)
        if name is not None:
            data = store.get(name)
            return RemoteLabel(uri, data, sha256_hex(data))
    parts = urlsplit(uri)
    shown = scrub(uri)
    if parts.scheme == "file":
        path = Path(unquote(parts.path))
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"label file {shown} does not exist", status=404) from None
        except OSError as exc:
            raise ConfigError(f"cannot read label file {shown}: {exc.strerror or exc}") from exc
        return RemoteLabel(uri, data, sha256_hex(data))
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"cannot fetch {shown}: only https://, http:// and file:// URIs are supported")
    import httpx

    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            resp = client.get(uri)
    except httpx.HTTPError as exc:
        raise ServiceUnavailableError(f"cannot fetch {shown}: {type(exc).__name__}") from None
    if resp.status_code in (401, 403):
        raise AuthError(
            f"fetching {shown} was refused ({resp.status_code})",
            status=resp.status_code,
            hint="the blob is private: configure the storage account so it is read with your identity",
        )
    if resp.status_code == 404:
        raise NotFoundError(f"label file {shown} does not exist", status=404)
    if resp.status_code == 429 or resp.status_code >= 500:
        raise ServiceUnavailableError(f"fetching {shown} failed with {resp.status_code}")
    if resp.status_code >= 400:
        raise RemoteError(f"fetching {shown} failed with {resp.status_code}", status=resp.status_code)
    data = resp.content
    if len(data) > MAX_LABEL_BYTES:
        raise RemoteError(f"label file {shown} is larger than {MAX_LABEL_BYTES} bytes")
    return RemoteLabel(uri, data, sha256_hex(data))
