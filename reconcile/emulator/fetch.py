"""Reading the bytes behind a URI the way the service would: ``http(s)://`` (httpx) or ``file://``.

:func:`read_uri` returns the bytes or raises :class:`FetchError` whose message never
contains a SAS query string.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from reconcile.emulator.records import Auth

#: Larger files are refused rather than read into memory.
MAX_BYTES = 512 * 1024 * 1024
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


def read_uri(uri: str, auth: Auth | None = None) -> bytes:
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "file":
        path = Path(unquote(parts.path))
        try:
            if path.stat().st_size > MAX_BYTES:
                raise FetchError(f"{safe_uri(uri)} is larger than {MAX_BYTES} bytes")
            return path.read_bytes()
        except OSError as exc:
            raise FetchError(f"{safe_uri(uri)} could not be read: {exc.strerror or type(exc).__name__}") from None
    if scheme in ("http", "https"):
        import httpx  # imported here: only training and analyze need it

        url = uri
        if auth is not None and auth.kind == "sas" and auth.sas_token and not parts.query:
            url = f"{uri}?{auth.sas_token.lstrip('?')}"
        try:
            response = _client().get(url)
        except httpx.HTTPError as exc:
            raise FetchError(f"{safe_uri(uri)} is unreachable ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise FetchError(f"{safe_uri(uri)} answered HTTP {response.status_code}")
        if len(response.content) > MAX_BYTES:
            raise FetchError(f"{safe_uri(uri)} is larger than {MAX_BYTES} bytes")
        return response.content
    raise FetchError(f"{safe_uri(uri)} has an unsupported scheme {parts.scheme!r} (use https, http or file)")
