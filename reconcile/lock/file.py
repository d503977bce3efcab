"""The apply lock of the embedded default: a JSON lock file that expires like a lease.

Layout: ``<dir>/<environment>.lock`` holds ``{"token", "expires_at", "holder"}``.
The holder's background thread pushes ``expires_at`` forward; a crashed holder's
file simply stops being renewed, and another run may take it over once
``expires_at`` has passed (never before).

Every read-modify-write of the lock file happens under a short ``flock`` on a
sibling ``.guard`` file: the kernel drops that guard when a process dies, so it
can never get stuck, and it makes "is it expired? then take it" atomic between
racing runs. New lock files are written to a temporary file created with
``O_EXCL`` and linked into place, so a reader never sees a half-written lock.
POSIX only (``fcntl``), like the rest of the embedded default's tooling.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconcile import bounded, safejson
from reconcile.errors import ConfigError, InputError, ServiceUnavailableError
from reconcile.limits import LOCK_RECORD_BYTES
from reconcile.lock.base import Acquired, Held, LeaseGone, Lock
from reconcile.lock.info import LockInfo

_ENV_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
FORMAT = 1


@dataclass(frozen=True)
class _Record:
    token: str | None
    expires_at: float
    holder: LockInfo


class FileLock(Lock[str]):
    """A lock file under ``directory`` for one environment; the handle is this holder's random token."""

    def __init__(self, directory: str | os.PathLike[str], environment: str, **kwargs: Any) -> None:
        if not _ENV_NAME.match(environment):
            raise ConfigError(
                f"environment name {environment!r} cannot name a lock file",
                hint="use letters, digits, '.', '_' and '-' only",
            )
        super().__init__(environment, **kwargs)
        self.directory = Path(directory)
        self.path = self.directory / f"{environment}.lock"
        self._guard_path = self.directory / f"{environment}.lock.guard"

    def where(self) -> str:
        return str(self.path)

    def current(self) -> LockInfo | None:
        with self._guard():
            record = self._read()
        if record is None or self._expired(record):
            return None
        return record.holder

    def break_lock(self) -> LockInfo | None:
        with self._guard():
            record = self._read()
            if record is None:
                return None
            self.path.unlink()
        return None if self._expired(record) else record.holder

    # --- backend hooks -------------------------------------------------------------

    def _try_acquire(self, info: LockInfo) -> Acquired[str] | Held:
        token = uuid.uuid4().hex
        with self._guard():
            record = self._read()
            if record is not None and not self._expired(record):
                return Held(record.holder)
            # Free, or a dead holder's expired lease: take it over.
            self._write(token, info, replace=record is not None)
        return Acquired(token, info)

    def _renew(self, handle: str) -> None:
        with self._guard():
            record = self._read()
            if record is None:
                raise LeaseGone("the lock file was removed (`reconcile lock break`?)")
            if record.token != handle:
                raise LeaseGone(f"the lock was taken over by {record.holder.describe()}")
            self._write(handle, record.holder, replace=True)

    def _release(self, handle: str) -> None:
        with self._guard():
            record = self._read()
            if record is not None and record.token == handle:
                self.path.unlink()

    # --- file handling ------------------------------------------------------------------

    def _expired(self, record: _Record) -> bool:
        return record.expires_at <= self._clock()

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._guard_path, os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as exc:
            raise ServiceUnavailableError(
                f"cannot open the lock directory {self.directory}: {exc.strerror or exc}",
                hint="check that the state directory exists and is writable",
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing drops the flock

    def _read(self) -> _Record | None:
        try:
            raw = bounded.read_file(self.path, LOCK_RECORD_BYTES, str(self.path))
        except InputError:
            if not os.path.lexists(self.path):
                return None  # no lock (or released while we looked)
            raw = b""  # not a regular file, or too large: unreadable, see below
        try:
            data = safejson.loads(raw, limit=LOCK_RECORD_BYTES, shown=str(self.path))
            holder = LockInfo.from_dict(data.get("holder") or {}, environment=self.environment)
            return _Record(str(data.get("token")), float(data["expires_at"]), holder)
        except (InputError, ValueError, TypeError, KeyError, AttributeError):
            # Only a hand-edited or foreign file gets here (writes are atomic): treat it as
            # held by an unknown holder that never expires, so nobody silently overwrites it.
            unknown = LockInfo(self.environment, f"unknown (unreadable lock file {self.path})")
            return _Record(None, float("inf"), unknown)

    def _write(self, token: str, holder: LockInfo, *, replace: bool) -> None:
        body = json.dumps(
            {"format": FORMAT, "token": token, "expires_at": self._clock() + self.duration,
             "holder": holder.to_dict()},
            indent=2, sort_keys=True,
        ).encode()
        tmp = self.directory / f".{self.environment}.lock.{token}.{uuid.uuid4().hex[:8]}.tmp"
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            if replace:
                os.replace(tmp, self.path)
            else:
                os.link(tmp, self.path)  # fails if the file exists: never clobbers a holder
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
