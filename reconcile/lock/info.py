"""Who holds the apply lock: :class:`LockInfo`, and the messages built from it.

The same record is written on the lock (blob metadata or the lock file) when a
run acquires it, shown by ``reconcile lock show``, and named in
:class:`~reconcile.errors.LockHeldError` when another run finds the lock taken.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from reconcile.errors import LockHeldError

#: Field names, identical in blob metadata (which must be C# identifiers) and the lock file.
FIELDS = ("environment", "who", "acquired_at", "run_url", "fingerprint")


@dataclass(frozen=True)
class LockInfo:
    """The holder of a lock: who, since when, from which CI run, applying which plan."""

    environment: str
    who: str
    acquired_at: datetime | None = None
    run_url: str | None = None
    fingerprint: str | None = None

    @classmethod
    def for_current_run(
        cls,
        environment: str,
        *,
        fingerprint: str | None = None,
        environ: Mapping[str, str] | None = None,
        now: datetime | None = None,
    ) -> "LockInfo":
        """Describe the current process: the CI actor and run URL on GitHub Actions, else user@host."""
        env = os.environ if environ is None else environ
        return cls(
            environment=environment,
            who=holder_name(env),
            acquired_at=(now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0),
            run_url=ci_run_url(env),
            fingerprint=fingerprint,
        )

    def with_acquired_at(self, when: datetime) -> "LockInfo":
        """The same holder, stamped with the time the lock was actually taken."""
        return LockInfo(self.environment, self.who, when.astimezone(timezone.utc).replace(microsecond=0),
                        self.run_url, self.fingerprint)

    def to_dict(self) -> dict[str, str]:
        """Plain string fields (absent values left out): the on-lock representation."""
        out = {"environment": self.environment, "who": self.who}
        if self.acquired_at is not None:
            out["acquired_at"] = self.acquired_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.run_url:
            out["run_url"] = self.run_url
        if self.fingerprint:
            out["fingerprint"] = self.fingerprint
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object], *, environment: str) -> "LockInfo":
        """Read a record written by :meth:`to_dict`, tolerating missing or hand-edited fields.

        A lock record is evidence about another process; an unreadable field becomes
        "unknown" rather than an error, so ``lock show`` and ``lock break`` always work.
        """
        def text(key: str) -> str | None:
            value = data.get(key)
            return value.strip() if isinstance(value, str) and value.strip() else None

        return cls(
            environment=text("environment") or environment,
            who=text("who") or "unknown",
            acquired_at=_parse_time(text("acquired_at")),
            run_url=text("run_url"),
            fingerprint=text("fingerprint"),
        )

    def describe(self, *, now: datetime | None = None) -> str:
        """One line naming the holder: ``alice@box since 2026-01-01T10:00:00Z (5 min ago), run URL, plan fp``."""
        head = self.who
        if self.acquired_at is not None:
            head += " since " + self.acquired_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            if now is not None:
                head += f" ({_ago((now - self.acquired_at).total_seconds())})"
        parts = [head]
        if self.run_url:
            parts.append(f"run {self.run_url}")
        if self.fingerprint:
            parts.append(f"plan fingerprint {self.fingerprint}")
        return ", ".join(parts)


def holder_name(environ: Mapping[str, str]) -> str:
    """``github:<actor>`` inside GitHub Actions, otherwise ``user@host``."""
    actor = environ.get("GITHUB_ACTOR")
    if environ.get("GITHUB_ACTIONS") == "true" and actor:
        return f"github:{actor}"
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): still say something useful
        user = environ.get("USER") or "unknown"
    return f"{user}@{socket.gethostname()}"


def ci_run_url(environ: Mapping[str, str]) -> str | None:
    """The URL of the CI run, from GITHUB_SERVER_URL / GITHUB_REPOSITORY / GITHUB_RUN_ID, when all are set."""
    server, repo, run = (environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if server and repo and run:
        return f"{server.rstrip('/')}/{repo}/actions/runs/{run}"
    return None


def held_error(
    holder: LockInfo | None,
    *,
    environment: str,
    where: str,
    waited: float = 0.0,
    now: datetime | None = None,
) -> LockHeldError:
    """The error a run gets when the lock is taken: who holds it and what to do about it."""
    who = holder.describe(now=now) if holder is not None else "another run (no holder recorded)"
    message = f"the apply lock of environment '{environment}' is held by {who}"
    if waited > 0:
        message += f"; still held after waiting {waited:g} s"
    message += f" (lock: {where})"
    hint = (
        "wait for that run to finish (pass --lock-timeout SECONDS to wait up to that long), "
        f"or, if it is dead, check with `reconcile lock show --env {environment}` and free it with "
        # --yes: without a terminal (CI) the confirmation prompt cannot be answered.
        f"`reconcile lock break --env {environment} --yes`"
    )
    return LockHeldError(message, hint=hint)


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"
