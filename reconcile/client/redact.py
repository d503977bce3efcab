"""Masking of secrets in every string we print, log or put in an exception.

Secrets leak through plans, PR comments and CI logs (gitops-anchors §2 item 6), so
everything that leaves the process passes through :func:`redact` first: log
records (via :class:`RedactingFilter`), exception messages built by
:mod:`reconcile.client.errors`, and plan/apply output.

Two mechanisms, because neither alone is enough:

- **Patterns** catch secrets we never saw: subscription-key headers and query
  parameters, ``Bearer`` tokens and JWTs, SAS query strings (``sig=...`` and whole
  ``?sv=...&sig=...`` queries, with or without the leading ``?``), account keys and
  shared-access signatures in connection strings, bare 88-character storage keys.
- **Registered secrets** catch secrets we hold but whose shape is arbitrary (an
  emulator key such as ``test-key``): :func:`register_secret` adds a value and
  every later :func:`redact` call masks it wherever it appears.
  :class:`~reconcile.client.auth.KeyAuth` registers its key; ``BearerAuth``
  registers each token it obtains.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Final

MASK: Final = "***"

#: Registered values shorter than this are not masked: masking "a" or "key"
#: everywhere would destroy output and protects nothing.
MIN_SECRET_LENGTH: Final = 6

_lock = threading.Lock()
_secrets: set[str] = set()
# Longest first, so a secret that contains another is masked whole.
_secrets_ordered: tuple[str, ...] = ()

_VALUE = r"[^\s\"'&;,<>]+"
_PATTERNS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # Headers or query parameters carrying an API key (header form, JSON form, query form).
    (
        re.compile(
            r"(?i)((?:ocp-apim-subscription-key|subscription-key|api-key|apikey|x-api-key)"
            r"[\"']?\s*[:=]\s*[\"']?)" + _VALUE
        ),
        r"\1" + MASK,
    ),
    # A bearer token: long, or with a digit or symbol (not "bearer token" in prose).
    (
        re.compile(r"(?i)(\bbearer\s+)(?:[A-Za-z0-9\-._~+/]{20,}|(?=[A-Za-z]*[0-9\-._~+/])[A-Za-z0-9\-._~+/]{8,})=*"),
        r"\1" + MASK,
    ),
    # JSON Web Tokens anywhere (access tokens are JWTs).
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), MASK),
    # A whole query string that carries a SAS signature: mask all of it, because
    # skoid/sktid/se/sp reveal the delegation and a truncated token invites guessing.
    (re.compile(r"\?[^\s\"'<>#]*?\bsig=[^\s\"'<>#]*"), "?" + MASK),
    # A SAS token without its '?' (e.g. the ``sasToken`` field): starts at sv=.
    (re.compile(r"(?<![\w?])sv=\d{4}-\d{2}-\d{2}[^\s\"'<>#]*"), MASK),
    # Any leftover signature parameter.
    (re.compile(r"(?i)(\bsig=)" + _VALUE), r"\1" + MASK),
    # Connection-string secrets.
    (
        re.compile(r"(?i)(\b(?:AccountKey|SharedAccessKey|SharedAccessSignature)=)[^;\s\"']+"),
        r"\1" + MASK,
    ),
    # A bare storage account key (512-bit, base64: 86 chars + "==").
    (re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}=="), MASK),
)


#: Shapes of bare keys. Not masked in every output (a plan's 32-hex fingerprints would
#: match), only in text that echoes user input (:func:`redact_input`) and in :func:`secret_kind`.
_KEY_SHAPES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32}(?![0-9A-Za-z])"), "an Azure AI services key"),
    (re.compile(r"(?<![0-9A-Za-z])[A-Za-z0-9]{84}(?![0-9A-Za-z])"), "an Azure AI services key"),
)
#: What :func:`secret_kind` calls the secret each masking pattern catches (same order as _PATTERNS).
_PATTERN_KINDS: Final = (
    "a subscription key", "a bearer token", "a bearer token", "a SAS token", "a SAS token", "a SAS token",
    "a connection string with a key", "a storage account key",
)
_BEARER_PREFIX: Final = re.compile(r"(?i)^\s*bearer\s+\S")
# A quoted value that starts with "Bearer " (how messages echo input), whatever the token's shape.
_QUOTED_BEARER: Final = re.compile(r"(?i)(['\"]\s*bearer\s+)[^'\"\s]+")


def secret_kind(text: str) -> str | None:
    """What kind of secret ``text`` carries (``"a SAS token"``, ...), or None if it looks clean.

    Stricter than :func:`redact`: bare key shapes and any ``Bearer <x>`` count. Used
    to refuse secrets in files that must never hold one (vision-gitops.yaml).
    """
    if _BEARER_PREFIX.search(text):
        return "a bearer token"
    for (pattern, _), kind in zip(_PATTERNS, _PATTERN_KINDS):
        if pattern.search(text):
            return kind
    for pattern, kind in _KEY_SHAPES:
        if pattern.search(text):
            return kind
    with _lock:
        held = _secrets_ordered
    return "a registered secret" if any(s in text for s in held) else None


def redact_input(text: str) -> str:
    """:func:`redact`, plus bare key shapes: for messages that quote user input (config and spec problems)."""
    text = redact(text)
    for pattern, _ in _KEY_SHAPES:
        text = pattern.sub(MASK, text)
    return _QUOTED_BEARER.sub(r"\1" + MASK, text)


def register_secret(value: str | None) -> None:
    """Mask ``value`` in every later :func:`redact` call (no-op for ``None`` or very short values)."""
    global _secrets_ordered
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        _secrets_ordered = tuple(sorted(_secrets, key=len, reverse=True))


def redact(text: str) -> str:
    """Return ``text`` with every known or recognisable secret replaced by ``***``.

    Never raises; a non-string is converted with ``str`` first.
    """
    if not isinstance(text, str):
        text = str(text)
    for secret in _secrets_ordered:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message (and exception text) of every record.

    Attach it to handlers (``handler.addFilter(RedactingFilter())``) so that records
    from every logger are covered; :mod:`reconcile.client` also attaches it to its
    own logger. The record is rewritten in place and always let through.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not hide the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install(target: logging.Logger | logging.Handler) -> None:
    """Attach one :class:`RedactingFilter` to ``target`` (idempotent)."""
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(RedactingFilter())


_FILTER = RedactingFilter()


def install_everywhere() -> None:
    """Redact every log record of the process, whatever its logger or handler (idempotent).

    Wraps the log-record factory, so records are masked as they are made: a logger
    without the filter (``reconcile.lock``, uvicorn, a library) or Python's last-resort
    stderr handler prints only masked text. The CLI calls this at start.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, "_redacting", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = current(*args, **kwargs)
        _FILTER.filter(record)
        return record

    factory._redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
