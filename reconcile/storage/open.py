"""Open an environment's blob storage: the one place that reads storage settings and secrets.

Three things live in an environment's storage: uploaded label files and images
(:func:`open_blob_store`), the inventory (:func:`reconcile.inventory.store.state_store_for`)
and the apply lock (:func:`reconcile.lock.lock_for`). All three get their blob
container from :func:`open_container`, so the storage kinds are told apart once
and every consumer follows the same rules:

- ``local``: no container; each consumer keeps its files on disk (the blob folder
  ``storage.path``, the inventory and the lock under ``state_dir``).
- ``azurite``: shared-key access through the connection string held by the
  environment variable ``storage.connection_string_env``; when a hand-built config
  leaves that unset (:func:`~reconcile.specs.config.load_config` always fills it),
  the variable is :data:`reconcile.defaults.CONNECTION_STRING_ENV`. The variable is
  read from the ``env`` mapping given, else from ``os.environ``. The upload store
  creates the container if it is missing (Azurite starts empty).
- ``azure``: ``storage.account_url`` (https) with Microsoft Entra ID
  (``DefaultAzureCredential`` unless a credential is given); shared keys are
  disabled on production storage.

Every missing or malformed setting raises :class:`~reconcile.errors.ConfigError`
naming the environment and what to set, never echoing a connection string.
Failures of the storage service itself surface on first use, classified by
:mod:`reconcile.remote_failures`. ``azure-*`` packages are imported only here, on open.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reconcile import defaults
from reconcile.errors import ConfigError
from reconcile.storage.base import BlobStore

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

    from reconcile.specs.config import EnvironmentConfig

__all__ = ["connection_string_env", "open_blob_store", "open_connection_string_store", "open_container"]


def connection_string_env(config: EnvironmentConfig) -> str:
    """The environment variable holding an ``azurite`` environment's connection string (the one fallback rule)."""
    return config.storage.connection_string_env or defaults.CONNECTION_STRING_ENV


def open_container(
    config: EnvironmentConfig, env: Mapping[str, str] | None = None, *, credential: Any = None
) -> ContainerClient | None:
    """The blob container of ``config``'s storage, or None for ``local`` storage (see the module docstring).

    Raises :class:`ConfigError` for an unknown kind or a missing container, account
    URL, connection-string variable or a malformed connection string. Makes no request.
    """
    storage = config.storage
    kind = storage.kind
    if kind == "local":
        return None
    if kind not in ("azurite", "azure"):
        raise ConfigError(f"environment {config.name!r}: unknown storage kind {kind!r}",
                          hint="use one of: local, azurite, azure")
    if not storage.container:
        raise ConfigError(f"environment {config.name!r}: storage.container is not set",
                          hint="name the blob container that holds uploads, the inventory and the lock")
    from azure.storage.blob import ContainerClient

    if kind == "azurite":
        name = connection_string_env(config)
        connection_string = (os.environ if env is None else env).get(name)
        if not connection_string:
            raise ConfigError(
                f"environment {config.name!r}: the Azurite connection string is not set "
                f"(environment variable {name})",
                hint=f"export {name}='DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;...' "
                     "(printed by `reconcile emulator` or the Azurite docs)",
            )
        try:
            client = ContainerClient.from_connection_string(connection_string, storage.container)
        except ValueError:
            # The string itself may hold a key: never echo it.
            raise ConfigError(f"environment {config.name!r}: the storage connection string in {name} is malformed "
                              "(its content is not shown)") from None
        return client
    account_url = storage.account_url
    if not account_url:
        raise ConfigError(f"environment {config.name!r}: storage.accountUrl is not set",
                          hint="use the storage account's blob endpoint, e.g. https://<account>.blob.core.windows.net")
    if not account_url.startswith("https://"):
        raise ConfigError(f"environment {config.name!r}: storage.accountUrl must start with https:// "
                          f"(got {account_url.split('?')[0]!r})")
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    return ContainerClient(account_url, storage.container, credential=credential)


def open_blob_store(config: EnvironmentConfig, env: Mapping[str, str] | None = None) -> BlobStore:
    """The store label files and images are uploaded to: a local folder or the environment's container."""
    container = open_container(config, env)
    if container is None:
        from reconcile.storage.local import LocalFolderStore

        if config.storage.path is None:
            raise ConfigError(f"environment {config.name!r}: storage.path is not set",
                              hint="name the folder for uploads, e.g. .vision-gitops/blobs")
        return LocalFolderStore(config.storage.path)
    from reconcile.storage.azure import AzureBlobStore

    store = AzureBlobStore(container)
    if config.storage.kind == "azurite":
        store.ensure_container()
    return store



def open_connection_string_store(connection_string: str, container: str) -> BlobStore:
    """A blob store on ``container`` of the account a connection string names (Azurite started by a session)."""
    from reconcile.storage.azure import AzureBlobStore

    return AzureBlobStore.from_connection_string(connection_string, container)
