"""reconcile.storage.open: the one factory every storage consumer (uploads, inventory, lock) goes through."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile import defaults
from reconcile.errors import ConfigError
from reconcile.inventory.store import BlobStateStore, FileStateStore, state_store_for
from reconcile.lock import BlobLeaseLock, FileLock, lock_for
from reconcile.specs.config import AuthConfig, EnvironmentConfig, StorageConfig
from reconcile.storage.azure import AzureBlobStore
from reconcile.storage.local import LocalFolderStore
from reconcile.storage.open import connection_string_env, open_blob_store, open_container

class _Token:
    """A token credential that is never asked (opening makes no request)."""

    def get_token(self, *scopes: str, **kwargs: object) -> None:  # pragma: no cover
        raise AssertionError("opening storage must not fetch a token")


#: An Azurite-style connection string to a port nothing listens on: opening makes no request.
CONN = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;")


def environment(root: Path, kind: str, **storage: object) -> EnvironmentConfig:
    """A resolved environment ``dev`` whose storage is ``kind`` with the given fields."""
    return EnvironmentConfig(
        name="dev", root=root, endpoint="https://x.cognitiveservices.azure.com", is_embedded=False,
        api_version="2023-04-01-preview", auth=AuthConfig(kind="entra"),
        storage=StorageConfig(kind=kind, **storage),  # type: ignore[arg-type]
        specs=[], state_dir=root / "state",
    )


def test_local_storage_has_no_container_and_every_consumer_stays_on_disk(tmp_path: Path) -> None:
    config = environment(tmp_path, "local", path=tmp_path / "blobs")
    assert open_container(config, {}) is None
    store = open_blob_store(config, {})
    assert isinstance(store, LocalFolderStore) and store.root == tmp_path / "blobs"
    assert isinstance(state_store_for(config, {}), FileStateStore)
    lock = lock_for(config, {})
    assert isinstance(lock, FileLock) and lock.path == tmp_path / "state" / "locks" / "dev.lock"


def test_azurite_consumers_share_one_container_from_the_named_variable(tmp_path: Path) -> None:
    config = environment(tmp_path, "azurite", container="state", connection_string_env="MY_CONN")
    env = {"MY_CONN": CONN}
    url = "http://127.0.0.1:1/devstoreaccount1/state"
    assert open_container(config, env).url == url  # type: ignore[union-attr]
    state = state_store_for(config, env)
    assert isinstance(state, BlobStateStore) and state.where == f"{url}/{state.blob_name}"
    lock = lock_for(config, env)
    assert isinstance(lock, BlobLeaseLock) and lock.where().startswith(url + "/")
    assert "a2V5" not in lock.where()


def test_the_one_fallback_variable_is_the_documented_default(tmp_path: Path) -> None:
    config = environment(tmp_path, "azurite", container="state")
    assert connection_string_env(config) == defaults.CONNECTION_STRING_ENV == "AZURE_STORAGE_CONNECTION_STRING"
    assert open_container(config, {defaults.CONNECTION_STRING_ENV: CONN}) is not None
    for consumer in (open_container, state_store_for, lock_for, open_blob_store):
        with pytest.raises(ConfigError, match="connection string is not set") as caught:
            consumer(config, {"AZURITE_CONNECTION_STRING": CONN})
        assert defaults.CONNECTION_STRING_ENV in str(caught.value)


def test_a_malformed_connection_string_is_refused_without_echoing_it(tmp_path: Path) -> None:
    config = environment(tmp_path, "azurite", container="state", connection_string_env="C")
    with pytest.raises(ConfigError, match="malformed") as caught:
        open_container(config, {"C": "AccountKey=c2VjcmV0LWtleQ==;no-endpoint"})
    assert "c2VjcmV0" not in str(caught.value)


def test_azure_needs_an_https_account_url_and_a_container(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="accountUrl is not set"):
        open_container(environment(tmp_path, "azure", container="c"), {})
    with pytest.raises(ConfigError, match="container is not set"):
        open_container(environment(tmp_path, "azure", account_url="https://a.blob.core.windows.net"), {})
    with pytest.raises(ConfigError, match="https://"):
        open_container(environment(tmp_path, "azure", account_url="http://a.blob.core.windows.net", container="c"), {})
    config = environment(tmp_path, "azure", account_url="https://a.blob.core.windows.net", container="c")
    container = open_container(config, {}, credential=_Token())
    assert container is not None and container.url == "https://a.blob.core.windows.net/c"


def test_the_upload_store_wraps_the_same_container(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = environment(tmp_path, "azure", account_url="https://a.blob.core.windows.net", container="c")
    monkeypatch.setattr("azure.identity.DefaultAzureCredential", _Token)
    store = open_blob_store(config, {})
    assert isinstance(store, AzureBlobStore) and store.url_prefix == "https://a.blob.core.windows.net/c/"
