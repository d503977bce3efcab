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

import os
from pathlib import Path
from typing import Any

from reconcile.errors import ConfigError
from reconcile.lock.base import DEFAULT_DURATION, HeldLock, Lock, LockLostError
from reconcile.lock.blob import BlobLeaseLock
from reconcile.lock.file import FileLock
from reconcile.lock.info import LockInfo

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


def lock_for(config: Any, **kwargs: Any) -> Lock[Any]:
    """The apply lock of one environment of the project config.

    ``config`` is an ``EnvironmentConfig`` (:mod:`reconcile.specs.config`): local storage
    gets a :class:`FileLock` under ``<state_dir>/locks``; ``azurite`` a blob lease via the
    connection string in the environment variable ``storage.connection_string_env``;
    ``azure`` a blob lease via ``storage.account_url`` and ``DefaultAzureCredential``.
    ``kwargs`` (``duration``, ``clock``, ...) go to the lock. Raises :class:`ConfigError`
    when the settings the storage kind needs are missing.
    """
    storage = config.storage
    kind = storage.kind
    if kind == "local":
        return FileLock(Path(config.state_dir) / "locks", config.name, **kwargs)
    container = storage.container
    if not container:
        raise ConfigError(f"environment '{config.name}': storage.container is not set",
                          hint="name the blob container that holds the lock and state")
    if kind == "azurite":
        var = storage.connection_string_env
        connection_string = os.environ.get(var) if var else None
        if not connection_string:
            raise ConfigError(
                f"environment '{config.name}': the Azurite connection string is not set",
                hint=f"export {var or 'the variable named by storage.connectionStringEnv'} "
                     "(e.g. from `reconcile emulator` or the Azurite docs)",
            )
        return BlobLeaseLock.from_connection_string(connection_string, container, config.name, **kwargs)
    if kind == "azure":
        if not storage.account_url:
            raise ConfigError(f"environment '{config.name}': storage.account_url is not set",
                              hint="use the storage account's blob endpoint, e.g. https://<account>.blob.core.windows.net")
        return BlobLeaseLock.from_account_url(storage.account_url, container, config.name, **kwargs)
    raise ConfigError(f"environment '{config.name}': unknown storage kind {kind!r}",
                      hint="use one of: local, azurite, azure")
