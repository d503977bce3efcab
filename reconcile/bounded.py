"""Reading bytes with a size cap: local files and HTTP answers, streamed, never more than the limit.

Every reader of untrusted bytes (label files, images, stack outputs, plan files,
label URIs, the emulator's fetches) goes through here with a
:class:`~reconcile.limits.Limit`; going over it raises
:class:`~reconcile.errors.LimitExceededError` naming the limit, after reading at
most ``limit + 1`` bytes. Local reads refuse anything but a regular file (a FIFO,
``/dev/zero`` or a folder) before reading a byte. Path *policy* (inside the
repository, no symlink escape) is :mod:`reconcile.safepath`'s job.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from reconcile.errors import InputError, LimitExceededError
from reconcile.limits import Limit

CHUNK = 1 << 20


def too_large(shown: str, limit: Limit, size: int | None = None) -> LimitExceededError:
    """The error for ``shown`` going over ``limit`` (``size`` when known)."""
    got = f" ({size} bytes)" if size is not None else ""
    return LimitExceededError(
        f"{shown} is larger than the {limit.name} limit of {limit.shown}{got}",
        hint="see docs/limits.md; split or shrink the input",
    )


def read_stream(chunks: Iterable[bytes], limit: Limit, shown: str) -> bytes:
    """Join ``chunks`` and stop with :class:`LimitExceededError` as soon as they pass ``limit``."""
    out = bytearray()
    for chunk in chunks:
        out += chunk
        if len(out) > limit.value:
            raise too_large(shown, limit)
    return bytes(out)


@contextmanager
def open_regular(path: str | os.PathLike[str], limit: Limit, shown: str) -> Iterator[IO[bytes]]:
    """Open ``path`` for reading if it is a regular file no larger than ``limit``.

    Opened non-blocking so a FIFO cannot hang the open; the type and size are
    checked on the open descriptor (no race with a swapped file). Raises
    :class:`InputError` for a missing, unreadable or non-regular file, and
    :class:`LimitExceededError` for a file over the limit.
    """
    try:
        fd = os.open(os.fspath(path), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"cannot read {shown}: {_reason(exc)}") from None
    except ValueError:  # an embedded NUL byte
        raise InputError(f"cannot read {shown}: the path contains a NUL character") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"cannot read {shown}: not a regular file", hint="name a regular file (not a folder, device or pipe)")
        if st.st_size > limit.value:
            raise too_large(shown, limit, st.st_size)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        yield f


def read_file(path: str | os.PathLike[str], limit: Limit, shown: str) -> bytes:
    """The bytes of the regular file ``path``, refusing more than ``limit`` (see :func:`open_regular`)."""
    with open_regular(path, limit, shown) as f:
        # Size can lie (procfs reports 0, the file may grow): read at most limit + 1.
        return read_stream(iter(lambda: f.read(CHUNK), b""), limit, shown)


def hash_file(path: str | os.PathLike[str], limit: Limit, shown: str) -> tuple[str, int]:
    """sha256 hex and size of the regular file ``path``, streamed, refusing more than ``limit``."""
    h = hashlib.sha256()
    n = 0
    with open_regular(path, limit, shown) as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            n += len(block)
            if n > limit.value:
                raise too_large(shown, limit)
            h.update(block)
    return h.hexdigest(), n


@dataclass(frozen=True, slots=True)
class HttpBytes:
    """An HTTP answer read within a limit: its status and body (an error body is cut at 64 KiB)."""

    status: int
    data: bytes


_ERROR_BODY = 64 * 1024


def http_get(client: Any, url: str, limit: Limit, shown: str) -> HttpBytes:
    """GET ``url`` with the httpx ``client``, streaming the body and stopping past ``limit``.

    A declared ``Content-Length`` over the limit is refused before any body byte is
    read. A URL httpx cannot even parse (a bad host, port or IDNA label) is an
    :class:`InputError`; transport errors are the caller's (``httpx.HTTPError``).
    """
    import httpx

    try:
        with client.stream("GET", url) as resp:
            if resp.status_code >= 300:
                return HttpBytes(resp.status_code, _cut(resp.iter_bytes(), _ERROR_BODY))
            declared = resp.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit.value:
                raise too_large(shown, limit, int(declared))
            return HttpBytes(resp.status_code, read_stream(resp.iter_bytes(), limit, shown))
    except (httpx.InvalidURL, ValueError) as exc:
        # Raised while parsing the URL or resolving its host (UnicodeError and idna's errors
        # are ValueErrors), never wrapped by httpx: the URL is unusable, not the network down.
        raise InputError(f"{shown} is not a valid URL ({type(exc).__name__})") from None


def _cut(chunks: Iterable[bytes], most: int) -> bytes:
    out = bytearray()
    for chunk in chunks:
        out += chunk[: most - len(out)]
        if len(out) >= most:
            break
    return bytes(out)


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "no such file"
    if exc.errno == errno.ENAMETOOLONG:
        return "a path component is too long"
    return exc.strerror or type(exc).__name__


def exists_regular(path: Path) -> bool:
    """True for an existing regular file (following symlinks); never raises on a bad path."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False
