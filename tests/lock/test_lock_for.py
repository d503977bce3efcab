"""lock_for(config): which lock each storage kind gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile.errors import ConfigError
from reconcile.lock import BlobLeaseLock, FileLock, lock_for
from tests.lock.helpers import Config, Storage

AZURITE = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
           "BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;")


def test_local_storage_gets_a_file_lock_under_the_state_dir(tmp_path: Path) -> None:
    lock = lock_for(Config("local", tmp_path / "state"))
    assert isinstance(lock, FileLock)
    assert lock.path == tmp_path / "state" / "locks" / "local.lock"


def test_azurite_reads_the_connection_string_from_the_named_variable(tmp_path: Path, monkeypatch) -> None:
    config = Config("dev", tmp_path, Storage("azurite", container="state", connection_string_env="MY_CONN"))
    monkeypatch.delenv("MY_CONN", raising=False)
    with pytest.raises(ConfigError, match="connection string is not set") as caught:
        lock_for(config)
    assert "MY_CONN" in str(caught.value)
    monkeypatch.setenv("MY_CONN", AZURITE)
    lock = lock_for(config)
    assert isinstance(lock, BlobLeaseLock)
    assert lock.where() == "http://127.0.0.1:1/devstoreaccount1/state/.vision-gitops/locks/dev.lock"
    assert "a2V5" not in lock.where()


def test_azure_needs_an_account_url_and_a_container(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="accountUrl"):
        lock_for(Config("prod", tmp_path, Storage("azure", container="state")))
    with pytest.raises(ConfigError, match="container"):
        lock_for(Config("prod", tmp_path, Storage("azure", account_url="https://a.blob.core.windows.net")))
    lock = lock_for(Config("prod", tmp_path, Storage("azure", container="state",
                                                     account_url="https://a.blob.core.windows.net")))
    assert lock.where() == "https://a.blob.core.windows.net/state/.vision-gitops/locks/prod.lock"


def test_unknown_storage_kind_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown storage kind 'ftp'"):
        lock_for(Config("dev", tmp_path, Storage("ftp", container="x")))
