"""The committed JSON Schemas are current, and the example files validate against them."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from reconcile.specs.schema import CONFIG_SCHEMA, SPECS_SCHEMA, render_schemas, write_schemas

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schemas_are_current() -> None:
    for name, text in render_schemas().items():
        committed = (ROOT / "schemas" / name).read_text(encoding="utf-8")
        assert committed == text, f"schemas/{name} is stale: run `reconcile schema` (or write_schemas) and commit it"


def test_write_schemas(tmp_path: Path) -> None:
    written = write_schemas(tmp_path / "out")
    assert sorted(p.name for p in written) == sorted([SPECS_SCHEMA, CONFIG_SCHEMA])
    for p in written:
        jsonschema.Draft202012Validator.check_schema(json.loads(p.read_text()))


def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((ROOT / "schemas" / name).read_text()))


def test_examples_reference_and_satisfy_the_schemas() -> None:
    specs = _validator(SPECS_SCHEMA)
    files = sorted((ROOT / "specs").glob("*.yaml"))
    assert files
    for f in files:
        text = f.read_text()
        assert text.startswith("# yaml-language-server: $schema=../schemas/specs.schema.json\n"), f
        for doc in yaml.safe_load_all(text):
            specs.validate(doc)
    config = (ROOT / "vision-gitops.yaml").read_text()
    assert config.startswith("# yaml-language-server: $schema=schemas/config.schema.json\n")
    _validator(CONFIG_SCHEMA).validate(yaml.safe_load(config))


def test_schema_rejects_what_the_loader_rejects() -> None:
    specs = _validator(SPECS_SCHEMA)
    good = {"kind": "Model", "name": "m", "modelKind": "Generic-Detector", "trainingDataset": "d", "budgetHours": 1}
    specs.validate(good)
    for bad in (
        {**good, "name": "-m"},
        {**good, "budgetHours": 0},
        {**good, "modelKind": "GenericDetector"},
        {**good, "extra": 1},
        {**good, "kind": "Thing"},
        {"kind": "Dataset", "name": "d", "annotationKind": "imageClassification", "labels": [],},
        {
            "kind": "Dataset",
            "name": "d",
            "annotationKind": "imageClassification",
            "labels": [{"uri": "https://a/b.json"}],
            "customProperties": {f"k{i}": "v" for i in range(11)},
        },
    ):
        assert not specs.is_valid(bad), bad


def test_schema_rejects_what_the_loader_rejects_in_a_deployment() -> None:
    specs = _validator(SPECS_SCHEMA)
    good = {"kind": "Deployment", "name": "shapes-ep", "model": "m",
            "gate": [{"evaluation": "holdout", "thresholds": {"accuracyTop1": 0.9}}], "rollout": {"steps": [10, 100]}}
    specs.validate(good)
    for bad in (
        {**good, "name": "1-ep"},
        {**good, "name": "shapes_ep"},
        {**good, "name": "ep-"},
        {**good, "rollout": {"steps": [0, 100]}},
        {**good, "rollout": {"steps": [150]}},
        {**good, "gate": [{"evaluation": "holdout", "thresholds": {"accuracyTop1": 90}}]},
        {**good, "instanceCount": 0},
    ):
        assert not specs.is_valid(bad), bad
