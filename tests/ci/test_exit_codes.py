"""Run the workflows' own plan/apply scripts against a stand-in `reconcile` that exits with a chosen code.

This checks what the YAML cannot show: that exit code 2 (changes) and 3 (training
still running) pass, that real errors fail the job, and that the code reaches
$GITHUB_OUTPUT unmangled. Scripts run as GitHub runs `shell: bash` steps.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.ci.workflows import all_workflows, steps

WF = all_workflows()
BASH = shutil.which("bash")

FAKE_RECONCILE = """#!/usr/bin/env bash
# Stand-in for the reconcile CLI: record the call, write the requested files, exit $FAKE_CODE.
echo "$@" >> "$CALLS"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) printf '{"format_version": 1}' > "$2"; shift ;;
    --markdown) printf '### plan\\n' > "$2"; shift ;;
  esac
  shift
done
exit "$FAKE_CODE"
"""

# (workflow, step id) -> {reconcile exit code: expected step exit code}
EXPECTED = {
    ("plan.yml", "plan"): {0: 0, 2: 0, 1: 0},  # a plan error fails the job in a later step, after the comment
    ("apply-environment.yml", "plan"): {0: 0, 2: 0, 1: 1},
    ("apply-environment.yml", "apply"): {0: 0, 3: 0, 1: 1, 2: 2},
    ("drift.yml", "drift"): {0: 0, 2: 0, 1: 0},  # likewise: the issue step is skipped, the last step fails
}


def _script(workflow: str, step_id: str) -> str:
    return next(s.step["run"] for s in steps(WF) if s.workflow == workflow and s.step.get("id") == step_id)


def _run(script: str, tmp_path: Path, code: int) -> tuple[subprocess.CompletedProcess[str], str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "reconcile"
    fake.write_text(FAKE_RECONCILE)
    fake.chmod(0o755)
    out, summary, calls = tmp_path / "output", tmp_path / "summary", tmp_path / "calls"
    for f in (out, summary, calls):
        f.write_text("")
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_CODE": str(code), "CALLS": str(calls), "ENV_NAME": "dev", "PLAN_FILE": "plan.json",
        "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary),
    }
    proc = subprocess.run([BASH, "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
    return proc, out.read_text(), calls.read_text()


@pytest.mark.parametrize(("workflow", "step_id", "code"),
                         [(w, s, c) for (w, s), codes in EXPECTED.items() for c in codes])
def test_step_exit_code(workflow: str, step_id: str, code: int, tmp_path: Path) -> None:
    proc, output, calls = _run(_script(workflow, step_id), tmp_path, code)
    assert proc.returncode == EXPECTED[(workflow, step_id)][code], proc.stdout + proc.stderr
    assert f"exit-code={code}\n" in output
    assert calls.count("\n") == 1 and "--env dev" in calls
    if code not in (0, 2, 3):
        assert "::error" in proc.stdout


def test_training_still_running_is_a_notice_and_a_stale_plan_says_replan(tmp_path: Path) -> None:
    running, _, calls = _run(_script("apply-environment.yml", "apply"), tmp_path, 3)
    assert "::notice" in running.stdout and "training" in running.stdout
    assert calls.strip() == "apply plan.json --env dev --lock-timeout 600"
    failed, _, _ = _run(_script("apply-environment.yml", "apply"), tmp_path, 1)
    assert "re-plan" in failed.stdout and "workflow_dispatch" in failed.stdout


@pytest.mark.parametrize(("workflow", "name"), [("plan.yml", "Fail if the plan failed"),
                                                ("drift.yml", "Fail if the drift check failed")])
def test_the_last_step_fails_the_job_after_an_error(workflow: str, name: str, tmp_path: Path) -> None:
    step = next(s.step for s in steps(WF) if s.workflow == workflow and s.step.get("name") == name)
    step_id = "plan" if workflow == "plan.yml" else "drift"
    assert step["if"] == (f"always() && steps.{step_id}.outputs.exit-code != '0' "
                          f"&& steps.{step_id}.outputs.exit-code != '2'")
    proc, _, _ = _run(step["run"], tmp_path, 0)
    assert proc.returncode == 1
