"""The Azure ML backend against the emulator over HTTPS, with Azurite as the datastore."""

from __future__ import annotations

import json

import pytest

from reconcile.backends.azureml import naming, wire
from reconcile.backends.azureml.backend import DATA_PREFIX
from reconcile.backends.base import DesiredModel
from tests.backends.azureml.conftest import Rig

pytestmark = pytest.mark.azurite  # emulator datastore on Azurite


def _finish(rig: Rig, model: str, *, steps: int = 200):
    """Train ``model`` to its end and register it, as ``reconcile wait`` does."""
    for _ in range(steps):
        live = rig.backend.get_model(model)
        if live is not None and live.status == "trained":
            live = rig.backend.finish_model(model)
        if live is not None and live.terminal:
            return live
        rig.srv.wait_for_training(timeout=120)
        rig.srv.advance_clock(60)
    raise AssertionError(f"model {model} never finished: {live}")


def test_dataset_is_a_content_derived_version_with_jsonl_and_mltable(rig: Rig) -> None:
    desired = rig.dataset("cls-train")
    live = rig.backend.create_dataset(desired)
    version = naming.data_version(desired)
    assert live.etag.startswith(version + ";")
    assert live.custom_properties == {"project": "shapes"}
    assert live.label_uris == tuple(naming.label_address(u) for u in desired.label_uris)
    lines = rig.store.get(f"{DATA_PREFIX}/cls-train/{version}/annotations.jsonl").decode().splitlines()
    first = json.loads(lines[0])
    assert first["image_url"].startswith("azureml://datastores/workspaceblobstore/paths/")
    assert first["image_details"]["format"] == "png" and isinstance(first["label"], str)
    # a re-apply of the same content is the same version; observe sees one dataset
    again = rig.backend.create_dataset(desired)
    assert again.etag.split(";")[0] == version
    assert set(rig.backend.observe().datasets) == {"cls-train"}


def _data_paths(rig: Rig) -> list[str]:
    return sorted(r.path.rsplit("/workspaces/", 1)[-1] for r in rig.srv.request_log.snapshot() if "/data" in r.path)


def test_the_observe_after_a_write_lists_once_and_a_deep_one_lists_every_version(rig: Rig) -> None:
    for name in ("a", "b"):
        rig.backend.create_dataset(rig.dataset(name))
    rig.srv.request_log.clear()
    seen = rig.backend.observe().datasets
    assert set(seen) == {"a", "b"} and seen["a"].custom_properties == {"project": "shapes"}
    assert _data_paths(rig) == ["vision-gitops-ws/data"]  # the PUT answers stand for the versions just written
    rig.srv.request_log.clear()
    fast = rig.backend.observe()
    assert fast.datasets == seen and fast.observation.startswith("fast: 2 dataset(s)")
    assert _data_paths(rig) == ["vision-gitops-ws/data"]  # each container mirrors its latest version
    rig.srv.request_log.clear()
    deep = rig.backend.observe(deep=True)
    assert deep.datasets.keys() == seen.keys() and deep.observation.startswith("deep")
    assert {n: d.etag for n, d in deep.datasets.items()} == {n: d.etag for n, d in seen.items()}
    assert _data_paths(rig) == ["vision-gitops-ws/data", "vision-gitops-ws/data/a/versions",
                                "vision-gitops-ws/data/b/versions"]


def _put_version_outside(rig: Rig, name: str, version: str, **change: object) -> None:
    path = f"{rig.backend._ws}/data/{name}/versions/{version}"
    props = rig.backend._client.get(path)["properties"]
    keep = {k: v for k, v in props.items() if k in ("dataType", "dataUri", "tags", "properties", "isArchived")}
    rig.backend._client.put(path, {"properties": keep | change})


def test_fast_observe_sees_a_new_version_outside_but_only_deep_sees_an_archived_or_retagged_one(rig: Rig) -> None:
    a = rig.backend.create_dataset(rig.dataset("a"))
    b = rig.backend.create_dataset(rig.dataset("b"))
    rig.backend.observe()  # spends the PUT answers
    # outside: a's version archived, b's version re-tagged; neither touches the container (the fast contract)
    _put_version_outside(rig, "a", a.etag.split(";")[0], isArchived=True)
    _put_version_outside(rig, "b", b.etag.split(";")[0], tags={"project": "edited"})
    fast = rig.backend.observe().datasets
    assert fast["a"].etag == a.etag and fast["b"].etag == b.etag
    deep = rig.backend.observe(deep=True).datasets
    assert "a" not in deep and deep["b"].custom_properties == {"project": "edited"}
    # a version registered outside moves the container's latestVersion: fast lists that container's versions
    rig.backend._client.put(f"{rig.backend._ws}/data/b/versions/99", {"properties": {
        "dataType": "mltable", "dataUri": "azureml://datastores/workspaceblobstore/paths/elsewhere/"}})
    rig.srv.request_log.clear()
    seen = rig.backend.observe()
    assert seen.datasets["b"].etag.startswith("99;") and "1 container(s) listed" in seen.observation
    assert _data_paths(rig) == ["vision-gitops-ws/data", "vision-gitops-ws/data/b/versions"]


def test_changed_labels_make_a_new_version_beside_the_old_one(rig: Rig) -> None:
    first = rig.backend.create_dataset(rig.dataset("ds"))
    second = rig.backend.create_dataset(rig.dataset("ds", split="test"))
    assert first.etag.split(";")[0] != second.etag.split(";")[0]
    versions = rig.backend._versions("ds")
    assert len(versions) == 2
    assert rig.backend.get_dataset("ds").etag == second.etag


def test_tag_change_updates_the_same_version(rig: Rig) -> None:
    desired = rig.dataset("ds")
    before = rig.backend.create_dataset(desired)
    after = rig.backend.update_dataset(desired.model_copy(update={"custom_properties": {"project": "x"}}),
                                       etag=before.etag)
    assert after.etag.split(";")[0] == before.etag.split(";")[0]
    assert after.custom_properties == {"project": "x"}
    assert len(rig.backend._versions("ds")) == 1


def test_delete_archives_and_the_dataset_is_gone_for_observe(rig: Rig) -> None:
    rig.backend.create_dataset(rig.dataset("ds"))
    assert rig.backend.delete_dataset("ds") is True
    assert rig.backend.get_dataset("ds") is None
    assert "ds" not in rig.backend.observe().datasets
    assert "ds" not in rig.backend.observe().datasets  # the container no longer mirrors the archived version
    assert "ds" not in rig.backend.observe(deep=True).datasets
    # archived, not deleted: the version is still listed with listViewType=All
    assert [v["properties"]["isArchived"] for v in rig.backend._versions("ds")] == [True]
    assert rig.backend.delete_dataset("ds") is False


def test_model_trains_registers_and_a_retry_never_submits_a_second_job(rig: Rig) -> None:
    rig.backend.create_dataset(rig.dataset("train"))
    rig.backend.create_dataset(rig.dataset("test", split="test"))
    desired = DesiredModel(name="clf", model_kind="Generic-Classifier", training_dataset="train",
                           test_dataset="test", budget_hours=1)
    first = rig.backend.create_model(desired)
    assert first.status == "running"
    again = rig.backend.create_model(desired)  # a retry after a lost answer, or a crash
    assert again.status == "running"
    jobs = rig.backend._jobs()
    assert [j["name"] for j in jobs] == [naming.job_name("clf", naming.model_spec_hash(desired), 1)]
    body = jobs[0]["properties"]
    assert body["taskDetails"]["limitSettings"]["timeout"] == "PT1H"
    assert body["taskDetails"]["taskType"] == "ImageClassification"
    assert body["taskDetails"]["validationData"]["uri"].endswith(
        "/data/test/versions/" + rig.backend.get_dataset("test").etag.split(";")[0])
    done = _finish(rig, "clf")
    assert done.status == "succeeded", done
    assert done.performance and "accuracyTop1" in done.performance  # the first service's metric names
    versions = rig.backend._registered("clf")
    assert versions == {jobs[0]["name"]}
    model = rig.client.get(f"{rig.target.workspace_id}/models/clf/versions/{jobs[0]['name']}")
    assert model["properties"]["tags"][wire.TAG_SPEC] == naming.model_spec_hash(desired)
    assert "vision-gitops/dataset/train" in model["properties"]["tags"]
    assert model["properties"]["modelUri"].startswith("azureml://jobs/")
    assert rig.backend.list_models()["clf"].status == "succeeded"


def test_reading_a_completed_job_writes_nothing_and_finishing_registers_it_once(rig: Rig) -> None:
    rig.backend.create_dataset(rig.dataset("train"))
    desired = DesiredModel(name="clf", model_kind="Generic-Classifier", training_dataset="train", budget_hours=1)
    job = rig.backend.create_model(desired)
    assert job.status == "running"
    for _ in range(200):  # only the clock moves: nobody registers
        rig.srv.wait_for_training(timeout=120)
        rig.srv.advance_clock(60)
        if rig.backend._jobs()[0]["properties"]["status"] == "Completed":
            break
    rig.srv.request_log.clear()
    listed = rig.backend.observe().models["clf"]
    read = rig.backend.get_model("clf")
    assert listed.status == read.status == "trained"
    assert listed.pending and rig.backend._jobs()[0]["name"] in listed.pending
    assert [f"{r.method} {r.path}" for r in rig.srv.request_log.snapshot() if r.method != "GET"] == []
    assert rig.backend._registered("clf") == set()

    done = rig.backend.finish_model("clf")
    assert done.status == "succeeded" and done.performance
    assert rig.backend._registered("clf") == {rig.backend._jobs()[0]["name"]}
    assert rig.backend.list_models()["clf"].status == "succeeded"
    rig.srv.request_log.clear()
    assert rig.backend.finish_model("clf").status == "succeeded"  # a second finish registers nothing again
    assert [r.method for r in rig.srv.request_log.snapshot() if r.method != "GET"] == []


def test_changed_model_spec_is_a_new_job_beside_the_old(rig: Rig) -> None:
    rig.backend.create_dataset(rig.dataset("train"))
    a = DesiredModel(name="m", model_kind="Generic-Classifier", training_dataset="train", budget_hours=1)
    rig.backend.create_model(a)
    rig.backend.create_model(a.model_copy(update={"budget_hours": 2}))
    names = sorted(j["name"] for j in rig.backend._jobs())
    assert len(names) == 2 and all(n.startswith("m-") and n.endswith("-g1") for n in names)


def test_reverting_a_model_spec_makes_the_earlier_version_current_without_training(rig: Rig) -> None:
    """The earlier job of that spec succeeded, was registered and trained on today's data versions: the revert
    tags it current again (no new job), so the newer version is superseded and plan converges."""
    rig.backend.create_dataset(rig.dataset("train"))
    a = DesiredModel(name="m", model_kind="Generic-Classifier", training_dataset="train", budget_hours=1)

    def names() -> set[str]:
        return {str(j["name"]) for j in rig.backend._jobs()}

    rig.backend.create_model(a)
    (first,) = names()
    rig.backend.create_model(a)
    assert names() == {first}  # a retry (a crash after the PUT) adopts the job
    _finish(rig, "m")
    rig.srv.advance_clock(1)
    rig.backend.create_model(a.model_copy(update={"budget_hours": 2}))
    second = _finish(rig, "m")
    assert second.version != first
    assert [r.version for r in rig.backend.list_models()["m"].reusable] == [first]
    rig.srv.advance_clock(1)
    back = rig.backend.create_model(a)
    assert names() == {first, second.version}  # no training job
    assert back.version == first
    live = rig.backend.list_models()["m"]
    assert (live.version, live.status, live.budget_hours) == (first, "succeeded", 1)
    assert [r.version for r in live.reusable] == [second.version]
    assert rig.backend.get_model("m").version == first


def test_a_revert_over_changed_data_trains_a_new_generation(rig: Rig) -> None:
    """An earlier job trained on older data versions is no revert target: the spec trains again."""
    rig.backend.create_dataset(rig.dataset("train"))
    a = DesiredModel(name="m", model_kind="Generic-Classifier", training_dataset="train", budget_hours=1)
    rig.backend.create_model(a)
    (first,) = {str(j["name"]) for j in rig.backend._jobs()}
    _finish(rig, "m")
    rig.srv.advance_clock(1)
    rig.backend.create_model(a.model_copy(update={"budget_hours": 2}))
    _finish(rig, "m")
    rig.backend.update_dataset(rig.dataset("train", split="test"), etag=rig.backend.get_dataset("train").etag)
    assert rig.backend.list_models()["m"].reusable == ()
    rig.srv.advance_clock(1)
    rig.backend.create_model(a)
    newest = rig.backend._newest_by_model(rig.backend._jobs())["m"]["name"]
    assert newest == first.replace("-g1", "-g2")


def test_cancel_then_the_next_create_is_a_new_generation(rig: Rig) -> None:
    rig.backend.create_dataset(rig.dataset("train", kind="detection"))
    desired = DesiredModel(name="det", model_kind="Generic-Detector", training_dataset="train", budget_hours=2)
    rig.backend.create_model(desired)
    rig.backend.cancel_model("det")
    for _ in range(50):
        if rig.backend.get_model("det").status == "cancelled":
            break
        rig.srv.advance_clock(30)
    assert rig.backend.get_model("det").status == "cancelled"
    rig.backend.create_model(desired)
    names = sorted(j["name"] for j in rig.backend._jobs())
    assert [n.rsplit("-", 1)[1] for n in names] == ["g1", "g2"]
    assert rig.backend._jobs()[0]["properties"]["taskDetails"]["taskType"] == "ImageObjectDetection"


def test_label_file_outside_the_datastore_is_refused_naming_the_dataset(rig: Rig) -> None:
    from reconcile.errors import InputError

    desired = rig.dataset("ds").model_copy(update={"label_uris": ("https://elsewhere.example/x.json",)})
    with pytest.raises(InputError, match="dataset ds: label file"):
        rig.backend.create_dataset(desired)


def test_faults_converge_with_one_job_and_one_data_version(rig: Rig) -> None:
    """Dropped connections (before and after the write) and 429/5xx: retries and re-runs never duplicate."""
    from reconcile.emulator.faults import FaultConfig

    desired_ds = rig.dataset("train")
    rig.srv.faults = FaultConfig(error_rate=0.2, drop_before_rate=0.1, drop_after_rate=0.1, seed=7,
                                 retry_after_seconds=0).validate()
    desired = DesiredModel(name="clf", model_kind="Generic-Classifier", training_dataset="train", budget_hours=1)
    for _ in range(3):  # three applies in a row, as after crashes
        rig.backend.create_dataset(desired_ds)
        rig.backend.create_model(desired)
    rig.srv.faults = FaultConfig()
    assert rig.client.stats.retries > 0  # the faults did happen
    assert len(rig.backend._versions("train")) == 1
    assert len(rig.backend._jobs()) == 1


def test_plan_time_check_names_dataset_and_file(rig: Rig) -> None:
    from reconcile.errors import CocoError

    url = rig.store.url("vision-gitops/images/abc.png")
    doc = {"images": [{"id": 1, "file_name": "a.png", "absolute_url": url}], "categories": [{"id": 1, "name": "c"}],
           "annotations": []}
    rig.backend.check_labels("ok", "imageObjectDetection", [("det.json", json.dumps(doc).encode())])
    with pytest.raises(CocoError, match="dataset cls: annotations.jsonl: no labelled images"):
        rig.backend.check_labels("cls", "imageClassification", [("cls.json", json.dumps(doc).encode())])
    doc["images"][0]["file_name"] = "a.gif"
    with pytest.raises(CocoError, match=r"dataset det: det.json: images\[0\].*not an image format"):
        rig.backend.check_labels("det", "imageObjectDetection", [("det.json", json.dumps(doc).encode())])


def test_capabilities_read_the_cluster_from_compute_list_once(rig: Rig) -> None:
    import dataclasses

    from reconcile.backends.azureml.backend import AzureMLBackend
    from reconcile.errors import NotFoundError

    rig.srv.request_log.clear()
    assert rig.backend.capabilities == rig.backend.capabilities
    calls = [(r.method, r.path.rsplit("/workspaces/", 1)[-1]) for r in rig.srv.request_log.snapshot()]
    assert calls == [("GET", "vision-gitops-ws/computes")]  # a list call, once per session
    other = AzureMLBackend(rig.client, dataclasses.replace(rig.target, compute="cpu-cluster"), rig.store)
    with pytest.raises(NotFoundError, match="no compute cluster 'cpu-cluster'"):
        other.capabilities
