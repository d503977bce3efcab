"""load_specs: every class of bad spec gets one clear problem naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile.errors import ConfigError, SpecError
from reconcile.specs.loader import SourceRef, load_specs, parse_field_path
from reconcile.specs.models import DatasetSpec, EvaluationSpec, ModelSpec
from tests.specs.helpers import DATASETS, load, one_problem, problems, write

MODEL = """\
kind: Model
name: clf
modelKind: Generic-Classifier
trainingDataset: cls-train
testDataset: cls-test
budgetHours: 2
"""


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    write(tmp_path, "specs/datasets.yaml", DATASETS)
    return tmp_path


def test_valid_set_loads_across_files_with_sources(repo: Path) -> None:
    write(repo, "specs/models/clf.yaml", MODEL + "---\nkind: Evaluation\nname: holdout\nmodel: clf\ndataset: cls-test\n")
    specs = load(repo)
    assert sorted(specs.datasets) == ["cls-test", "cls-train", "det-train"]
    assert isinstance(specs.models["clf"], ModelSpec)
    assert isinstance(specs.datasets["cls-train"], DatasetSpec)
    assert list(specs.evaluations) == [("clf", "holdout")]
    assert isinstance(specs.evaluations[("clf", "holdout")], EvaluationSpec)
    assert specs.source("Model", "clf") == SourceRef(Path("specs/models/clf.yaml"), 1)
    assert specs.source("Model", "clf", "budgetHours").line == 6
    assert specs.source("Dataset", "cls-test", "labels[0].uri").line == 11
    assert str(specs.source("Evaluation", ("clf", "holdout"))) == "specs/models/clf.yaml:8"
    assert specs.files == (Path("specs/datasets.yaml"), Path("specs/models/clf.yaml"))
    assert len(specs) == 5
    with pytest.raises(KeyError):
        specs.source("Model", "nope")


def test_unknown_field_names_line_and_suggests(repo: Path) -> None:
    write(repo, "specs/m.yaml", MODEL.replace("budgetHours: 2", "budgetHours: 2\nbudgetHour: 3"))
    assert one_problem(repo) == "specs/m.yaml:7: budgetHour: unknown field 'budgetHour'; did you mean 'budgetHours'?"


def test_snake_case_key_is_rejected_with_the_camel_case_name(repo: Path) -> None:
    write(repo, "specs/m.yaml", MODEL.replace("budgetHours", "budget_hours"))
    found = problems(repo)
    assert "specs/m.yaml:6: budget_hours: unknown field 'budget_hours'; did you mean 'budgetHours'?" in found
    assert "specs/m.yaml:1: budgetHours: required field is missing; add it" in found


def test_unknown_nested_field(repo: Path) -> None:
    write(repo, "specs/d.yaml", "kind: Dataset\nname: x\nannotationKind: imageClassification\nlabels:\n  - uri: https://a/b.json\n    sha: abc\n")
    assert one_problem(repo).startswith("specs/d.yaml:6: labels[0].sha: unknown field 'sha'; did you mean 'sha256'?")


def test_bad_name(repo: Path) -> None:
    write(repo, "specs/m.yaml", MODEL.replace("name: clf", "name: -clf"))
    p = one_problem(repo)
    assert p.startswith("specs/m.yaml:2: name: a name starts with a letter or digit")


def test_name_too_long(repo: Path) -> None:
    write(repo, "specs/m.yaml", MODEL.replace("name: clf", "name: " + "a" * 256))
    assert one_problem(repo).startswith("specs/m.yaml:2: name: a name is at most 255 characters")


def test_unknown_kind_suggests(repo: Path) -> None:
    write(repo, "specs/m.yaml", MODEL.replace("kind: Model", "kind: model"))
    assert one_problem(repo) == "specs/m.yaml:1: kind: unknown kind 'model'; did you mean 'Model'?"


def test_missing_kind(repo: Path) -> None:
    write(repo, "specs/m.yaml", MODEL.replace("kind: Model\n", ""))
    assert one_problem(repo).startswith("specs/m.yaml:1: kind: missing or empty; start the document with 'kind:")


def test_wrong_model_kind_value(repo: Path) -> None:
    write(repo, "specs/m.yaml", MODEL.replace("Generic-Classifier", "GenericClassifier"))
    p = one_problem(repo)
    assert p.startswith("specs/m.yaml:3: modelKind: 'GenericClassifier' is not allowed; input should be 'Generic-Classifier'")


def test_missing_reference_suggests_closest_and_lists_known(repo: Path) -> None:
    write(repo, "specs/m.yaml", MODEL.replace("trainingDataset: cls-train", "trainingDataset: cls-trian"))
    p = one_problem(repo)
    assert p == (
        "specs/m.yaml:4: trainingDataset: no Dataset named 'cls-trian'; did you mean 'cls-train'? "
        "(known: cls-test, cls-train, det-train); define a Dataset spec with that name or fix the reference"
    )


def test_evaluation_missing_model(repo: Path) -> None:
    write(repo, "specs/e.yaml", "kind: Evaluation\nname: e\nmodel: nomodel\ndataset: cls-test\n")
    assert one_problem(repo).startswith("specs/e.yaml:3: model: no Model named 'nomodel' (none are defined)")


def test_duplicate_name_across_files_names_both(repo: Path) -> None:
    write(repo, "specs/more.yaml", "\n\nkind: Dataset\nname: cls-test\nannotationKind: imageClassification\nlabels: [{uri: https://a/b.json}]\n")
    assert one_problem(repo) == (
        "specs/more.yaml:4: name: Dataset 'cls-test' is already defined at specs/datasets.yaml:7; "
        "names must be unique, rename or remove one of them"
    )


def test_evaluation_names_are_unique_per_model_only(repo: Path) -> None:
    det = MODEL.replace("name: clf", "name: det").replace("Generic-Classifier", "Generic-Detector")
    det = det.replace("cls-train", "det-train").replace("testDataset: cls-test\n", "")
    evals = "kind: Evaluation\nname: holdout\nmodel: clf\ndataset: cls-test\n"
    write(repo, "specs/m.yaml", MODEL + "---\n" + det + "---\n" + evals + "---\n" + evals.replace("clf", "det").replace("cls-test", "det-train"))
    specs = load(repo)
    assert sorted(specs.evaluations) == [("clf", "holdout"), ("det", "holdout")]
    write(repo, "specs/again.yaml", evals)  # read first: files are read in sorted order
    assert one_problem(repo) == (
        "specs/m.yaml:15: name: Evaluation 'holdout' of model 'clf' is already defined at specs/again.yaml:1; "
        "names must be unique, rename or remove one of them"
    )


def test_budget_over_cap_per_api_version(repo: Path) -> None:
    write(repo, "specs/m.yaml", MODEL.replace("budgetHours: 2", "budgetHours: 300"))
    # 300 h is fine for a classifier on 04-01 (cap 336) ...
    load(repo, "2023-04-01-preview")
    # ... and over the 288 h cap of 02-01.
    assert one_problem(repo, "2023-02-01-preview") == (
        "specs/m.yaml:6: budgetHours: 300 h is over the 288 h maximum for Generic-Classifier on api-version "
        "2023-02-01-preview; use at most 288"
    )
    write(repo, "specs/m.yaml", MODEL.replace("budgetHours: 2", "budgetHours: 337"))
    assert one_problem(repo, "2023-04-01-preview").startswith("specs/m.yaml:6: budgetHours: 337 h is over the 336 h maximum")


def test_budget_below_one(repo: Path) -> None:
    write(repo, "specs/m.yaml", MODEL.replace("budgetHours: 2", "budgetHours: 0"))
    assert one_problem(repo) == "specs/m.yaml:6: budgetHours: Input should be greater than or equal to 1"


def test_product_recognizer_needs_04_01(repo: Path) -> None:
    pr = MODEL.replace("Generic-Classifier", "Product-Recognizer").replace("cls-train", "det-train")
    write(repo, "specs/m.yaml", pr.replace("testDataset: cls-test\n", ""))
    load(repo, "2023-04-01-preview")
    p = one_problem(repo, "2023-02-01-preview")
    assert p.startswith("specs/m.yaml:3: modelKind: Product-Recognizer is not available in api-version 2023-02-01-preview")
    assert "set apiVersion: 2023-04-01-preview in vision-gitops.yaml" in p


def test_model_kind_vs_dataset_kind(repo: Path) -> None:
    write(repo, "specs/m.yaml", MODEL.replace("Generic-Classifier", "Generic-Detector").replace("testDataset: cls-test\n", ""))
    assert one_problem(repo) == (
        "specs/m.yaml:4: trainingDataset: Generic-Detector needs an imageObjectDetection dataset, but 'cls-train' "
        "(specs/datasets.yaml:1) is imageClassification; reference an imageObjectDetection dataset, or use modelKind "
        "Generic-Classifier"
    )


def test_evaluation_dataset_kind_must_match_model(repo: Path) -> None:
    write(repo, "specs/m.yaml", MODEL + "---\nkind: Evaluation\nname: e\nmodel: clf\ndataset: det-train\n")
    assert one_problem(repo).startswith("specs/m.yaml:11: dataset: Generic-Classifier needs an imageClassification dataset")


def test_too_many_labels_and_custom_properties(repo: Path) -> None:
    labels = "".join(f"  - uri: https://a/{i}.json\n" for i in range(11))
    props = "".join(f"  k{i}: v\n" for i in range(11))
    write(repo, "specs/d.yaml", f"kind: Dataset\nname: big\nannotationKind: imageClassification\nlabels:\n{labels}customProperties:\n{props}")
    found = problems(repo)
    assert "specs/d.yaml:4: labels: List should have at most 10 items after validation, not 11" in found
    assert "specs/d.yaml:16: customProperties: at most 10 customProperties (got 11)" in found


def test_label_source_needs_exactly_one_of_uri_or_file(repo: Path) -> None:
    write(repo, "specs/d.yaml", "kind: Dataset\nname: x\nannotationKind: imageClassification\nlabels:\n  - images: data/img\n")
    assert one_problem(repo).startswith("specs/d.yaml:5: labels[0]: give exactly one of 'uri'")


def test_sas_token_in_uri_is_rejected(repo: Path) -> None:
    write(repo, "specs/d.yaml", "kind: Dataset\nname: x\nannotationKind: imageClassification\nlabels:\n  - uri: https://a.blob.core.windows.net/c/x.json?sv=2022&sig=abc\n")
    p = one_problem(repo)
    assert "carries a SAS token" in p and p.startswith("specs/d.yaml:5: labels[0]:")


def test_custom_property_value_must_be_text(repo: Path) -> None:
    write(repo, "specs/d.yaml", "kind: Dataset\nname: x\nannotationKind: imageClassification\nlabels: [{uri: https://a/b.json}]\ncustomProperties:\n  version: 3\n")
    assert one_problem(repo) == (
        "specs/d.yaml:6: customProperties.version: Input should be a valid string; put the value in quotes if it is meant as text"
    )


def test_yaml_syntax_error(repo: Path) -> None:
    write(repo, "specs/bad.yaml", "kind: Model\nname: x\n  budgetHours: 2\n")
    p = one_problem(repo)
    assert p.startswith("specs/bad.yaml:3: YAML syntax error: mapping values are not allowed in this context; check indentation")


def test_duplicate_yaml_key(repo: Path) -> None:
    write(repo, "specs/m.yaml", MODEL + "budgetHours: 3\n")
    assert one_problem(repo) == "specs/m.yaml:7: budgetHours: duplicate key (first at line 6); keep only one"


def test_top_level_list_and_empty_file(repo: Path) -> None:
    write(repo, "specs/list.yaml", "- kind: Model\n")
    write(repo, "specs/empty.yaml", "# nothing yet\n")
    found = problems(repo)
    assert found == [
        "specs/empty.yaml:1: the file is empty (no spec in it); add a spec or delete the file",
        "specs/list.yaml:1: a spec document must be a mapping of fields (key: value), not a list; "
        "check the indentation of this document",
    ]


def test_merge_keys_are_refused(repo: Path) -> None:
    write(repo, "specs/m.yaml", MODEL.replace("budgetHours: 2\n", "<<: {budgetHours: 1}\n"))
    found = problems(repo)
    assert "specs/m.yaml:6: merge keys ('<<') are not supported; write the fields out so reviewers see them" in found


def test_document_without_kind(repo: Path) -> None:
    write(repo, "specs/m.yaml", "base: &b {budgetHours: 1}\n---\n" + MODEL)
    assert one_problem(repo).startswith("specs/m.yaml:1: kind: missing or empty; start the document with 'kind: Dataset | Model | Evaluation | Deployment'")


def test_every_problem_in_every_file_is_reported(repo: Path) -> None:
    write(repo, "specs/a.yaml", MODEL.replace("budgetHours: 2", "budgetHours: 2000\nextra: 1").replace("cls-train", "nope"))
    write(repo, "specs/b.yaml", "kind: Model\n  : [\n")
    write(repo, "specs/c.yaml", "kind: Evaluation\nname: e\nmodel: clf\ndataset: missing\n")
    found = problems(repo)
    files = {p.split(":")[0] for p in found}
    assert files == {"specs/a.yaml", "specs/b.yaml", "specs/c.yaml"}
    assert any("a.yaml:7: extra: unknown field" in p for p in found)
    assert any("a.yaml:4: trainingDataset: no Dataset named 'nope'" in p for p in found)
    assert any("a.yaml:6: budgetHours: 2000 h is over" in p for p in found)
    assert any("c.yaml:4: dataset: no Dataset named 'missing'" in p for p in found)
    with pytest.raises(SpecError) as info:
        load(repo)
    text = str(info.value)
    assert text.startswith(f"{len(found)} problems in the specs")
    assert "hint: fix each line listed above" in text


def test_reference_to_an_invalid_spec_is_not_reported_twice(repo: Path) -> None:
    write(repo, "specs/m.yaml", MODEL.replace("budgetHours: 2", "budgetHours: two"))
    write(repo, "specs/e.yaml", "kind: Evaluation\nname: e\nmodel: clf\ndataset: cls-test\n")
    assert one_problem(repo).startswith("specs/m.yaml:6: budgetHours: Input should be a valid integer")


def test_local_label_files_must_exist_inside_the_repo(repo: Path) -> None:
    write(repo, "data/ok/train.json", "{}")
    (repo / "data/ok/images").mkdir()
    spec = "kind: Dataset\nname: local\nannotationKind: imageClassification\nlabels:\n  - file: {file}\n    images: {images}\n"
    write(repo, "specs/l.yaml", spec.format(file="data/ok/train.json", images="data/ok/images"))
    assert load(repo).datasets["local"].labels[0].file == "data/ok/train.json"

    write(repo, "specs/l.yaml", spec.format(file="data/ok/missing.json", images="data/ok/nope"))
    found = problems(repo)
    assert found[0].startswith("specs/l.yaml:5: labels[0].file: file 'data/ok/missing.json' not found (paths are relative to the repository root")
    assert found[1].startswith("specs/l.yaml:6: labels[0].images: folder 'data/ok/nope' not found")

    write(repo, "specs/l.yaml", spec.format(file="/etc/passwd", images="../outside"))
    found = problems(repo)
    assert found[0] == "specs/l.yaml:5: labels[0].file: '/etc/passwd' is absolute; write the path relative to the repository root"
    assert found[1] == "specs/l.yaml:6: labels[0].images: '../outside' points outside the repository (symlinks are followed); keep label files and images in the repository"

    write(repo, "specs/l.yaml", spec.format(file="data/ok/images", images="data/ok/train.json"))
    found = problems(repo)
    assert "'data/ok/images' is a folder; name a regular file" in found[0]
    assert "'data/ok/train.json' is a file, not a folder" in found[1]


def test_missing_specs_path_and_unknown_api_version(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_specs([Path("nowhere")], root=tmp_path, api_version="2023-04-01-preview")
    assert info.value.problems == ["nowhere: specs path not found; fix the 'specs' list in vision-gitops.yaml or create it"]
    with pytest.raises(ConfigError, match="unknown api-version '2022-01-01'"):
        load_specs([], root=tmp_path, api_version="2022-01-01")


def test_single_file_and_hidden_folders(repo: Path) -> None:
    write(repo, "specs/.drafts/broken.yaml", "this: is: broken\n")
    assert sorted(load(repo).datasets) == ["cls-test", "cls-train", "det-train"]
    specs = load_specs(repo / "specs/datasets.yaml", root=repo, api_version="2023-07-01-preview")
    assert specs.api_version == "2023-07-01-preview"
    assert len(specs.datasets) == 3


def test_parse_field_path() -> None:
    assert parse_field_path("labels[0].file") == ("labels", 0, "file")
    assert parse_field_path("budgetHours") == ("budgetHours",)
    assert parse_field_path("a[1][2].b") == ("a", 1, 2, "b")


def test_example_specs_load_and_budgets_clear_the_minimum() -> None:
    """The committed examples are valid on every api-version and budget above notEnoughBudget."""
    import json

    from reconcile.api import versions

    root = Path(__file__).resolve().parents[2]
    for api in ("2023-02-01-preview", "2023-04-01-preview", "2023-07-01-preview"):
        specs = load_specs(root / "specs", root=root, api_version=api)
    assert {m.model_kind for m in specs.models.values()} == {"Generic-Classifier", "Generic-Detector"}
    assert {m for m, _ in specs.evaluations} == set(specs.models)
    for model in specs.models.values():
        train = specs.datasets[model.training_dataset]
        images = sum(len(json.loads((root / lab.file).read_text())["images"]) for lab in train.labels if lab.file)
        assert versions.min_budget_hours(model.model_kind, images) <= model.budget_hours <= 2


@pytest.mark.parametrize(
    "text,expected",
    [
        ("a: &x [*x]\n", "specs/x.yaml:1: nesting deeper than 64 levels (a recursive alias?); flatten it"),
        ("kind: Model\n1: x\n", "specs/x.yaml:2: the key '1' is not text; quote it (\"1\":) or rename it"),
        ("kind: Model\x00\n", "specs/x.yaml:1: the file contains the control character '\\x00' (U+0000); remove it"),
        ("kind: !!python/object:os.system x\n", "specs/x.yaml:1: cannot read this value (could not determine a constructor"),
        ("kind: Model\n\tname: x\n", "specs/x.yaml:2: YAML syntax error: while scanning a plain scalar found a tab character"),
    ],
)
def test_hostile_yaml_gets_a_located_problem(repo: Path, text: str, expected: str) -> None:
    write(repo, "specs/x.yaml", text)
    assert any(p.startswith(expected) for p in problems(repo)), problems(repo)


def test_byte_order_mark_is_accepted(repo: Path) -> None:
    (repo / "specs/bom.yaml").write_text("\ufeff" + MODEL, encoding="utf-8")
    assert "clf" in load(repo).models


def test_dates_stay_text(repo: Path) -> None:
    write(repo, "specs/d.yaml", "kind: Dataset\nname: x\nannotationKind: imageClassification\nlabels: [{uri: https://a/b.json}]\ncustomProperties: {since: 2024-01-01}\n")
    assert load(repo).datasets["x"].custom_properties == {"since": "2024-01-01"}


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_yaml_ish = st.text(alphabet=st.sampled_from(list("kind:Model name-\n []{}&*!|>'\"#,?0123456789\t")), max_size=80)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_yaml_ish)
def test_any_text_gives_specset_or_spec_error(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    """Whatever the file holds, the loader answers with a SpecSet or a SpecError, never a traceback."""
    root = tmp_path_factory.mktemp("fuzz")
    write(root, "specs/f.yaml", "")
    (root / "specs/f.yaml").write_text(text, encoding="utf-8")
    try:
        load(root)
    except SpecError as exc:
        assert exc.problems and all(p.startswith("specs/f.yaml") for p in exc.problems)


def test_the_deployment_docs_table_names_every_field_and_metric() -> None:
    import re as _re

    from pydantic.alias_generators import to_camel

    from reconcile.specs.checks import GATE_METRICS
    from reconcile.specs.models import DeploymentSpec, GateEvaluation

    docs = (Path(__file__).resolve().parents[2] / "docs" / "specs.md").read_text()
    section = docs.split("## Deployment", 1)[1].split("\n## ", 1)[0]
    rows = set(_re.findall(r"^\| `([\w\[\].]+)` \|", section, _re.M))
    assert rows == {to_camel(f) for f in DeploymentSpec.model_fields} | {
        f"gate[].{to_camel(f)}" for f in GateEvaluation.model_fields}
    for metrics in GATE_METRICS.values():
        assert all(f"`{m}`" in section for m in metrics)


DEPLOYMENT = """\
kind: Deployment
name: clf-ep
model: clf
gate:
  - evaluation: holdout
    thresholds:
      accuracyTop1: 0.9
"""


@pytest.mark.parametrize("figure", ["1.5", "-0.1"])
def test_a_gate_threshold_outside_0_to_1_names_the_line(repo: Path, figure: str) -> None:
    """Every gate metric is a fraction: a threshold of 1.5 could never hold, -0.1 always would."""
    write(repo, "specs/m.yaml", MODEL + "---\nkind: Evaluation\nname: holdout\nmodel: clf\ndataset: cls-test\n")
    write(repo, "specs/d.yaml", DEPLOYMENT.replace("0.9", figure))
    problem = one_problem(repo)
    assert problem.startswith("specs/d.yaml:7: gate[0].thresholds.accuracyTop1: ") and "0 to 1" in problem, problem


def test_an_unknown_deployment_model_is_one_problem_not_one_per_gate(repo: Path) -> None:
    write(repo, "specs/m.yaml", MODEL + "---\nkind: Evaluation\nname: holdout\nmodel: clf\ndataset: cls-test\n")
    write(repo, "specs/d.yaml", DEPLOYMENT.replace("model: clf", "model: clff"))
    assert one_problem(repo).startswith("specs/d.yaml:3: model: no Model named 'clff'; did you mean 'clf'?")
