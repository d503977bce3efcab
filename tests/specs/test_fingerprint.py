"""spec_hash: the same digest for the same service fields -- across key order, objects, processes and
hash seeds -- a different one when any service field changes, none when only policy flags or defaults do."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reconcile.specs.fingerprint import canonical_json, spec_hash
from reconcile.specs.models import POLICY_FIELDS, DatasetSpec, EvaluationSpec, ModelSpec

ROOT = Path(__file__).resolve().parents[2]
MODEL = {"kind": "Model", "name": "m", "modelKind": "Generic-Detector", "trainingDataset": "d", "budgetHours": 2}
DATASET = {"kind": "Dataset", "name": "d", "annotationKind": "imageClassification", "labels": [{"uri": "https://a/b.json"}]}
EVALUATION = {"kind": "Evaluation", "name": "e", "model": "m", "dataset": "d"}


def model(**changes: object) -> ModelSpec:
    return ModelSpec.model_validate({**MODEL, **changes})


def test_the_digest_is_pinned_and_is_the_sha256_of_the_canonical_json() -> None:
    m = model()
    assert canonical_json(m) == (
        '{"budgetHours":2,"kind":"Model","modelKind":"Generic-Detector","name":"m","trainingDataset":"d"}'
    )
    # Pinned: a change here changes every fingerprint already recorded on live resources.
    assert spec_hash(m) == "dea178f431125e18b87f93fcbeda94cdfd13d7f984a4419f5ebcc74db62e053e"
    assert spec_hash(m) == hashlib.sha256(canonical_json(m).encode()).hexdigest()
    assert spec_hash(ModelSpec.model_validate(dict(reversed(list(MODEL.items()))))) == spec_hash(m)


def test_the_digest_is_the_same_in_another_process_with_another_hash_seed() -> None:
    code = (
        "import json, sys; from reconcile.specs.fingerprint import spec_hash; from reconcile.specs.models import "
        "DatasetSpec; print(spec_hash(DatasetSpec.model_validate(json.loads(sys.argv[1]))))"
    )
    spec = {**DATASET, "customProperties": {k: "é" for k in "zyxwvuts"}}
    here = spec_hash(DatasetSpec.model_validate(spec))
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        out = subprocess.run([sys.executable, "-c", code, json.dumps(spec)], capture_output=True, text=True,
                             check=True, env=env, timeout=60).stdout.strip()
        assert out == here


def test_a_cached_digest_never_answers_for_another_spec() -> None:
    """The cache is keyed by object id; ids are reused once a spec is freed."""
    for budget in range(1, 200):
        spec = model(budgetHours=budget)
        assert spec_hash(spec) == spec_hash(model(budgetHours=budget))
        assert spec_hash(spec) != spec_hash(model(budgetHours=budget + 1))
        del spec
        gc.collect(0)


@pytest.mark.parametrize("flag", sorted(POLICY_FIELDS))
def test_policy_flags_do_not_change_the_hash(flag: str) -> None:
    camel = {"protect": "protect", "allow_replace": "allowReplace"}.get(flag, flag)
    for spec_type, base in ((ModelSpec, MODEL), (DatasetSpec, DATASET), (EvaluationSpec, EVALUATION)):
        if flag not in spec_type.model_fields:
            continue  # datasets are never replaced
        assert spec_hash(spec_type.model_validate({**base, camel: True})) == spec_hash(spec_type.model_validate(base))


def test_defaults_written_out_do_not_change_the_hash() -> None:
    assert spec_hash(model(testDataset=None)) == spec_hash(model())
    assert spec_hash(DatasetSpec.model_validate({**DATASET, "customProperties": {}})) == spec_hash(
        DatasetSpec.model_validate(DATASET))


@pytest.mark.parametrize(("spec_type", "base", "change"), [
    (ModelSpec, MODEL, {"budgetHours": 3}),
    (ModelSpec, MODEL, {"testDataset": "t"}),
    (ModelSpec, MODEL, {"trainingDataset": "e"}),
    (ModelSpec, MODEL, {"modelKind": "Generic-Classifier"}),
    (ModelSpec, MODEL, {"name": "n"}),
    (DatasetSpec, DATASET, {"customProperties": {"a": "b"}}),
    (DatasetSpec, DATASET, {"labels": [{"uri": "https://a/c.json"}]}),
    (DatasetSpec, DATASET, {"labels": [{"uri": "https://a/b.json", "sha256": "0" * 64}]}),
    (DatasetSpec, DATASET, {"annotationKind": "imageObjectDetection"}),
    (EvaluationSpec, EVALUATION, {"dataset": "other"}),
    (EvaluationSpec, EVALUATION, {"model": "other"}),
    (EvaluationSpec, EVALUATION, {"name": "f"}),
])
def test_every_service_field_changes_the_hash(spec_type: type, base: dict, change: dict) -> None:
    assert spec_hash(spec_type.model_validate({**base, **change})) != spec_hash(spec_type.model_validate(base))


def test_kinds_never_collide_on_equal_fields() -> None:
    hashes = {spec_hash(ModelSpec.model_validate(MODEL)), spec_hash(DatasetSpec.model_validate(DATASET)),
              spec_hash(EvaluationSpec.model_validate(EVALUATION))}
    assert len(hashes) == 3
    assert '"kind":"Evaluation"' in canonical_json(EvaluationSpec.model_validate(EVALUATION))
