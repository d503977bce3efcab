"""The PR comment body: marker, size limit, section-boundary truncation."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from reconcile.ci.pr_comment import MAX_COMMENT_CHARS, build_comment, main, marker
from reconcile.plan import render
from reconcile.plan.model import FORMAT_VERSION, FieldChange, Plan, ResourceChange, Summary

ARTIFACT = "https://github.com/o/r/actions/runs/9/artifacts/77"


def plan_markdown(changes: int, detail_lines: int = 3) -> str:
    """The Markdown the real renderer makes for a plan of ``changes`` dataset updates, each with
    ``detail_lines`` changed properties (so section boundaries are the renderer's own)."""
    items = [
        ResourceChange(
            address=f"dataset/d{i}", kind="Dataset", name=f"d{i}", action="update", reason="customProperties changed",
            reason_code="fields-changed",
            changes=[FieldChange(path=f"customProperties.k{j}", before=f"old-{i}-{j}", after=f"new-{i}-{j}")
                     for j in range(detail_lines)],
        )
        for i in range(changes)
    ]
    plan = Plan(format_version=FORMAT_VERSION, tool_version="0", created_at="2026-01-01T00:00:00Z",
                environment="dev", service="vision", endpoint="https://dev", api_version="2023-02-01-preview",
                specs_fingerprint="", live_fingerprint="0" * 32, changes=items, summary=Summary(update=changes))
    return render.to_markdown(plan)


def test_small_plan_is_kept_whole_behind_the_marker() -> None:
    md = plan_markdown(3)
    c = build_comment(md, environment="dev", artifact_url=ARTIFACT, run_url="https://run")
    assert c.body.startswith("<!-- vision-gitops:plan:dev -->\n### vision-gitops plan")
    assert md.strip() in c.body
    assert ARTIFACT in c.body and "https://run" in c.body
    assert not c.truncated


def test_marker_names_kind_and_environment() -> None:
    assert marker("prod") == "<!-- vision-gitops:plan:prod -->"
    assert marker("prod", "drift") == "<!-- vision-gitops:drift:prod -->"


def test_huge_plan_is_cut_at_a_section_boundary_under_the_limit() -> None:
    md = plan_markdown(300, detail_lines=40)
    assert len(md) > 3 * MAX_COMMENT_CHARS
    c = build_comment(md, environment="dev", artifact_url=ARTIFACT)
    assert len(c.body) <= MAX_COMMENT_CHARS
    assert c.truncated and c.cut_sections > 0
    kept = c.body.split("\n\n> **Truncated:**")[0]
    # Every kept <details> block is complete, and the next section is not half there.
    assert kept.count("<details>") == kept.count("</details>") > 0
    assert kept.count("<details>") < 300  # whole change sections were dropped, not lines of one
    assert kept.rstrip().endswith("</details>")
    assert f"{c.cut_chars:,} characters ({c.cut_sections:,} sections) were cut" in c.body
    assert f"[plan artifact]({ARTIFACT})" in c.body
    assert c.cut_chars == len(md.strip("\n")) - len(kept.split("\n", 1)[1])


def test_a_first_section_too_big_alone_is_cut_by_lines_and_closed() -> None:
    md = "### big\n\n<details><summary>x</summary>\n\n```\n" + "\n".join(f"line {i}" for i in range(20000)) + "\n```\n</details>\n"
    c = build_comment(md, environment="prod", limit=5000)
    assert len(c.body) <= 5000
    kept = c.body.split("\n\n> **Truncated:**")[0]
    assert kept.startswith(marker("prod") + "\n### big\n")  # the heading section is whole
    assert "line 10\n" in kept
    assert kept.count("```") == 2  # the open fence was closed ...
    assert kept.endswith("```\n</details>")  # ... and the <details> block too
    assert c.cut_sections == 1  # the partly shown section


def test_limit_holds_for_many_sizes() -> None:
    for n in (10, 100, 400, 800):
        for limit in (700, 2000, 10000, MAX_COMMENT_CHARS):
            c = build_comment(plan_markdown(n), environment="dev", artifact_url=ARTIFACT, limit=limit)
            assert len(c.body) <= limit, (n, limit)


def test_missing_markdown_reports_the_failure() -> None:
    c = build_comment(None, environment="dev", exit_code=1, run_url="https://run")
    assert c.body.startswith(marker("dev"))
    assert "**Failed** (exit code 1)" in c.body


def test_cli_writes_body_and_json_payload(tmp_path: Path) -> None:
    md = tmp_path / "plan.md"
    md.write_text(plan_markdown(2))
    out, payload = tmp_path / "comment.md", tmp_path / "comment.json"
    result = CliRunner().invoke(main, ["--env", "dev", "--markdown", str(md), "--exit-code", "2",
                                       "--artifact-url", ARTIFACT, "--out", str(out), "--json-out", str(payload)])
    assert result.exit_code == 0, result.output
    assert json.loads(payload.read_text())["body"] == out.read_text()
    assert out.read_text().startswith(marker("dev"))
    drift = CliRunner().invoke(main, ["--env", "prod", "--kind", "drift", "--markdown", str(tmp_path / "none.md"),
                                      "--exit-code", "1"])
    assert drift.exit_code == 0 and drift.output.startswith(marker("prod", "drift"))
