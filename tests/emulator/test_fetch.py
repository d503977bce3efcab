"""The emulator reads file:// URIs only inside its data roots: symlinks resolved, regular files only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconcile.emulator.fetch import FetchError, read_uri
from tests.fixtures.emulator import api, classification_coco, png_bytes, start_validated, wait_for_status, write_coco


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    """(allowed, outside): a data root and a folder beside it holding a 'secret'."""
    allowed, outside = tmp_path / "data", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    (allowed / "labels.json").write_bytes(b"{}")
    (outside / "secret.txt").write_bytes(b"the host's secret")
    return allowed, outside


def test_a_regular_file_inside_a_root_is_read(roots: tuple[Path, Path]) -> None:
    allowed, _ = roots
    assert read_uri((allowed / "labels.json").as_uri(), file_roots=[allowed]) == b"{}"


def test_without_roots_every_file_uri_is_refused(roots: tuple[Path, Path]) -> None:
    allowed, _ = roots
    with pytest.raises(FetchError, match="no data roots"):
        read_uri((allowed / "labels.json").as_uri())


def test_paths_outside_the_roots_are_refused_even_through_dot_dot_or_a_symlink(roots: tuple[Path, Path]) -> None:
    allowed, outside = roots
    (allowed / "link.txt").symlink_to(outside / "secret.txt")
    (allowed / "dirlink").symlink_to(outside)
    for uri in ((outside / "secret.txt").as_uri(), f"file://{allowed}/../outside/secret.txt",
                (allowed / "link.txt").as_uri(), (allowed / "dirlink" / "secret.txt").as_uri(), "file:///etc/passwd"):
        with pytest.raises(FetchError, match="outside") as caught:
            read_uri(uri, file_roots=[allowed])
        assert "the host's secret" not in str(caught.value)


def test_only_regular_files_are_read_inside_a_root(roots: tuple[Path, Path]) -> None:
    allowed, _ = roots
    os.mkfifo(allowed / "fifo")
    for uri in ((allowed / "fifo").as_uri(), allowed.as_uri()):
        with pytest.raises(FetchError, match="not a regular file|folder"):
            read_uri(uri, file_roots=[allowed])


def test_the_running_emulator_keeps_training_and_analyze_inside_its_roots(roots: tuple[Path, Path]) -> None:
    allowed, outside = roots
    inside_uri = write_coco(allowed / "train.json", classification_coco({"cat": 3, "dog": 3}))
    outside_uri = write_coco(outside / "train.json", classification_coco({"cat": 3, "dog": 3}))
    (outside / "p.png").write_bytes(png_bytes(8, 8))
    srv, _ = start_validated(file_roots=[allowed])
    with srv, api(srv) as c:
        for name, uri in (("in", inside_uri), ("out", outside_uri)):
            assert c.put(f"/datasets/{name}", json={"annotationKind": "imageClassification",
                                                    "annotationFileUris": [uri]}).status_code == 201
            assert c.put(f"/models/{name}", json={"trainingParameters": {"trainingDatasetName": name,
                                                                         "timeBudgetInHours": 1}}).status_code == 201
        good = wait_for_status(srv, c, "/models/in", {"succeeded", "failed"})
        bad = wait_for_status(srv, c, "/models/out", {"succeeded", "failed"})
        analyze = c.post("/imageanalysis:analyze", params={"model-name": "in"},
                         json={"url": (outside / "p.png").as_uri()})
    assert good["status"] == "succeeded", good
    assert bad["status"] == "failed" and "outside" in str(bad), bad
    assert analyze.status_code == 400 and "outside" in analyze.text
