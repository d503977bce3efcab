"""Loading .github/workflows for the CI tests, and pulling out their run scripts and commands."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads the key `on` as True; GitHub reads it as the string 'on'."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _bools(node: Any) -> Any:
    # With bool resolution off, restore real booleans in values (YAML 1.2 style: true/false only).
    if isinstance(node, dict):
        return {k: _bools(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_bools(v) for v in node]
    if node in ("true", "false"):
        return node == "true"
    return node


def load(path: Path) -> dict[str, Any]:
    return _bools(yaml.load(path.read_text(), Loader=_Loader))  # noqa: S506 - SafeLoader subclass


def all_workflows() -> dict[str, dict[str, Any]]:
    return {p.name: load(p) for p in sorted(WORKFLOWS.glob("*.yml"))}


@dataclass(frozen=True)
class Step:
    workflow: str
    job: str
    index: int
    step: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.workflow}: jobs.{self.job}.steps[{self.index}] ({self.step.get('name', '')})"


def steps(workflows: dict[str, dict[str, Any]]) -> Iterator[Step]:
    for name, wf in workflows.items():
        for job_id, job in wf["jobs"].items():
            for i, step in enumerate(job.get("steps", [])):
                yield Step(name, job_id, i, step)


def logical_lines(script: str) -> list[str]:
    """Shell lines with backslash continuations joined."""
    return script.replace("\\\n", " ").splitlines()


_COMMAND = re.compile(r"^\s*(reconcile\s.*|python -m reconcile\.\S+.*)$")


def commands(script: str) -> list[list[str]]:
    """Every `reconcile ...` / `python -m reconcile.X ...` command line, split like the shell would."""
    out = []
    for line in logical_lines(script):
        if _COMMAND.match(line):
            out.append(shlex.split(line))
    return out
