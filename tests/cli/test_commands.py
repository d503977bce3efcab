"""The command line as a user meets it: exit codes, messages without tracebacks, saved plans, redaction."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reconcile.cli import main
from tests.fixtures.emulator import classification_coco
from tests.fixtures.project import coco_file


def run(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
        raise SystemExit(0)
    out, err = capsys.readouterr()
    code = exc.value.code if isinstance(exc.value.code, int) else (0 if exc.value.code is None else 1)
    return code, out, err


@pytest.fixture
def proj(project, monkeypatch, emulator):
    p = project([])
    train = coco_file(p.root, "train.json", classification_coco({"circle": 4, "square": 4}))
    p.write_specs([
        {"kind": "Dataset", "name": "d1", "annotationKind": "imageClassification", "labels": [{"uri": train}]},
        {"kind": "Model", "name": "m1", "modelKind": "Generic-Classifier", "trainingDataset": "d1", "budgetHours": 1},
    ])
    monkeypatch.setenv("VISION_KEY", emulator.key)
    monkeypatch.chdir(p.root)
    return p


def test_plan_exit_codes_and_saved_plan_apply(proj, capsys, tmp_path) -> None:
    code, out, _ = run(["plan", "--out", "plan.json", "--markdown", "plan.md"], capsys)
    assert code == 2, out
    assert "dataset/d1 will be created" in out and "Plan: 2 to create" in out
    doc = json.loads(Path("plan.json").read_text())
    assert doc["formatVersion"].startswith("2.") and doc["summary"]["create"] == 2
    assert "| `+` | `dataset/d1` | create |" in Path("plan.md").read_text()

    code, out, err = run(["apply", "plan.json"], capsys)
    assert code == 3, out + err  # training submitted and still running
    assert "still running" in out

    code, out, _ = run(["plan"], capsys)
    assert code == 0 and "No changes" in out

    # The saved plan is now stale (everything it would create exists): refused, nothing written.
    code, out, err = run(["apply", "plan.json"], capsys)
    assert code == 1 and "changed since this plan was made" in err and "Traceback" not in err


def test_json_plan_is_the_documented_document(proj, capsys) -> None:
    code, out, _ = run(["plan", "--json"], capsys)
    assert code == 2
    doc = json.loads(out)
    assert {c["address"] for c in doc["changes"]} == {"dataset/d1", "model/m1"}
    model = next(c for c in doc["changes"] if c["kind"] == "Model")
    assert model["desired"] == {"kind": "Model", "name": "m1", "modelKind": "Generic-Classifier",
                                "trainingDataset": "d1", "budgetHours": 1, "testDataset": None}
    assert model["trainingHours"] == 1 and model["reasonCode"] == "does-not-exist"
    # Service-neutral: no request body of the service's API in the plan.
    assert "trainingParameters" not in out and "annotationFileUris" not in out


def test_bad_spec_is_a_clear_error_with_file_and_line(proj, capsys) -> None:
    (proj.root / "specs" / "bad.yaml").write_text("kind: Model\nname: m2\nmodelKind: Generic-Classifier\n"
                                                 "trainingDataset: nope\nbudgetHours: 1\nextra: 1\n")
    code, _, err = run(["plan"], capsys)
    assert code == 1
    assert "bad.yaml:6" in err and "extra" in err
    assert "bad.yaml:4" in err and "nope" in err
    assert "Traceback" not in err


def test_missing_key_names_the_variable_and_never_prints_secrets(proj, capsys, monkeypatch, emulator) -> None:
    monkeypatch.delenv("VISION_KEY")
    code, _, err = run(["plan"], capsys)
    assert code == 1 and "VISION_KEY" in err
    monkeypatch.setenv("VISION_KEY", emulator.key)
    code, out, err = run(["plan", "--json", "--out", "p.json"], capsys)
    assert code == 2
    for text in (out, err, Path("p.json").read_text()):
        assert emulator.key not in text


def test_usage_errors_exit_2(proj, capsys) -> None:
    code, _, err = run(["plan", "--no-such-flag"], capsys)
    assert code == 2 and "no-such-flag" in err
    code, _, err = run(["apply", "missing-plan.json"], capsys)
    assert code == 2 and "no such plan file" in err


def test_wrong_key_is_an_auth_error_with_a_hint(proj, capsys, monkeypatch) -> None:
    monkeypatch.setenv("VISION_KEY", "wrong-key")
    code, _, err = run(["plan"], capsys)
    assert code == 1 and "401" in err and "wrong-key" not in err and "Traceback" not in err


def test_help_lists_every_command_without_heavy_imports() -> None:
    probe = ("import sys; from reconcile.cli import main\n"
             "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
             "('pulumi', 'azure', 'numpy', 'httpx', 'starlette', 'uvicorn', 'msgspec', 'pydantic', 'rich'))\n"
             "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    for command in ("apply", "plan", "status", "validate", "predict", "wait", "coco", "emulator", "lock", "demo"):
        assert f"  {command} " in out
    assert "HEAVY []" in out


def test_status_and_predict_after_training(proj, capsys, emulator) -> None:
    code, _, _ = run(["apply"], capsys)
    assert code == 3
    emulator.clock.advance(24 * 3600)  # let the emulated training finish
    code, out, _ = run(["status", "--json"], capsys)
    assert code == 0
    doc = json.loads(out)
    model = doc["models"][0]
    assert model["name"] == "m1" and model["status"] == "succeeded" and model["managed"] is True
    assert 0 < model["trainingCostInMinutes"] <= 60 and "accuracyTop1" in model["metrics"]
    assert doc["datasets"][0]["managed"] is True

    image = Path("img.png")
    from tests.fixtures.emulator import png_bytes

    image.write_bytes(png_bytes(80, 60))
    code, out, _ = run(["predict", "m1", str(image), "--json"], capsys)
    assert code == 0
    pred = json.loads(out)
    assert (pred["width"], pred["height"]) == (80, 60)
    assert {t["name"] for t in pred["tags"]} == {"circle", "square"}
    code, out, _ = run(["predict", "m1", str(image)], capsys)
    assert code == 0 and "circle" in out and "80x60" in out


def test_a_deployment_spec_on_the_first_service_is_a_validation_error(proj, capsys) -> None:
    proj.write_specs([
        {"kind": "Dataset", "name": "d1", "annotationKind": "imageClassification",
         "labels": [{"uri": "https://x.blob.core.windows.net/c/t.json"}]},
        {"kind": "Model", "name": "m1", "modelKind": "Generic-Classifier", "trainingDataset": "d1", "budgetHours": 1},
        {"kind": "Deployment", "name": "m1-endpoint", "model": "m1"},
    ])
    code, out, err = run(["validate"], capsys)
    assert code == 1
    text = out + err
    assert "no deployment resource" in text and "analyze with a model name" in text
    assert ".yaml:" in text  # file:line
