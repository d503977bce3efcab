"""Reading the bytes behind a URI the way the service would: ``http(s)://`` (httpx) or ``file://``.

:func:`read_uri` returns the bytes or raises :class:`FetchError` whose message never
contains a SAS query string. The real service cannot read this machine's files;
the emulator reads ``file://`` URIs so local datasets work, but only inside the
data roots it was given (the repository for the embedded environment,
``--data-root`` for ``reconcile emulator``): a URI in a request is untrusted input,
so symlinks are resolved, only regular files are read (:mod:`reconcile.safepath`),
and with no roots every ``file://`` URI is refused.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from reconcile import bounded, safepath
from reconcile.emulator.records import Auth
from reconcile.errors import InputError
from reconcile.limits import LABEL_FILE_BYTES, URI_CHARS, Limit

TIMEOUT_SECONDS = 30.0


_clients: list[Any] = []
_clients_lock = threading.Lock()


def _client() -> Any:
    """One shared httpx client (thread-safe; building one costs ~0.2 s of SSL set-up)."""
    with _clients_lock:
        if not _clients:
            import httpx

            _clients.append(httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=True, trust_env=False))
        return _clients[0]


class FetchError(Exception):
    """The URI could not be read (missing, refused, unreachable, unsupported scheme)."""


def safe_uri(uri: str) -> str:
    """``uri`` without its query string (which may carry a SAS token)."""
    parts = urlsplit(uri)
    return parts._replace(query="", fragment="").geturl() if parts.query else uri


def read_uri(
    uri: str, auth: Auth | None = None, *, limit: Limit = LABEL_FILE_BYTES, file_roots: Sequence[Path] = ()
) -> bytes:
    """The bytes behind ``uri``, at most ``limit`` of them (streamed; the limit is named in the error).

    ``file://`` reads only regular files (never a device, FIFO or folder) that
    resolve, symlinks followed, inside ``file_roots``; the size is checked before
    reading. Raises :class:`FetchError` for anything else.
    """
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    shown = safe_uri(uri)
    if len(uri) > URI_CHARS.value:
        raise FetchError(f"the URI is longer than the {URI_CHARS.name} limit of {URI_CHARS.shown}")
    if scheme == "file":
        if not file_roots:
            raise FetchError(f"{shown}: this emulator reads no local files (it has no data roots)")
        try:
            return safepath.read(Path(unquote(parts.path)), list(file_roots), limit, shown)
        except InputError as exc:
            raise FetchError(exc.message) from None
    if scheme in ("http", "https"):
        import httpx  # imported here: only training and analyze need it

        url = uri
        if auth is not None and auth.kind == "sas" and auth.sas_token and not parts.query:
            url = f"{uri}?{auth.sas_token.lstrip('?')}"
        try:
            got = bounded.http_get(_client(), url, limit, shown)
        except httpx.HTTPError as exc:
            raise FetchError(f"{shown} is unreachable ({type(exc).__name__})") from None
        except InputError as exc:
            raise FetchError(exc.message) from None
        if got.status != 200:
            raise FetchError(f"{shown} answered HTTP {got.status}")
        return got.data
    raise FetchError(f"{shown} has an unsupported scheme {parts.scheme!r} (use https, http or file)")
