"""Image URL rules: absolute, allowed scheme, a host, a blob name, optionally under a storage prefix.

Query strings are reported (a SAS token has no place in a label file kept in git)
and always redacted from output.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from reconcile.coco.options import ValidationOptions
from reconcile.coco.values import jtype, show

_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")
# Printable ASCII other than space; "?" is the join separator.
_URL_SAFE_ASCII = bytes(range(0x21, 0x7F))
_URL_ROOT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/]*/")


def redact_url(url: str) -> str:
    """``url`` without its query string: SAS tokens must never reach output."""
    base, sep, _query = url.partition("?")
    return base + ("?<redacted>" if sep else "")


def url_problems(url: Any, options: ValidationOptions) -> list[tuple[str, str]]:
    """Return ``(code, detail)`` for each problem of one image URL (empty when it is fine)."""
    if not isinstance(url, str):
        return [("E_IMG_URL", f"found {jtype(url)}, expected a URI string")]
    shown = show(redact_url(url), 120)
    if _BAD_URL_CHARS.search(url):
        return [("E_IMG_URL", f"{shown} contains whitespace or control characters")]
    try:
        parts = urlsplit(url)
    except ValueError:
        return [("E_IMG_URL", f"{shown} is not a valid URI")]
    scheme = parts.scheme.lower()
    if not scheme or "://" not in url:
        return [("E_IMG_URL", f"{shown} is not an absolute URI (scheme://host/path)")]
    if scheme not in options.allowed_schemes:
        allowed = ", ".join(sorted(options.allowed_schemes))
        return [("E_IMG_URL", f"{shown}: scheme {scheme!r} is not allowed (allowed: {allowed})")]
    if scheme != "file" and not parts.netloc:
        return [("E_IMG_URL", f"{shown} has no host")]
    out: list[tuple[str, str]] = []
    if "#" in url:
        out.append(("E_IMG_URL", f"{shown} has a #fragment"))
    if not parts.path.strip("/") or parts.path.endswith("/"):
        out.append(("E_IMG_URL", f"{shown} names no blob (empty path or trailing '/')"))
    if "?" in url:
        out.append(("W_IMG_URL_QUERY", f"{shown} has a query string"))
    if options.storage_prefix is not None and not url.startswith(options.storage_prefix):
        out.append(("E_IMG_URL_PREFIX", f"{shown} is not under {options.storage_prefix}"))
    return out


def urls_clean(urls: list[str | None], options: ValidationOptions) -> bool:
    """True only if :func:`url_problems` would find nothing in any of ``urls`` (None = no URL).

    Vectorised: the first URL is checked fully and gives a ``scheme://host/``
    root; every other URL must share that root, end in a blob name and contain
    none of the characters the full check objects to. ``False`` means "check one
    by one", not necessarily "invalid".
    """
    present = urls if None not in urls else [u for u in urls if u is not None]
    if len(present) != len(urls) and options.require_urls:
        return False
    if not present:
        return True
    first = present[0]
    if url_problems(first, options):
        return False
    root = _URL_ROOT.match(first)
    if root is None:
        return False
    prefix = root.group(0)
    # One big string instead of a million small checks: joined with "?" (a character
    # the fast path refuses anyway), one count finds a "?" inside any URL, and C-level
    # scans find the rest. A URL equal to the root ends with "/", caught below.
    joined = "?".join(present)
    n = len(present)
    if joined.count("?") != n - 1 or "#" in joined or " " in joined:
        return False
    if joined.isascii():
        # bytes.translate deletes the allowed characters; anything left is a control
        # character. In slices, so the bytes copy stays small.
        for i in range(0, len(joined), 1 << 23):
            if joined[i : i + (1 << 23)].encode("ascii").translate(None, _URL_SAFE_ASCII):
                return False
    elif not joined.isprintable():
        return False  # exotic Unicode: let the per-URL check decide
    if joined.endswith("/") or "/?" in joined:
        return False
    for p in (prefix, options.storage_prefix):
        if p is not None and (not joined.startswith(p) or joined.count("?" + p) != n - 1):
            return False
    return True
