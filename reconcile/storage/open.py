"""Open the configured blob store: a local folder, Azurite (connection string) or Azure (Entra ID)."""

from __future__ import annotations

import os
from typing import Any

from reconcile.errors import ConfigError
from reconcile.storage.base import BlobStore


def open_store(
    *,
    local_root: str | os.PathLike[str] | None = None,
    connection_string: str | None = None,
    account_url: str | None = None,
    container: str | None = None,
    credential: Any = None,
) -> BlobStore:
    """Exactly one of ``local_root``, ``connection_string`` or ``account_url`` (the last two need ``container``).

    Raises :class:`~reconcile.errors.ConfigError` otherwise; connection errors
    surface on first use as :mod:`reconcile.errors` types.
    """
    given = [x is not None for x in (local_root, connection_string, account_url)]
    if sum(given) != 1:
        raise ConfigError(
            "storage: give exactly one of a local folder, a connection string (Azurite) or an account URL (Azure)"
        )
    if local_root is not None:
        from reconcile.storage.local import LocalFolderStore

        return LocalFolderStore(local_root)
    if not container:
        raise ConfigError("storage: a blob container name is required")
    from reconcile.storage.azure import AzureBlobStore

    if connection_string is not None:
        return AzureBlobStore.from_connection_string(connection_string, container)
    assert account_url is not None
    if not account_url.startswith("https://"):
        raise ConfigError(f"storage: the account URL must start with https:// (got {account_url.split('?')[0]!r})")
    return AzureBlobStore.from_account_url(account_url, container, credential=credential)
