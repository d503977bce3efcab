"""The GitHub Actions workflows: schema, triggers, OIDC, concurrency, secrets, pinning, exit codes.

actionlint could not be installed here (its PyPI package builds by downloading a
binary from GitHub), so the workflows are checked against our own JSON Schema of
the workflow syntax we use, plus the structural rules below.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from reconcile.ci.pr_comment import marker
from tests.ci.workflows import WORKFLOWS, all_workflows, commands, logical_lines, steps

SCHEMA = json.loads((Path(__file__).parent / "workflow.schema.json").read_text())
WF = all_workflows()
ENVIRONMENTS = {"dev", "prod"}


def test_the_expected_workflows_exist() -> None:
    assert set(WF) == {"plan.yml", "apply.yml", "apply-environment.yml", "drift.yml"}


@pytest.mark.parametrize("name", sorted(WF))
def test_schema(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(WF[name]), key=lambda e: e.path)
    assert not errors, "\n".join(f"{name}: {'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_schema_rejects_typos() -> None:
    bad = json.loads(json.dumps(WF["drift.yml"]))
    bad["jobs"]["drift"]["concurrency"] = {"group": "x", "cancel_in_progress": False}
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(bad))


def test_triggers() -> None:
    assert WF["plan.yml"]["on"] == {"pull_request": {"branches": ["main"]}}
    assert WF["apply.yml"]["on"]["push"] == {"branches": ["main"]}
    assert "workflow_dispatch" in WF["apply.yml"]["on"]
    drift = WF["drift.yml"]["on"]
    assert drift["schedule"][0]["cron"] and "workflow_dispatch" in drift
    assert set(WF["apply-environment.yml"]["on"]) == {"workflow_call"}


def _grants_id_token(perms: object) -> bool:
    return perms == "write-all" or (isinstance(perms, dict) and perms.get("id-token") == "write")


def test_every_azure_login_job_can_get_an_oidc_token_and_uses_variables() -> None:
    logins = [s for s in steps(WF) if str(s.step.get("uses", "")).startswith("azure/login@")]
    assert {s.workflow for s in logins} == {"plan.yml", "apply-environment.yml", "drift.yml"}
    for s in logins:
        wf, job = WF[s.workflow], WF[s.workflow]["jobs"][s.job]
        assert _grants_id_token(job.get("permissions", wf["permissions"])), s.label
        for key in ("client-id", "tenant-id", "subscription-id"):
            value = s.step["with"][key]
            assert re.fullmatch(r"\$\{\{ vars\[format\('AZURE_[A-Z_]+_\{0\}', [a-z.-]+\)\] \|\| vars\.AZURE_[A-Z_]+ \}\}", value), (s.label, value)
        earlier = WF[s.workflow]["jobs"][s.job]["steps"][: s.index]
        assert any("::add-mask::" in st.get("run", "") for st in earlier), f"{s.label}: mask before login"
        # The next step obtains the token of the environment's service (management scope for azureml).
        following = WF[s.workflow]["jobs"][s.job]["steps"][s.index + 1]
        assert commands(following.get("run", "")) == [
            ["python", "-m", "reconcile.ci.azure_token", "--env", "$ENV_NAME"]], f"{s.label}: token check after login"
    # The reusable apply needs the token granted by its callers too.
    for job in WF["apply.yml"]["jobs"].values():
        assert _grants_id_token(job["permissions"])


def test_no_secrets_anywhere() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text()
        assert "secrets." not in text, f"{path.name}: OIDC only, no stored secrets"
        for line in text.splitlines():
            assert not re.search(r"\b(echo|printf|cat)\b.*\$\{\{\s*(secrets|github\.token)", line), (path.name, line)


def test_actions_are_pinned_by_major_version() -> None:
    for s in steps(WF):
        if "uses" in s.step:
            assert re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+@v\d+", s.step["uses"]), s.label
    for job in WF["apply.yml"]["jobs"].values():
        assert (WORKFLOWS.parent.parent / job["uses"]).is_file()


def _envs_of(name: str, job_id: str) -> set[str]:
    job = WF[name]["jobs"][job_id]
    if "strategy" in job:
        return {row["env"] for row in job["strategy"]["matrix"]["include"]}
    callers = [j for j in WF["apply.yml"]["jobs"].values() if j["uses"].endswith("/" + name)]
    return {c["with"]["environment"] for c in callers}


def test_one_concurrency_group_per_environment_never_cancelled() -> None:
    for name, wf in WF.items():
        assert "concurrency" not in wf, f"{name}: a workflow-level group would serialize dev and prod"
        for job_id, job in wf["jobs"].items():
            if "steps" not in job:
                assert "concurrency" not in job, f"{name}: the called workflow holds the group (no deadlock)"
                continue
            conc = job["concurrency"]
            assert conc["cancel-in-progress"] is False, f"{name}: {job_id}"
            assert re.fullmatch(r"vision-gitops-\$\{\{ (matrix\.env|inputs\.environment) \}\}", conc["group"])
            assert _envs_of(name, job_id) == ENVIRONMENTS, f"{name}: {job_id}"


def test_prod_apply_waits_for_dev_and_its_reviewers() -> None:
    jobs = WF["apply.yml"]["jobs"]
    assert jobs["prod"]["needs"] == "dev"
    assert jobs["prod"]["with"]["environment"] == "prod"
    assert WF["apply-environment.yml"]["jobs"]["apply"]["environment"] == "${{ inputs.environment }}"


EXIT_CODE_RULES = {
    # command -> codes that must be handled explicitly in the same script
    "plan": {"2"},
    "apply": {"3"},
}


def test_every_reconcile_plan_or_apply_handles_its_exit_codes() -> None:
    seen = set()
    for s in steps(WF):
        script = s.step.get("run", "")
        lines = [ln.strip() for ln in logical_lines(script)]
        for i, line in enumerate(lines):
            if not re.match(r"reconcile (plan|apply)\b", line):
                continue
            sub = line.split()[1]
            seen.add((s.workflow, sub))
            assert "|" not in line and not line.endswith("&"), f"{s.label}: no pipe or wrapper around reconcile"
            assert "set +e" in lines[:i], f"{s.label}: `set +e` before {sub}"
            assert lines[i + 1] == "code=$?", f"{s.label}: capture the exit code right after {sub}"
            case = next((ln for ln in lines[i:] if ln.startswith('case "$code" in')), None)
            assert case is not None, f"{s.label}: explicit checks of the exit code"
            arms = {code for ln in lines[i:] for code in re.findall(r"^([0-9|]+)\)", ln) for code in code.split("|")}
            assert EXIT_CODE_RULES[sub] <= arms, f"{s.label}: handles {EXIT_CODE_RULES[sub]} explicitly"
            assert 'echo "exit-code=$code" >> "$GITHUB_OUTPUT"' in lines, s.label
    assert seen == {("plan.yml", "plan"), ("apply-environment.yml", "plan"), ("apply-environment.yml", "apply"),
                    ("drift.yml", "plan")}


def test_drift_uses_a_deep_plan_detailed_exitcode_and_the_drift_label() -> None:
    script = next(s.step["run"] for s in steps(WF) if s.step.get("id") == "drift")
    # --deep: Azure ML lists every dataset version (a version archived or retagged outside is drift)
    assert ["reconcile", "plan", "--env", "$ENV_NAME", "--deep", "--detailed-exitcode", "--markdown",
            "drift.md"] in commands(script)
    issue = next(s.step["run"] for s in steps(WF) if s.workflow == "drift.yml" and "gh issue" in s.step.get("run", ""))
    assert "--label drift" in issue and "gh issue close" in issue and "gh issue edit" in issue


def test_the_comment_marker_matches_the_comment_builder() -> None:
    script = next(s.step["run"] for s in steps(WF) if s.workflow == "plan.yml" and "gh api" in s.step.get("run", ""))
    used = re.search(r'marker="([^"]+)"', script).group(1)
    assert used.replace("$ENV_NAME", "dev") == marker("dev")
    assert "--json-out comment.json" in script.replace("\\\n", " ").replace("  ", " ")
