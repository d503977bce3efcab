"""`reconcile demo --env local-azureml` ends with a deployed model that `reconcile predict` calls."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from reconcile.cli import main

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.azurite  # the embedded Azure ML environment starts Azurite from node_modules


def test_the_azureml_demo_deploys_the_classifier_and_predicts_through_it(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("vision-gitops.yaml", "specs", "specs-azureml", "data"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VISION_GITOPS_ENV", raising=False)
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--env", "local-azureml", "--config", "vision-gitops.yaml"])
        raise SystemExit(0)
    out = capsys.readouterr().out
    assert exc.value.code in (0, None), out[-3000:]
    assert "gate: PASS for shapes-classifier:" in out
    assert "reconcile predict (through the deployment)" in out
    predicted = out.split("reconcile predict (through the deployment)", 1)[1]
    assert "model shapes-classifier on a 64x64 image" in predicted and "circle" in predicted
