"""The built-in local-azureml environment: the bundled Azure ML emulator and Azurite, no account."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from reconcile.session import open_session
from reconcile.specs.config import load_config
from reconcile.workflow import load_desired, make_plan, run_apply
from tests.backends.azureml.test_workflow import ROOT, SPECS

pytestmark = pytest.mark.azurite  # emulator datastore on Azurite


def test_local_azureml_plans_applies_and_keeps_its_state_between_sessions(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "data" / "shapes" / "classification", tmp_path / "data" / "shapes" / "classification")
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "all.yaml").write_text(yaml.safe_dump_all(SPECS))
    (tmp_path / "vision-gitops.yaml").write_text("defaultEnvironment: local-azureml\nspecs: [specs]\n")
    config = load_config(tmp_path / "vision-gitops.yaml", env={})
    assert config.name == "local-azureml" and config.service == "azureml" and config.is_embedded
    with open_session(config) as session:
        assert session.display_endpoint == "embedded"
        plan = make_plan(session, load_desired(config))
        assert [c.action for c in plan.changes] == ["create", "create", "create"]
        result = run_apply(session, plan)
        assert result.exit_code == 3, result.failed
    with open_session(config) as session:  # a later command: Azurite's and the emulator's state persist
        live = session.backend.observe()
        assert set(live.datasets) == {"cls-train", "cls-test"} and set(live.models) == {"clf"}
        again = make_plan(session, load_desired(config))
        assert [c.address for c in again.changes if c.action != "no-op"] == []
