"""The twelve reproducers of issue 11, each as the user met it (mostly through the CLI).

Each test fails if its fix is undone: the symlinked image is uploaded, the SAS shows in
the plan, an alias bomb or /dev/zero is read without bound, a secret is echoed, a path
leaves the repository, a malformed value crashes, the emulator answers 500.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from tests.fixtures.emulator import TEST_KEY
from tests.hostile.harness import BEARER, KEY, SAS_URI, SIG, TOKEN, alias_bomb, coco_seed
from tests.hostile.helpers import Run, files_with_secrets, reconcile, run_python

Cli = Callable[..., Run]
API = "api-version=2023-04-01-preview"


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def dataset(labels: str, *, extra: str = "") -> str:
    return f"kind: Dataset\nname: d1\nannotationKind: imageClassification\nlabels: {labels}\n{extra}"


# --- 1. symlinks -----------------------------------------------------------------------------------


def test_1_a_symlinked_image_is_refused_by_validate_and_plan_and_never_uploaded(repo: Path, cli: Cli) -> None:
    (repo / "data/img/1.png").unlink()
    os.symlink("/proc/self/environ", repo / "data/img/1.png")
    for command in ("validate", "plan"):
        run = cli(repo, command)
        run.assert_clean()
        assert run.code == 1
        assert "image '1.png' resolves outside the repository" in run.out
    assert not (repo / ".vision-gitops/blobs/images").exists()
    assert files_with_secrets(repo) == []


# --- 2. SAS in the plan ---------------------------------------------------------------------------


def test_2_an_adopted_sas_dataset_plans_only_its_marker_and_no_output_shows_the_signature(
    tmp_path: Path, emulator: Any, cli: Cli
) -> None:
    root = tmp_path / "repo"
    write(root, "vision-gitops.yaml", "defaultEnvironment: t\nenvironments:\n  t:\n"
          f"    endpoint: {emulator.endpoint}\n    auth: {{kind: key}}\n    storage: {{kind: local}}\n")
    (root / "specs").mkdir()
    put = httpx.put(f"{emulator.endpoint}/computervision/datasets/d1?{API}",
                    headers={"Ocp-Apim-Subscription-Key": TEST_KEY},
                    json={"annotationKind": "imageClassification", "annotationFileUris": [SAS_URI]})
    assert put.status_code == 201
    assert cli(root, "import", "dataset/d1", key=TEST_KEY).code == 0
    text = cli(root, "plan", "--out", "p.json", "--markdown", "p.md", key=TEST_KEY)
    as_json = cli(root, "plan", "--json", key=TEST_KEY)
    for run in (text, as_json):
        run.assert_clean()
        assert run.code == 2 and SIG not in run.out
    assert "because customProperties.vision-gitops.managed-by changed" in text.out
    assert "labels:" not in text.out  # not planned as a label change
    assert files_with_secrets(root) == []
    change = json.loads((root / "p.json").read_text())["changes"][0]
    assert [c["path"] for c in change["changes"]] == ["customProperties.vision-gitops.managed-by"]
    assert "annotationFileUris" not in change["desired"]  # the service keeps the URIs (and SAS) it holds


# --- 3. unbounded reads --------------------------------------------------------------------------------


def test_3_a_dev_zero_label_uri_is_not_read_by_plan_under_a_memory_cap(repo: Path) -> None:
    write(repo, "specs/all.yaml", dataset('[{uri: "file:///dev/zero"}]'))
    run = reconcile(repo, "plan")
    run.assert_clean()
    assert run.code == 2 and "file:///dev/zero" in run.out and "outside the repository" in run.out


def test_3_the_emulator_reads_no_device_fifo_or_oversized_file(tmp_path: Path) -> None:
    from reconcile.emulator.fetch import FetchError, read_uri
    from reconcile.limits import Limit

    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "big").write_bytes(b"x" * 2048)
    for uri, says in (("file:///dev/zero", "not a regular file"), (f"file://{tmp_path}/fifo", "not a regular file"),
                      (f"file://{tmp_path}/big", "larger than the tiny limit of 1 KiB")):
        with pytest.raises(FetchError, match=says):
            read_uri(uri, limit=Limit("tiny", 1024, "bytes", ""), file_roots=[tmp_path, Path("/dev")])


# --- 4. YAML bombs ------------------------------------------------------------------------------------------


def test_4_alias_bombs_in_a_spec_and_the_config_stop_at_the_limit_under_a_memory_cap(repo: Path) -> None:
    import random

    write(repo, "specs/all.yaml", alias_bomb(random.Random(4)))
    run = reconcile(repo, "validate")
    run.assert_clean()
    assert run.code == 1 and "specs/all.yaml:" in run.out and ("yamlNodes" in run.out or "yamlAliases" in run.out)
    bomb = "\n".join([f"l0: &l0 [{', '.join(['lol'] * 9)}]"]
                     + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 8)])
    write(repo, "vision-gitops.yaml", bomb + "\nspecs: *l7\n")
    run = reconcile(repo, "validate")
    run.assert_clean()
    assert run.code == 1 and "vision-gitops.yaml:" in run.out and "yamlNodes" in run.out


# --- 5. secrets echoed from the config ---------------------------------------------------------------------


def test_5_secrets_in_config_keys_environment_names_and_values_are_refused_unechoed(repo: Path, cli: Cli) -> None:
    write(repo, "vision-gitops.yaml",
          f'defaultEnvironment: "{BEARER}"\n{KEY}: 1\nenvironments:\n  {KEY}: {{endpoint: embedded}}\n'
          f'  dev: {{endpoint: "https://x.cognitiveservices.azure.com", auth: {{kind: key, keyEnv: "{TOKEN}"}}, '
          f'storage: {{kind: azure, accountUrl: "https://a.blob.core.windows.net", container: c}}}}\n')
    run = cli(repo, "validate")
    run.assert_clean()
    assert run.code == 1
    assert "vision-gitops.yaml:1: defaultEnvironment: this value looks like a bearer token" in run.out
    assert "vision-gitops.yaml:2: a key of this mapping looks like an Azure AI services key" in run.out
    assert "environments: a key of this mapping looks like an Azure AI services key" in run.out


# --- 6. config paths --------------------------------------------------------------------------------------


def test_6_config_paths_stay_in_the_repository(repo: Path, cli: Cli) -> None:
    outside = repo.parent / "x"
    write(outside.parent, "x/a.yaml", "kind: hunter2-secret-value\n")
    write(repo, "vision-gitops.yaml",
          "specs: [specs, ../x, /etc]\nenvironments:\n  local: {endpoint: embedded, stateDir: ../x, "
          "storage: {kind: local, path: ../x}}\n")
    run = cli(repo, "validate")
    run.assert_clean()
    assert run.code == 1 and "hunter2" not in run.out
    for field in ("specs[1]", "specs[2]", "environments.local.stateDir", "environments.local.storage.path"):
        assert f": {field}: " in run.out, field
    write(repo, "vision-gitops.yaml", "specs: ['/']\n")
    run = cli(repo, "validate")
    assert run.code == 1 and "specs[0]: '/' is absolute" in run.out
    os.symlink(outside, repo / "specs" / "linked")
    write(repo, "vision-gitops.yaml", "specs: [specs]\n")
    run = cli(repo, "validate")
    assert run.code == 1 and "specs/linked: a symlink to a folder outside the repository" in run.out
    assert sorted(p.name for p in repo.parent.iterdir()) == ["repo", "x"]  # nothing written outside


# --- 7. COCO boxes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("bbox", [[0, 0, 0.1, 0.1, 0.2], [0, 0, 0.1, 0.1, 0.2, 0.3], [0, 0, 0.1]])
def test_7_a_bbox_of_other_than_four_numbers_is_refused(bbox: list[float]) -> None:
    from reconcile.coco.validate import ValidationOptions, validate_bytes

    doc = coco_seed(detection=True)
    doc["annotations"][1]["bbox"] = bbox
    report = validate_bytes(json.dumps(doc).encode(), ValidationOptions(kind="imageObjectDetection", require_urls=False))
    assert not report.valid and report.codes() == {"E_BBOX_SHAPE": 1}


# --- 8. long URIs -----------------------------------------------------------------------------------------


def test_8_a_70000_character_uri_is_refused_by_validate_and_by_the_emulator(repo: Path, cli: Cli, emulator: Any) -> None:
    long_uri = "https://acct.blob.core.windows.net/c/" + "u" * 70_000
    write(repo, "specs/all.yaml", dataset(f'[{{uri: "{long_uri}"}}]'))
    run = cli(repo, "validate")
    assert run.code == 1 and "labels[0]" in run.out and "uriChars limit of 2,048 chars" in run.out
    headers = {"Ocp-Apim-Subscription-Key": TEST_KEY}
    put = httpx.put(f"{emulator.endpoint}/computervision/datasets/long?{API}", headers=headers,
                    json={"annotationKind": "imageClassification", "annotationFileUris": [long_uri]})
    assert put.status_code == 400 and put.json()["error"]["code"] == "InvalidRequest"
    assert httpx.get(f"{emulator.endpoint}/computervision/models?{API}", headers=headers).status_code == 200


# --- 9. masked crashes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("kind: Dataset\nname: !!float x\n", "specs/all.yaml:2: the value does not match its tag 'float'"),
        ("kind: Dataset\nname: !!int x\n", "specs/all.yaml:2: the value does not match its tag 'int'"),
        (dataset('[{file: "a\\0b"}]'), "labels[0].file: 'a\\x00b' contains a control character"),
        (dataset(f"[{{file: data/{'x' * 256}.json}}]"), "pathComponentChars limit of 255 chars"),
    ],
)
def test_9_malformed_values_are_problems_not_crashes(repo: Path, cli: Cli, spec: str, says: str) -> None:
    write(repo, "specs/all.yaml", spec)
    run = cli(repo, "validate")
    run.assert_clean()
    assert run.code == 1 and says in run.out


def test_9_deep_stack_outputs_and_a_nul_state_dir_are_problems_under_a_memory_cap(repo: Path) -> None:
    write(repo, "infra/dev.json", "[" * 100_000 + "]" * 100_000)
    run = reconcile(repo, "validate", "--env", "dev")
    run.assert_clean()
    assert run.code == 1 and "infra/dev.json" in run.out and "jsonDepth" in run.out
    write(repo, "vision-gitops.yaml", 'environments:\n  local: {endpoint: embedded, stateDir: "specs\\0"}\n')
    run = reconcile(repo, "plan")
    run.assert_clean()
    assert run.code == 1 and "environments.local.stateDir" in run.out


# --- 10. emulator request parsing -------------------------------------------------------------------------


ROUTES = [
    ("PUT", "datasets/fresh"), ("PATCH", "datasets/d"), ("PUT", "models/m"), ("PUT", "models/m/evaluations/e"),
    ("POST", "imageanalysis:analyze?model-name=m"),
]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_10_deep_and_oversized_bodies_get_4xx_and_the_emulator_keeps_answering(emulator: Any) -> None:
    headers = {"Ocp-Apim-Subscription-Key": TEST_KEY, "content-type": "application/json"}
    base = f"{emulator.endpoint}/computervision"
    log = _Records()  # uvicorn's loggers do not propagate to the root: listen to them directly
    for name in ("uvicorn", "uvicorn.error", ""):
        logging.getLogger(name).addHandler(log)
    try:
        _send_hostile_bodies(base, headers)
    finally:
        for name in ("uvicorn", "uvicorn.error", ""):
            logging.getLogger(name).removeHandler(log)
    assert not [r for r in log.records if r.exc_info or "Traceback" in r.getMessage()]


def _send_hostile_bodies(base: str, headers: dict[str, str]) -> None:
    with httpx.Client(headers=headers, timeout=30) as client:
        made = client.put(f"{base}/datasets/d?{API}", json={"annotationKind": "imageClassification",
                                                              "annotationFileUris": ["https://h/l.json"]})
        assert made.status_code == 201
        for method, path in ROUTES:
            sep = "&" if "?" in path else "?"
            deep = client.request(method, f"{base}/{path}{sep}{API}", content=b"[" * 1000 + b"]" * 1000)
            if path.startswith("models/m/"):  # the model does not exist: that is said first
                assert deep.status_code == 404, deep.text
                continue
            assert deep.status_code == 400 and "nested deeper" in deep.json()["error"]["message"], (path, deep.text)
        huge = client.put(f"{base}/datasets/big?{API}", content=json.dumps(
            {"annotationKind": "imageClassification", "annotationFileUris": ["https://h/" + "u" * (2 << 20)]}))
        assert huge.status_code == 413
        assert huge.json()["error"]["innererror"]["code"] == "PayloadTooLarge"
        props = client.put(f"{base}/datasets/props?{API}", content=json.dumps(
            {"annotationKind": "imageClassification", "annotationFileUris": ["https://h/l.json"],
             "customProperties": {"k": "v" * 5000}}))
        assert props.status_code == 400
        listing = client.get(f"{base}/datasets?{API}")
        assert listing.status_code == 200 and [d["name"] for d in listing.json()["value"]] == ["d"]


# --- 11. validate runs what plan runs locally ---------------------------------------------------------------


def test_11_what_plan_refuses_locally_validate_refuses_too(repo: Path, cli: Cli) -> None:
    cases = {
        dataset("[{file: data/l.coco.json, images: data/img}]", extra="customProperties: {vision-gitops.x: y}\n"):
            "keys starting with 'vision-gitops.' are reserved",
        dataset("[{file: data/l.coco.json}]"): "E_IMG_URL_MISSING",
    }
    for spec, says in cases.items():
        write(repo, "specs/all.yaml", spec)
        for command in ("validate", "plan"):
            run = cli(repo, command)
            run.assert_clean()
            assert run.code == 1, (command, run.out)
        assert says in cli(repo, "validate").out
    write(repo, "specs/all.yaml", dataset("[{file: data/l.coco.json, images: data/img}]"))
    for name in ("../../etc/passwd", "/etc/passwd"):
        doc = coco_seed()
        doc["images"][0]["file_name"] = name
        write(repo, "data/l.coco.json", json.dumps(doc))
        for command in ("validate", "plan"):
            run = cli(repo, command)
            assert run.code == 1 and f"image file_name '{name}'" in run.out, (command, run.out)
    doc = coco_seed()  # `images: .` is fine when the file names are relative to the root
    for im in doc["images"]:
        im["file_name"] = f"data/img/{im['file_name']}"
    write(repo, "data/l.coco.json", json.dumps(doc))
    write(repo, "specs/all.yaml", dataset("[{file: data/l.coco.json, images: .}]"))
    assert cli(repo, "validate").code == 0 and cli(repo, "plan").code == 2


# --- 12. the lock after a crash ------------------------------------------------------------------------------


def test_12_a_killed_runs_lock_hint_works_without_a_terminal(repo: Path, cli: Cli) -> None:
    from reconcile.errors import LockHeldError
    from reconcile.lock import lock_for
    from reconcile.lock.info import LockInfo
    from reconcile.specs.config import load_config

    crash = ("import os, signal; from pathlib import Path; from reconcile.lock import lock_for; "
             "from reconcile.lock.info import LockInfo; from reconcile.specs.config import load_config; "
             "lock_for(load_config(Path('vision-gitops.yaml'))).acquire(LockInfo(environment='local', who='ci@runner')); "
             "os.kill(os.getpid(), signal.SIGKILL)")
    assert run_python(["-c", crash], repo).code == -9
    with pytest.raises(LockHeldError) as held:
        lock_for(load_config(repo / "vision-gitops.yaml")).acquire(LockInfo(environment="local", who="next@runner"))
    assert "reconcile lock break --env local --yes" in (held.value.hint or "")
    run = cli(repo, "lock", "break", "--env", "local", "--yes")
    assert run.code == 0 and "broke the lock held by ci@runner" in run.out


def test_11_a_budget_under_the_minimum_for_local_training_data_fails_validate_as_plan(repo: Path, cli: Cli) -> None:
    png = (repo / "data/img/1.png").read_bytes()
    doc = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "a"}]}
    for i in range(1, 201):  # Generic-Detector needs 2 h for 200 images
        (repo / f"data/img/i{i}.png").write_bytes(png)
        doc["images"].append({"id": i, "width": 64, "height": 64, "file_name": f"i{i}.png"})
        doc["annotations"].append({"id": i, "image_id": i, "category_id": 1, "bbox": [0.1, 0.1, 0.5, 0.5]})
    write(repo, "data/l.coco.json", json.dumps(doc))
    write(repo, "specs/all.yaml", "kind: Dataset\nname: d1\nannotationKind: imageObjectDetection\n"
          "labels: [{file: data/l.coco.json, images: data/img}]\n---\nkind: Model\nname: m1\n"
          "modelKind: Generic-Detector\ntrainingDataset: d1\nbudgetHours: 1\n")
    for command in ("validate", "plan"):
        run = cli(repo, command)
        assert run.code == 1 and "specs/all.yaml:10: budgetHours: 1 h is under the minimum of 2 h" in run.out, run.out
