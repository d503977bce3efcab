"""Build the one PR comment (or drift issue body) that carries a plan's Markdown.

The body starts with a hidden marker, ``<!-- vision-gitops:plan:<env> -->``, which
the workflow searches for so that every push *updates* the same comment instead
of adding a new one. GitHub rejects comments over 65,536 characters, so a long
plan is cut at a section (heading) boundary, the comment says how much was cut,
and links to the full plan artifact.

Command line (used by .github/workflows)::

    python -m reconcile.ci.pr_comment --env dev --markdown plan.md --exit-code 2 \\
        --artifact-url URL --run-url URL --json-out comment.json

``--json-out`` writes ``{"body": ...}``, ready for ``gh api --input``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import click

#: GitHub's limit on an issue or PR comment body, in characters.
MAX_COMMENT_CHARS = 65_536

# A section starts at a heading or at a collapsible block (the plan renders one per change).
_SECTION_START = re.compile(r"^(#{1,6}\s|<details[\s>])")
_FENCE = re.compile(r"^\s*(```|~~~)")

_TITLES = {"plan": "Plan", "drift": "Drift check"}


@dataclass(frozen=True)
class Comment:
    """A comment body within the limit, and what was left out of it."""

    body: str
    cut_chars: int = 0
    cut_sections: int = 0

    @property
    def truncated(self) -> bool:
        return self.cut_chars > 0


def marker(environment: str, kind: str = "plan") -> str:
    """The hidden marker that identifies this environment's comment (or issue) of this kind."""
    return f"<!-- vision-gitops:{kind}:{environment} -->"


def build_comment(
    markdown: str | None,
    *,
    environment: str,
    kind: str = "plan",
    exit_code: int | None = None,
    artifact_url: str | None = None,
    run_url: str | None = None,
    limit: int = MAX_COMMENT_CHARS,
) -> Comment:
    """Return the comment body for ``markdown`` (None: the command produced none), at most ``limit`` chars.

    Whole sections (from a heading or a ``<details>`` block up to the next one;
    anything inside code fences excluded) are kept in order while they fit. A
    section too big to fit even alone is cut at a line boundary instead, with open
    code fences and ``<details>`` blocks closed. ``cut_sections`` counts the
    sections not kept whole.
    """
    header = marker(environment, kind) + "\n"
    links = _links(kind, artifact_url, run_url)
    if markdown is None:
        title = _TITLES.get(kind, kind)
        text = (f"### vision-gitops {title.lower()}: `{environment}`\n\n"
                f"**Failed** (exit code {exit_code}): the command wrote no Markdown; see the workflow run log.")
        return _fit(header + text + links, limit)
    markdown = markdown.strip("\n")
    full = header + markdown + links
    if len(full) <= limit:
        return Comment(full)

    sections = _sections(markdown)
    # Reserve room for the worst-case note (its numbers are at most the totals).
    worst_note = _note(len(markdown), len(sections), artifact_url, kind) + links
    budget = limit - len(header) - len(worst_note)
    if budget <= 0:
        raise ValueError(f"limit {limit} is too small for the comment header and note")
    kept: list[str] = []
    used = 0
    partial = ""
    partial_chars = 0
    for section in sections:
        cost = len(section) + (1 if kept else 0)
        if used + cost > budget:
            if len(section) > budget:
                # This section could never fit whole, even alone: show its beginning.
                partial, partial_chars = _cut_lines(section, budget - used - (1 if kept else 0))
            break
        kept.append(section)
        used += cost
    body = "\n".join(kept)
    kept_chars = len(body)
    if partial_chars:
        body = f"{body}\n{partial}" if kept else partial
        kept_chars += partial_chars + (1 if kept else 0)
    cut_chars = len(markdown) - kept_chars
    cut_sections = len(sections) - len(kept)
    note = _note(cut_chars, cut_sections, artifact_url, kind) + links
    return Comment(header + body + note, cut_chars=cut_chars, cut_sections=cut_sections)


def _links(kind: str, artifact_url: str | None, run_url: str | None) -> str:
    parts = []
    if artifact_url:
        parts.append(f"[full {kind} (artifact)]({artifact_url})")
    if run_url:
        parts.append(f"[workflow run]({run_url})")
    return "\n\n<sub>" + " · ".join(parts) + "</sub>" if parts else ""


def _note(cut_chars: int, cut_sections: int, artifact_url: str | None, kind: str) -> str:
    where = f"the [{kind} artifact]({artifact_url})" if artifact_url else "the workflow run's artifacts"
    return (
        f"\n\n> **Truncated:** {cut_chars:,} characters ({cut_sections:,} sections) were cut to stay under "
        f"GitHub's {MAX_COMMENT_CHARS:,}-character comment limit. The full {kind} is in {where}."
    )


def _sections(markdown: str) -> list[str]:
    sections: list[list[str]] = [[]]
    in_fence = False
    for line in markdown.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and _SECTION_START.match(line) and sections[-1]:
            sections.append([])
        sections[-1].append(line)
    return ["\n".join(s) for s in sections]


def _cut_lines(section: str, budget: int) -> tuple[str, int]:
    """The longest line-aligned prefix that fits, with open blocks closed; and its raw length."""
    # Room for closing whatever is open where we cut: a fence and a few <details>.
    reserve = len("\n```") + 4 * len("\n</details>")
    out: list[str] = []
    used = 0
    in_fence = False
    open_details = 0
    for line in section.split("\n"):
        cost = len(line) + (1 if out else 0)
        if used + cost + reserve > budget:
            break
        out.append(line)
        used += cost
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            open_details += line.count("<details") - line.count("</details>")
    if not out:
        # A single enormous line: cut inside it.
        text = section[: max(0, budget - reserve)]
        return text, len(text)
    text = "\n".join(out)
    kept = len(text)
    if in_fence:
        text += "\n```"
    return text + "\n</details>" * min(max(open_details, 0), 4), kept


def _fit(body: str, limit: int) -> Comment:
    return Comment(body if len(body) <= limit else body[:limit])


@click.command()
@click.option("--env", "environment", required=True, help="Environment the plan is for.")
@click.option("--markdown", "md_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The plan's Markdown (a missing file means the command failed before writing it).")
@click.option("--kind", type=click.Choice(["plan", "drift"]), default="plan", show_default=True)
@click.option("--exit-code", type=int, default=None, help="Exit code of `reconcile plan` (0, 2 or an error).")
@click.option("--artifact-url", default=None, help="URL of the uploaded artifact with the full output.")
@click.option("--run-url", default=None, help="URL of the workflow run.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the body here (default: stdout).")
@click.option("--json-out", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help='Also write {"body": ...} here, for `gh api --input`.')
def main(environment: str, md_path: Path, kind: str, exit_code: int | None, artifact_url: str | None,
         run_url: str | None, out_path: Path | None, json_path: Path | None) -> None:
    """Write the PR comment (or drift issue) body for a plan's Markdown."""
    try:
        markdown: str | None = md_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        markdown = None
    comment = build_comment(markdown, environment=environment, kind=kind, exit_code=exit_code,
                            artifact_url=artifact_url, run_url=run_url)
    if out_path is not None:
        out_path.write_text(comment.body, encoding="utf-8")
    if json_path is not None:
        json_path.write_text(json.dumps({"body": comment.body}), encoding="utf-8")
    if out_path is None and json_path is None:
        click.echo(comment.body)
    if comment.truncated:
        click.echo(f"note: cut {comment.cut_chars} characters ({comment.cut_sections} sections) "
                   "to fit the comment limit", err=True)


if __name__ == "__main__":
    main()
