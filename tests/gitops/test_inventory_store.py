"""Inventory stores: atomic, versioned writes; a second writer never silently overwrites the first."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from reconcile.errors import ConfigError, PreconditionFailedError
from reconcile.inventory import BlobStateStore, FileStateStore, Journal, MemoryStateStore, ResourceRecord


def _rec(name: str, **kw) -> ResourceRecord:
    return ResourceRecord(address=f"model/{name}", kind="Model", name=name, **kw)


def _roundtrip_and_conflict(make) -> None:
    a = make()
    assert a.load().records == {} and a.load().generation == 0
    j = Journal(a)
    j.put([_rec("one", protect=True)])
    b = make()
    inv = b.load()
    assert inv.generation == 1 and inv.records["model/one"].protect
    b.save(inv.with_records({**inv.records, "model/two": _rec("two")}))
    # ``a`` last saw generation 1; the store is at 2: refused, and nothing is lost.
    with pytest.raises(PreconditionFailedError, match="another writer"):
        j.put([_rec("three")])
    final = make().load()
    assert sorted(final.records) == ["model/one", "model/two"] and final.generation == 2
    assert j.inventory.generation == 1  # the failed write changed nothing in memory either


def test_file_store(tmp_path: Path) -> None:
    path = tmp_path / "state" / "inventory" / "prod.json"
    _roundtrip_and_conflict(lambda: FileStateStore(path, "prod"))
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".tmp-")] == []
    # The documented format: camelCase keys, one JSON object per environment.
    doc = json.loads(path.read_text())
    assert (doc["format"], doc["environment"], doc["generation"]) == (1, "prod", 2)
    assert doc["records"]["model/one"]["createdAt"] and "created_at" not in doc["records"]["model/one"]


def test_a_failed_file_write_is_a_clear_error_and_leaves_the_old_inventory(tmp_path: Path, monkeypatch) -> None:
    import os

    path = tmp_path / "prod.json"
    store = FileStateStore(path, "prod")
    Journal(store).put([_rec("one")])
    before = path.read_bytes()

    def full_disk(src, dst) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(ConfigError, match=r"cannot write the inventory .*prod.json: No space left on device"):
        Journal(store).put([_rec("two")])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []  # the temporary file is gone


def test_file_store_names_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "prod.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="prod.json: the inventory is not valid JSON"):
        FileStateStore(path, "prod").load()


def test_file_store_refuses_an_inventory_format_it_does_not_read(tmp_path: Path) -> None:
    path = tmp_path / "prod.json"
    path.write_text(json.dumps({"format": 2, "environment": "prod", "generation": 3, "records": {}}))
    with pytest.raises(ConfigError, match="prod.json: inventory format 2 is not supported") as caught:
        FileStateStore(path, "prod").load()
    assert caught.value.hint == "upgrade vision-gitops"


def test_memory_store_counts_generations() -> None:
    store = MemoryStateStore("x")
    j = Journal(store)
    j.put([_rec("a")])
    j.put([_rec("b")])
    assert store.load().generation == 2 and sorted(store.load().records) == ["model/a", "model/b"]


def test_journal_forget_and_unchanged_writes_nothing(tmp_path: Path) -> None:
    store = FileStateStore(tmp_path / "s.json", "e")
    j = Journal(store)
    j.put([_rec("a"), _rec("b")])
    assert j.forget(["model/a", "model/never"]).generation == 2
    assert j.forget(["model/a"]).generation == 2  # nothing changed: no write
    assert sorted(store.load().records) == ["model/b"]


@pytest.mark.azurite
def test_blob_store_on_azurite(azurite) -> None:
    from azure.storage.blob import ContainerClient

    container = ContainerClient.from_connection_string(azurite.connection_string, f"state-{uuid.uuid4().hex[:8]}")
    container.create_container()
    try:
        _roundtrip_and_conflict(lambda: BlobStateStore(container, "prod"))
        assert [b for b in container.list_blob_names()] == [".vision-gitops/state/prod.json"]
        # Two first writers: If-None-Match lets only one create the blob.
        fresh = BlobStateStore(container, "dev")
        other = BlobStateStore(container, "dev")
        base = fresh.load()
        stale = other.load()  # loaded before the blob existed
        fresh.save(base.with_records({"model/a": _rec("a")}))
        with pytest.raises(PreconditionFailedError):
            other.save(stale.with_records({"model/b": _rec("b")}))
        assert sorted(BlobStateStore(container, "dev").load().records) == ["model/a"]
    finally:
        container.delete_container()


@pytest.mark.azurite
def test_blob_store_counts_its_own_writes_and_recreates_a_deleted_blob(azurite) -> None:
    from azure.storage.blob import ContainerClient

    from reconcile.inventory import Inventory

    container = ContainerClient.from_connection_string(azurite.connection_string, f"state-{uuid.uuid4().hex[:8]}")
    container.create_container()
    try:
        store = BlobStateStore(container, "prod")
        store.load()
        assert store.save(Inventory()).generation == 1
        second = store.save(Inventory(records={"model/a": _rec("a")}))
        assert (second.generation, second.environment) == (2, "prod")  # the store names its environment
        stored = BlobStateStore(container, "prod").load()
        assert (stored.generation, stored.environment, sorted(stored.records)) == (2, "prod", ["model/a"])
        # Deleted behind our back (a cleanup, a restore): loading again starts over, and the next
        # write creates the blob instead of failing on the vanished blob's eTag.
        container.delete_blob(".vision-gitops/state/prod.json")
        assert store.load().records == {}
        assert store.save(Inventory(records={"model/b": _rec("b")})).generation == 1
        assert sorted(BlobStateStore(container, "prod").load().records) == ["model/b"]
    finally:
        container.delete_container()


@pytest.mark.azurite
def test_apply_records_the_inventory_in_the_blob_container(project, emulator, azurite, monkeypatch) -> None:
    """With Azurite storage the inventory is the blob .vision-gitops/state/<env>.json, next to the lock."""
    from azure.storage.blob import ContainerClient

    from reconcile.workflow import load_desired, make_plan, run_apply
    from tests.fixtures.emulator import classification_coco
    from tests.fixtures.project import coco_file

    container = f"gitops-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AZ_CONN", azurite.connection_string)
    proj = project([], config={"storage": {"kind": "azurite", "connectionStringEnv": "AZ_CONN",
                                           "container": container}})
    uri = coco_file(proj.root, "train.json", classification_coco({"circle": 3, "square": 3}))
    proj.write_specs([{"kind": "Dataset", "name": "train", "annotationKind": "imageClassification",
                       "labels": [{"uri": uri}]},
                      {"kind": "Model", "name": "clf", "modelKind": "Generic-Classifier", "trainingDataset": "train",
                       "budgetHours": 1}])
    try:
        with proj.session() as s:
            result = run_apply(s, make_plan(s, load_desired(s.config)), waiter=proj.waiter(s))
        assert not result.failed
        client = ContainerClient.from_connection_string(azurite.connection_string, container)
        blob = client.download_blob(".vision-gitops/state/test.json").readall()
        assert sorted(json.loads(blob)["records"]) == ["dataset/train", "model/clf"]
        assert not proj.plan().has_changes
    finally:
        ContainerClient.from_connection_string(azurite.connection_string, container).delete_container()


def test_local_storage_keeps_the_inventory_under_the_state_dir(tmp_path: Path) -> None:
    from reconcile.inventory.store import state_store_for
    from tests.lock.helpers import Config, Storage

    store = state_store_for(Config("prod", tmp_path, Storage("local")))
    assert isinstance(store, FileStateStore)
    assert store.path == tmp_path / "inventory" / "prod.json"
