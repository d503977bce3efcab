"""Secrets never live in the project config: find and report keys and values that look like one.

What looks like a secret value is decided by :func:`reconcile.client.redact.secret_kind`
(the same rules that mask secrets in logs and messages); this module adds the
key names that would hold one. Every finding is reported at its line, and the
value is removed or blanked before validation so no later message quotes it.
"""

from __future__ import annotations

from typing import Any

from reconcile.client.redact import secret_kind
from reconcile.specs.problems import Problems, field_path
from reconcile.specs.yamlsrc import Lines

__all__ = ["REDACTED", "blank_secrets", "scan_secrets"]

REDACTED = "<redacted>"
"""What a secret-looking value is replaced with before validation (rules skip it: already reported)."""

# Keys that would hold a secret value; the file names environment variables instead.
_SECRET_KEYS = {
    "key", "apikey", "subscriptionkey", "password", "secret", "clientsecret", "token", "sastoken",
    "connectionstring", "accountkey", "sharedaccesskey", "credential", "credentials",
}  # fmt: skip


def scan_secrets(node: Any, lines: Lines, loc: tuple[Any, ...], display: str, problems: Problems) -> None:
    """Report keys/values that look like secrets; drop such keys so nothing else reports (or echoes) them."""
    if isinstance(node, dict):
        for key in list(node):
            here = loc + (key,)
            line = lines.line_of(here)
            if isinstance(key, str) and secret_kind(key) is not None:
                problems.add(display, line, field_path(loc), f"a key of this mapping looks like {secret_kind(key)}; "
                             "never write secrets in this file: remove it and put the value in an environment variable")
                del node[key]
                continue
            if isinstance(key, str) and key.replace("_", "").replace("-", "").lower() in _SECRET_KEYS:
                problems.add(
                    display,
                    line,
                    field_path(here),
                    "secrets never go in this file: remove it, put the value in an environment variable and name "
                    "that variable instead (auth: {kind: key, keyEnv: VISION_KEY}; "
                    "storage: {kind: azurite, connectionStringEnv: ...}), or use auth: {kind: entra}",
                )
                del node[key]
                continue
            scan_secrets(node[key], lines, here, display, problems)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            scan_secrets(item, lines, loc + (i,), display, problems)
    elif isinstance(node, str):
        if (what := secret_kind(node)) is not None:
            problems.add(
                display,
                lines.line_of(loc),
                field_path(loc),
                f"this value looks like {what}; never write secrets in this file: put it in an environment "
                "variable and give the variable's NAME (keyEnv / connectionStringEnv), or use auth: {kind: entra}",
            )


def blank_secrets(node: Any) -> None:
    """Replace every secret-looking string value with :data:`REDACTED`, in place.

    :func:`scan_secrets` already reported them; this keeps pydantic from quoting them.
    """
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, str) and secret_kind(v) is not None:
                node[k] = REDACTED
            else:
                blank_secrets(v)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if isinstance(v, str) and secret_kind(v) is not None:
                node[i] = REDACTED
            else:
                blank_secrets(v)
