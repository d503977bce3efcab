"""The one exception tree of vision-gitops.

Errors are split by what the *caller* should do, not by where they came from
(the kopf / httpx pattern). Remote failures are classified into this tree at one
boundary, :mod:`reconcile.remote_failures`: the Vision client
(:mod:`reconcile.client.errors`), blob storage through the Azure SDK (uploads, the
inventory, the apply lock) and label-file downloads all map an HTTP status, or the
SDK exception standing for one, by its single table.

Hierarchy::

    ReconcileError                   base; ``exit_code`` is what the CLI exits with
    +-- InputError                   fix the input, then run again (specs, config, COCO, flags)
    |   +-- SpecError                a spec file is wrong (file, line, field path)
    |   |   +-- ConfigError          the project config or environment is wrong (same problem list)
    |   +-- CocoError                a COCO label file is invalid
    |   +-- LimitExceededError       an input is larger or deeper than a limit (reconcile/limits.py)
    |   +-- JsonSyntaxError          a JSON document (stack outputs, plan, request body) is not JSON
    |   +-- UnsafePathError          a path leaves the repository or is not a regular file/folder
    |   +-- UsageError               the command line is wrong (exit code 2)
    +-- RetryableError               try again later; nothing was lost
    |   +-- RateLimitedError         the service answered 429
    |   +-- ServiceUnavailableError  5xx, timeouts, dropped connections
    |   +-- LockHeldError            another run holds the apply lock
    +-- FatalError                   give up; a human must look
        +-- RemoteError              the service refused the request (4xx other than 429)
        |   +-- AuthError            401/403: credentials or role assignments
        |   +-- NotFoundError        404
        |   +-- ConflictError        409: the name exists / state does not allow it
        |   +-- PreconditionFailedError  412: the eTag moved under us
        +-- StalePlanError           a saved plan no longer matches the live state
        +-- RefusedError             a guardrail refused (replacement, prune, cost)

Every error carries a message meant for a human: what is wrong, where (file,
line, field, resource) and what to do. The CLI prints ``str(error)`` and never a
traceback.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Every exit code of the ``reconcile`` command, defined once (README "Exit codes").

    Commands return an outcome value (a plan, an apply result, a wait result) whose
    ``exit_code`` is one of these; errors carry theirs as ``ReconcileError.exit_code``.
    """

    OK = 0
    """Success; ``plan``: no changes."""
    ERROR = 1
    """An error or a refusal (nothing written by a refusal)."""
    CHANGES = 2
    """``plan``: apply would change something (with ``--detailed-exitcode``, or drift)."""
    USAGE = 2
    """The command line is wrong (shares 2 with CHANGES, as Terraform does)."""
    RUNNING = 3
    """Apply finished its writes but training or evaluations are still running; ``wait`` timed out."""
    INTERRUPTED = 130
    """Interrupted by the user (SIGINT)."""


class ReconcileError(Exception):
    """Base of every error this project raises on purpose.

    Errors raised at the HTTP boundary (:mod:`reconcile.client.errors`) also fill
    ``request_id`` (the ``x-ms-client-request-id`` we sent, for support tickets),
    ``attempts`` and ``ambiguous_write``: the call was a write and an earlier attempt's
    outcome is unknown, so a following 409/412/404 may be our own write; read the
    resource before believing it.
    """

    exit_code: int = ExitCode.ERROR
    request_id: str | None = None
    attempts: int = 1
    ambiguous_write: bool = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        # Messages often quote input (a URI, a config value): mask secrets once, here.
        from reconcile.client.redact import redact

        message = redact(message)
        super().__init__(message)
        self.message = message
        self.hint = None if hint is None else redact(hint)

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


# --- fix the input -------------------------------------------------------------


class InputError(ReconcileError):
    """The input (specs, config, label files, flags) is wrong; fix it and run again."""


class Location:
    """Where in a file a problem is: ``path:line`` plus a dotted field path."""

    __slots__ = ("file", "line", "field")

    def __init__(self, file: str | None = None, line: int | None = None, field: str | None = None):
        self.file = file
        self.line = line
        self.field = field

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f": {self.field}"
        return where


class SpecError(InputError):
    """A spec file is wrong. ``problems`` lists every problem found, not only the first."""

    def __init__(self, message: str, *, problems: list[str] | None = None, hint: str | None = None):
        from reconcile.client.redact import redact

        super().__init__(message, hint=hint)
        self.problems = [redact(p) for p in problems or []]

    def __str__(self) -> str:
        text = self.message
        for p in self.problems:
            text += f"\n  - {p}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ConfigError(SpecError):
    """The project config, an environment variable or a stack-output file is wrong."""


class CocoError(InputError):
    """A COCO label file is invalid (the report says where)."""


class LimitExceededError(InputError):
    """An input is larger or deeper than one of :mod:`reconcile.limits`; the message names the limit."""


class JsonSyntaxError(InputError):
    """A JSON document is not JSON; ``line``/``column`` (1-based) say where."""

    def __init__(self, message: str, *, line: int, column: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.line = line
        self.column = column


class UnsafePathError(InputError):
    """A path from untrusted input leaves the allowed roots, or is not a regular file / folder."""


class UsageError(InputError):
    """The command line is wrong."""

    exit_code = ExitCode.USAGE


# --- retry later -----------------------------------------------------------------


class RetryableError(ReconcileError):
    """A transient failure; the same call may succeed later. ``retry_after`` is in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class RateLimitedError(RetryableError):
    """The service answered 429 Too Many Requests."""


class ServiceUnavailableError(RetryableError):
    """5xx, a timeout or a dropped connection: the outcome of a write may be unknown."""


class LockHeldError(RetryableError):
    """Another run holds the apply lock."""


# --- give up ---------------------------------------------------------------------


class FatalError(ReconcileError):
    """Retrying will not help; a human must look."""


class RemoteError(FatalError):
    """The service refused the request. Carries the service's error code and HTTP status."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        method: str | None = None,
        path: str | None = None,
        hint: str | None = None,
    ):
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code
        self.method = method
        self.path = path


class AuthError(RemoteError):
    """401/403: the key or token is wrong, or a role assignment is missing."""


class NotFoundError(RemoteError):
    """404: the resource does not exist."""


class ConflictError(RemoteError):
    """409: the name already exists, or the resource's state does not allow the call."""


class PreconditionFailedError(RemoteError):
    """412: the eTag sent in If-Match no longer matches."""


class StalePlanError(FatalError):
    """A saved plan was made against a live state that has changed since."""


class RefusedError(FatalError):
    """A guardrail refused the operation (replacement, prune, cost); a flag may allow it."""
