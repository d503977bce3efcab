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
_ROOT_SCAN_OK = _URL_SAFE_ASCII + b"\x00"
_URL_ROOT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/]*/")


def redact_url(url: str) -> str:
    """``url`` without its query string: SAS tokens must never reach output."""
    base, sep, _query = url.partition("?")
    return base + ("?<redacted>" if sep else "")


def _split(url: str) -> tuple[str, str, str] | None:
    """``(scheme, netloc, path)`` as :func:`urllib.parse.urlsplit` gives them, or None if it would raise.

    A few string operations instead of ``urlsplit`` (whose bracket checks for IPv6
    hosts we defer to it): a million URLs go through here when a whole file is wrong.
    """
    scheme, rest = "", url
    m = _SCHEME.match(url)
    if m:
        scheme, rest = m.group(1).lower(), url[m.end() :]
    netloc = ""
    if rest[:2] == "//":
        end = len(rest)
        for ch in "/?#":
            i = rest.find(ch, 2)
            if 0 <= i < end:
                end = i
        netloc, rest = rest[2:end], rest[end:]
        if "[" in netloc or "]" in netloc:
            try:
                parts = urlsplit(url)
            except ValueError:
                return None
            return parts.scheme.lower(), parts.netloc, parts.path
    path = rest.split("#", 1)[0].split("?", 1)[0]
    return scheme, netloc, path


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


def url_checks(url: Any, options: ValidationOptions) -> list[tuple[str, str]]:
    """``(code, reason)`` for each problem of one image URL; :func:`url_detail` words a reason."""
    if not isinstance(url, str):
        return [("E_IMG_URL", "type")]
    if _BAD_URL_CHARS.search(url):
        return [("E_IMG_URL", "chars")]
    parts = _split(url)
    if parts is None:
        return [("E_IMG_URL", "invalid")]
    scheme, netloc, path = parts
    if not scheme or "://" not in url:
        return [("E_IMG_URL", "relative")]
    if scheme not in options.allowed_schemes:
        return [("E_IMG_URL", "scheme")]
    if scheme != "file" and not netloc:
        return [("E_IMG_URL", "host")]
    out: list[tuple[str, str]] = []
    if "#" in url:
        out.append(("E_IMG_URL", "fragment"))
    if not path.strip("/") or path.endswith("/"):
        out.append(("E_IMG_URL", "blob"))
    if "?" in url:
        out.append(("W_IMG_URL_QUERY", "query"))
    if options.storage_prefix is not None and not url.startswith(options.storage_prefix):
        out.append(("E_IMG_URL_PREFIX", "prefix"))
    return out


class UrlChecker:
    """:func:`url_checks` with the ``scheme://host/`` part judged once per distinct root.

    When a whole file is wrong (``http`` instead of ``https``, another storage
    account), a million URLs share one bad root; judging the root once keeps the
    complete report affordable. Gives exactly what :func:`url_checks` gives.
    """

    __slots__ = ("options", "_roots")

    def __init__(self, options: ValidationOptions) -> None:
        self.options = options
        self._roots: dict[str, tuple[str, str] | None] = {}

    def checks(self, url: Any) -> list[tuple[str, str]]:
        if type(url) is not str or _BAD_URL_CHARS.search(url):
            return url_checks(url, self.options)
        m = _URL_ROOT.match(url)
        if m is None:
            return url_checks(url, self.options)
        root = m.group(0)
        if "?" in root or "#" in root or "[" in root or "]" in root:
            return url_checks(url, self.options)
        try:
            verdict = self._roots[root]
        except KeyError:
            verdict = self._roots[root] = self._judge_root(root)
        if verdict is not None:
            return [verdict]
        out: list[tuple[str, str]] = []
        if "#" in url:
            out.append(("E_IMG_URL", "fragment"))
        path = url[len(root) - 1 :].split("#", 1)[0].split("?", 1)[0]
        if not path.strip("/") or path.endswith("/"):
            out.append(("E_IMG_URL", "blob"))
        if "?" in url:
            out.append(("W_IMG_URL_QUERY", "query"))
        prefix = self.options.storage_prefix
        if prefix is not None and not url.startswith(prefix):
            out.append(("E_IMG_URL_PREFIX", "prefix"))
        return out

    def shared_verdict(self, urls: list[str]) -> tuple[str, str] | None:
        """The one problem every URL in ``urls`` has because they share a bad root, else None.

        When it returns a verdict, ``checks(u) == [verdict]`` for each ``u``; a None
        means "check one by one". Scans one joined string instead of a million URLs.
        """
        if not urls or type(urls[0]) is not str:
            return None
        m = _URL_ROOT.match(urls[0])
        if m is None:
            return None
        root = m.group(0)
        if "?" in root or "#" in root or "[" in root or "]" in root:
            return None
        try:
            verdict = self._roots[root]
        except KeyError:
            verdict = self._roots[root] = self._judge_root(root)
        if verdict is None:
            return None
        try:
            joined = "\x00".join(urls)
        except TypeError:  # a non-string URL
            return None
        n = len(urls)
        if not joined.isascii() or joined.count("\x00") != n - 1:
            return None
        for i in range(0, len(joined), 1 << 23):
            if joined[i : i + (1 << 23)].encode("ascii").translate(None, _ROOT_SCAN_OK):
                return None  # whitespace or a control character somewhere
        if not joined.startswith(root) or joined.count("\x00" + root) != n - 1:
            return None
        return verdict

    def _judge_root(self, root: str) -> tuple[str, str] | None:
        scheme, _, rest = root.partition("://")
        scheme = scheme.lower()
        if scheme not in self.options.allowed_schemes:
            return ("E_IMG_URL", "scheme")
        if scheme != "file" and not rest[:-1]:
            return ("E_IMG_URL", "host")
        return None


def url_detail(url: Any, reason: str, options: ValidationOptions) -> str:
    """The example detail for one :func:`url_checks` reason (query strings redacted)."""
    if reason == "type":
        return f"found {jtype(url)}, expected a URI string"
    shown = show(redact_url(url), 120)
    if reason == "scheme":
        scheme = (_split(url) or ("",))[0]
        return f"{shown}: scheme {scheme!r} is not allowed (allowed: {', '.join(sorted(options.allowed_schemes))})"
    if reason == "prefix":
        return f"{shown} is not under {options.storage_prefix}"
    return shown + _REASONS[reason]


_REASONS = {
    "chars": " contains whitespace or control characters",
    "invalid": " is not a valid URI",
    "relative": " is not an absolute URI (scheme://host/path)",
    "host": " has no host",
    "fragment": " has a #fragment",
    "blob": " names no blob (empty path or trailing '/')",
    "query": " has a query string",
}


def url_problems(url: Any, options: ValidationOptions) -> list[tuple[str, str]]:
    """Return ``(code, detail)`` for each problem of one image URL (empty when it is fine)."""
    return [(code, url_detail(url, reason, options)) for code, reason in url_checks(url, options)]


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
