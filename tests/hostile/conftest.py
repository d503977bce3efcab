"""Fixtures of the hostile-input suite: a throw-away project and the CLI run against it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from tests.hostile.harness import make_project
from tests.hostile.helpers import Run, cli_in_process


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A valid project (one classification dataset with 4 local images, one model) in ``tmp_path/repo``."""
    return make_project(tmp_path / "repo")


@pytest.fixture
def cli(capsys: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """``cli(root, "validate")``: the CLI in-process, output captured, no terminal."""

    def run(root: Path, *args: str, key: str | None = None) -> Run:
        extra = {"key": key} if key is not None else {}
        return cli_in_process(root, *args, capsys=capsys, monkeypatch=monkeypatch, **extra)

    return run
