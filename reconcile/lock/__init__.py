"""The apply lock: one writer per environment at a time.

``apply`` takes the lock for the duration of its writes::

    from reconcile.lock import LockInfo, lock_for

    with lock_for(config).acquire(LockInfo.for_current_run(config.name, fingerprint=fp),
                                  timeout=lock_timeout) as held:
        for step in steps:
            held.check()          # raises LockLostError if renewal failed
            write(step)

Modules (all internal: other packages use the names below):

- :mod:`.environment` -- :func:`lock_for`: the lock of one environment, as its storage says.
- :mod:`.base`        -- :class:`Lock` (acquire, renew in the background, release) and :class:`HeldLock`.
- :mod:`.blob`        -- :class:`BlobLeaseLock` (Azure / Azurite: a renewed, finite blob lease).
- :mod:`.file`        -- :class:`FileLock` (the embedded default: an expiring lock file under the state directory).
- :mod:`.info`        -- :class:`LockInfo`, the holder record (who, when, which run).
"""

from __future__ import annotations

from reconcile.facade import lazy_exports

_EXPORTS = {
    "lock_for": "environment",
    "DEFAULT_DURATION": "base", "HeldLock": "base", "Lock": "base", "LockLostError": "base",
    "BlobLeaseLock": "blob",
    "FileLock": "file",
    "LockInfo": "info",
}  # fmt: skip
_INTERNAL = ("base", "blob", "environment", "file", "info")

__all__ = ["DEFAULT_DURATION", "BlobLeaseLock", "FileLock", "HeldLock", "Lock", "LockInfo", "LockLostError", "lock_for"]

__getattr__ = lazy_exports(__name__, _EXPORTS)
