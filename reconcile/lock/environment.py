"""The apply lock of one environment: a lock file or a blob lease, as its storage says."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconcile.lock.base import Lock
from reconcile.lock.blob import BlobLeaseLock
from reconcile.lock.file import FileLock

if TYPE_CHECKING:
    from reconcile.specs.config import EnvironmentConfig

__all__ = ["lock_for"]


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
