"""The GitOps flags through the real command line: exit codes, refusals, import, plan JSON, schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.emulator import classification_coco
from tests.fixtures.project import coco_file

ROOT = Path(__file__).resolve().parents[2]


def run(proj: Any, monkeypatch: Any, capsys: Any, *args: str) -> tuple[int, str]:
    from reconcile.cli import main

    monkeypatch.setenv("VISION_KEY", proj.emulator.key)
    monkeypatch.chdir(proj.root)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([*args, "--config", str(proj.root / "vision-gitops.yaml"), "--env", "test"])
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out + out.err


def _datasets(root: Path, n: int) -> list[dict]:
    uri = coco_file(root, "labels.json", classification_coco({"circle": 3, "square": 3}))
    return [{"kind": "Dataset", "name": f"ds-{i}", "annotationKind": "imageClassification", "labels": [{"uri": uri}]}
            for i in range(n)]


def test_exit_codes_drift_and_deletion_guardrail(project, monkeypatch, capsys) -> None:
    proj = project([], config={"guardrails": {"maxDeletions": 1}, "rateLimitTps": 1000})
    proj.write_specs(_datasets(proj.root, 3))
    assert run(proj, monkeypatch, capsys, "plan")[0] == 2
    assert run(proj, monkeypatch, capsys, "apply")[0] == 0
    assert run(proj, monkeypatch, capsys, "plan", "--detailed-exitcode")[0] == 0

    # Drift only (a property nobody declared, added in the service): not a change, but drift.
    with proj.session() as s:
        live = s.backend.get_dataset("ds-0")
        s.client.patch("datasets/ds-0", {"annotationKind": live.annotation_kind,
                                         "annotationFileUris": list(live.label_uris),
                                         "customProperties": {**live.custom_properties, "x": "y"}},
                       if_match=live.etag)
    assert run(proj, monkeypatch, capsys, "plan")[0] == 0
    code, out = run(proj, monkeypatch, capsys, "plan", "--detailed-exitcode")
    assert code == 2 and "changed-in-service" in out

    code, out = run(proj, monkeypatch, capsys, "plan", "--json", "--detailed-exitcode")
    doc = json.loads(out)
    assert code == 2 and doc["formatVersion"] == "2.3" and doc["deep"] is False
    assert [d["kind"] for c in doc["changes"] for d in c["drift"]] == ["changed-in-service"]
    # --deep (the drift workflow's plan): the first service reads whole datasets either way
    code, out = run(proj, monkeypatch, capsys, "plan", "--json", "--deep", "--detailed-exitcode")
    assert code == 2 and json.loads(out)["deep"] is True

    # Two specs removed: over maxDeletions -> refused (exit 1, nothing deleted) until confirmed.
    proj.write_specs(_datasets(proj.root, 1))
    code, out = run(proj, monkeypatch, capsys, "plan", "--prune")
    assert code == 2 and "max-deletions" in out and "--confirm-deletions 2" in out
    code, out = run(proj, monkeypatch, capsys, "apply", "--prune")
    assert code == 1 and "--confirm-deletions 2" in out
    assert run(proj, monkeypatch, capsys, "apply", "--prune", "--confirm-deletions", "1")[0] == 1
    with proj.session() as s:
        assert len(s.backend.observe().datasets) == 3
    code, out = run(proj, monkeypatch, capsys, "apply", "--prune", "--confirm-deletions", "2")
    assert code == 0 and "2 deleted" in out, out
    assert run(proj, monkeypatch, capsys, "plan", "--prune", "--detailed-exitcode")[0] == 0


def test_cost_refusal_and_approval(project, monkeypatch, capsys) -> None:
    proj = project([], config={"guardrails": {"maxBudgetHoursPerApply": 2}, "rateLimitTps": 1000})
    docs = _datasets(proj.root, 1) + [
        {"kind": "Model", "name": f"m{i}", "modelKind": "Generic-Classifier", "trainingDataset": "ds-0",
         "budgetHours": 2} for i in range(2)]
    proj.write_specs(docs)
    code, out = run(proj, monkeypatch, capsys, "plan")
    assert code == 2 and "max-budget-hours-per-apply" in out and "--approve-cost" in out
    proj.emulator.request_log.clear()
    code, out = run(proj, monkeypatch, capsys, "apply")
    assert code == 1 and "per-apply cap of 2 h" in out
    assert [r for r in proj.emulator.request_log if r.method != "GET"] == []
    code, out = run(proj, monkeypatch, capsys, "apply", "--approve-cost")
    assert code == 3  # training submitted and still running
    assert run(proj, monkeypatch, capsys, "plan")[0] == 0


def test_import_command(project, monkeypatch, capsys) -> None:
    proj = project([], config={"rateLimitTps": 1000})
    proj.write_specs(_datasets(proj.root, 1))
    run(proj, monkeypatch, capsys, "apply")
    uri = coco_file(proj.root, "old.json", classification_coco({"a": 2, "b": 2}))
    with proj.session() as s:
        s.client.put("datasets/old", {"annotationKind": "imageClassification", "annotationFileUris": [uri]})
    code, out = run(proj, monkeypatch, capsys, "import", "--protect")
    assert code == 0 and "imported dataset/old" in out
    doc = yaml.safe_load((proj.root / "specs" / "imported.yaml").read_text())
    assert doc == {"kind": "Dataset", "name": "old", "annotationKind": "imageClassification",
                   "labels": [{"uri": uri}], "protect": True}
    code, out = run(proj, monkeypatch, capsys, "import")
    assert code == 2 and "nothing to import" in out
    assert run(proj, monkeypatch, capsys, "apply")[0] == 0  # adds the marker to the adopted dataset
    assert run(proj, monkeypatch, capsys, "plan", "--detailed-exitcode")[0] == 0
    code, out = run(proj, monkeypatch, capsys, "import", "--out", "elsewhere/x.yaml", "dataset/none")
    assert code == 2 and "not inside the spec paths" in out


def test_a_spec_named_live_resource_we_do_not_own_is_a_conflict_until_imported(project, monkeypatch,
                                                                              capsys) -> None:
    """Created directly on the service under a name a spec uses: never silently taken over."""
    proj = project([], config={"rateLimitTps": 1000})
    spec = _datasets(proj.root, 1)[0]
    uri = spec["labels"][0]["uri"]
    with proj.session() as s:  # someone else's dataset, same name
        s.client.put("datasets/ds-0", {"annotationKind": "imageClassification", "annotationFileUris": [uri],
                                       "customProperties": {"owner": "alice"}})
    proj.write_specs([{**spec, "customProperties": {"team": "vision"}}])
    code, out = run(proj, monkeypatch, capsys, "plan", "--out", "p.json")
    assert code == 2
    assert "dataset/ds-0 exists and is not managed" in out
    assert "exists and is not managed: `reconcile import` it or rename the spec" in out

    proj.emulator.request_log.clear()
    for args in (("apply", "p.json"), ("apply",)):
        code, out = run(proj, monkeypatch, capsys, *args)
        assert code == 1 and "does not own: dataset/ds-0" in out and "Traceback" not in out
    assert [r for r in proj.emulator.request_log if r.method != "GET"] == []

    code, out = run(proj, monkeypatch, capsys, "import", "dataset/ds-0")
    assert code == 0 and "imported dataset/ds-0" in out
    assert not (proj.root / "specs" / "imported.yaml").exists()  # its spec exists already
    code, out = run(proj, monkeypatch, capsys, "plan")
    assert code == 2 and "dataset/ds-0 will be updated in place" in out
    assert run(proj, monkeypatch, capsys, "apply")[0] == 0
    assert run(proj, monkeypatch, capsys, "plan", "--detailed-exitcode")[0] == 0
    with proj.session() as s:
        props = s.backend.get_dataset("ds-0").custom_properties
    assert props["team"] == "vision" and props["owner"] == "alice"  # other owners' keys are kept


def test_plan_schema_is_current_and_written_by_schema_command(tmp_path, capsys) -> None:
    from reconcile.cli import main
    from reconcile.cli.core import plan_schema_text

    assert (ROOT / "schemas" / "plan.schema.json").read_text() == plan_schema_text(), (
        "schemas/plan.schema.json is stale: run `reconcile schema`")
    with pytest.raises(SystemExit) as exc:
        main(["schema", "--out", str(tmp_path)])
    assert not exc.value.code
    assert (tmp_path / "plan.schema.json").read_text() == plan_schema_text()
    schema = json.loads(plan_schema_text())
    assert "delete" in json.dumps(schema) and "stale-model" in json.dumps(schema)


def test_saved_prune_plan_is_applied_as_reviewed(project, monkeypatch, capsys, tmp_path) -> None:
    proj = project([], config={"rateLimitTps": 1000})
    proj.write_specs(_datasets(proj.root, 2))
    run(proj, monkeypatch, capsys, "apply")
    proj.write_specs(_datasets(proj.root, 1))
    saved = tmp_path / "plan.json"
    code, _ = run(proj, monkeypatch, capsys, "plan", "--prune", "--out", str(saved), "--markdown",
                  str(tmp_path / "plan.md"))
    assert code == 2
    doc = json.loads(saved.read_text())
    assert doc["prune"] is True and [c["address"] for c in doc["changes"] if c["action"] == "delete"] == ["dataset/ds-1"]
    assert "will be deleted" in (tmp_path / "plan.md").read_text()
    code, out = run(proj, monkeypatch, capsys, "apply", str(saved))
    assert code == 0 and "1 deleted" in out
    assert run(proj, monkeypatch, capsys, "plan", "--prune", "--detailed-exitcode")[0] == 0
