"""The apply lock: one writer per environment at a time.

``apply`` takes the lock for the duration of its writes::

    from reconcile.lock import LockInfo, lock_for

    with lock_for(config).acquire(LockInfo.for_current_run(config.name, fingerprint=fp),
                                  timeout=lock_timeout) as held:
        for step in steps:
            held.check()          # raises LockLostError if renewal failed
            write(step)

Backends: :class:`BlobLeaseLock` (Azure / Azurite: a renewed, finite blob lease)
and :class:`FileLock` (the embedded default: an expiring lock file under the
state directory). Both implement :class:`Lock`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconcile.lock.base import DEFAULT_DURATION, HeldLock, Lock, LockLostError
from reconcile.lock.blob import BlobLeaseLock
from reconcile.lock.file import FileLock
from reconcile.lock.info import LockInfo

if TYPE_CHECKING:
    from reconcile.specs.config import EnvironmentConfig

__all__ = [
    "BlobLeaseLock",
    "DEFAULT_DURATION",
    "FileLock",
    "HeldLock",
    "Lock",
    "LockInfo",
    "LockLostError",
    "lock_for",
]


def lock_for(config: EnvironmentConfig, env: Mapping[str, str] | None = None, **kwargs: Any) -> Lock[Any]:
    """The apply lock of one environment of the project config.

    Local storage gets a :class:`FileLock` under ``<state_dir>/locks``; ``azurite`` and
    ``azure`` a blob lease in the environment's container, opened (settings, secret,
    credential) by :func:`reconcile.storage.open.open_container`. ``kwargs``
    (``duration``, ``clock``, ...) go to the lock. Raises :class:`ConfigError` when
    the settings the storage kind needs are missing.
    """
    from reconcile.storage.open import open_container

    container = open_container(config, env)
    if container is None:
        return FileLock(Path(config.state_dir) / "locks", config.name, **kwargs)
    return BlobLeaseLock(container, config.name, **kwargs)
