"""Small helpers for the spec and config tests: write YAML, load it, return the problems."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reconcile.errors import SpecError
from reconcile.specs.loader import SpecSet, load_specs

API = "2023-04-01-preview"

DATASETS = """\
kind: Dataset
name: cls-train
annotationKind: imageClassification
labels:
  - uri: https://acct.blob.core.windows.net/c/cls-train.json
---
kind: Dataset
name: cls-test
annotationKind: imageClassification
labels:
  - uri: https://acct.blob.core.windows.net/c/cls-test.json
---
kind: Dataset
name: det-train
annotationKind: imageObjectDetection
labels:
  - uri: https://acct.blob.core.windows.net/c/det-train.json
"""


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(root: Path, api_version: str = API) -> SpecSet:
    return load_specs(root / "specs", root=root, api_version=api_version)


def problems(root: Path, api_version: str = API) -> list[str]:
    """The problem lines of the SpecError that loading ``root/specs`` must raise."""
    with pytest.raises(SpecError) as info:
        load(root, api_version)
    return info.value.problems


def one_problem(root: Path, api_version: str = API) -> str:
    found = problems(root, api_version)
    assert len(found) == 1, found
    return found[0]
