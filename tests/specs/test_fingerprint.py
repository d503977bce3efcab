"""spec_hash: deterministic, covers service fields only, ignores defaults and policy flags."""

from __future__ import annotations

from reconcile.specs.fingerprint import canonical_json, spec_hash
from reconcile.specs.models import DatasetSpec, ModelSpec

MODEL = {"kind": "Model", "name": "m", "modelKind": "Generic-Detector", "trainingDataset": "d", "budgetHours": 2}


def model(**changes: object) -> ModelSpec:
    return ModelSpec.model_validate({**MODEL, **changes})


def test_known_value_and_canonical_form() -> None:
    m = model()
    assert canonical_json(m) == (
        '{"budgetHours":2,"kind":"Model","modelKind":"Generic-Detector","name":"m","trainingDataset":"d"}'
    )
    # Pinned: a change here changes every fingerprint already recorded on live resources.
    assert spec_hash(m) == "dea178f431125e18b87f93fcbeda94cdfd13d7f984a4419f5ebcc74db62e053e"
    assert spec_hash(ModelSpec.model_validate(dict(reversed(list(MODEL.items()))))) == spec_hash(m)
    assert len(spec_hash(m)) == 64 and int(spec_hash(m), 16) >= 0


def test_policy_flags_and_defaults_do_not_change_the_hash() -> None:
    base = spec_hash(model())
    assert spec_hash(model(protect=True, allowReplace=True)) == base
    assert spec_hash(model(testDataset=None)) == base


def test_service_fields_change_the_hash() -> None:
    base = spec_hash(model())
    for change in ({"budgetHours": 3}, {"testDataset": "t"}, {"trainingDataset": "e"}, {"name": "n"}):
        assert spec_hash(model(**change)) != base, change


def test_dataset_hash_covers_labels_and_properties() -> None:
    d = {"kind": "Dataset", "name": "d", "annotationKind": "imageClassification", "labels": [{"uri": "https://a/b.json"}]}
    base = spec_hash(DatasetSpec.model_validate(d))
    assert spec_hash(DatasetSpec.model_validate({**d, "customProperties": {}})) == base
    assert spec_hash(DatasetSpec.model_validate({**d, "customProperties": {"a": "b"}})) != base
    assert spec_hash(DatasetSpec.model_validate({**d, "labels": [{"uri": "https://a/c.json"}]})) != base
