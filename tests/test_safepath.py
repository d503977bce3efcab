"""reconcile.safepath: untrusted paths resolve inside the repository to the expected kind, or say why not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconcile import safepath
from reconcile.errors import UnsafePathError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "data" / "img").mkdir(parents=True)
    (repo / "data" / "l.json").write_text("{}")
    (tmp_path / "secret.txt").write_text("hunter2")
    os.symlink(tmp_path / "secret.txt", repo / "data" / "out.json")
    os.symlink(repo / "data" / "l.json", repo / "data" / "in.json")
    os.symlink("/proc/self/environ", repo / "data" / "img" / "1.png")
    return repo


@pytest.mark.parametrize(
    ("value", "want", "says"),
    [
        ("data/l.json", "file", None),
        ("data/in.json", "file", None),  # a symlink that stays inside is fine
        ("data/img", "dir", None),
        (".", "dir", None),
        ("data/out.json", "file", "'data/out.json' points outside the repository (symlinks are followed)"),
        ("data/img/1.png", "file", "points outside the repository"),
        ("../secret.txt", "file", "points outside the repository"),
        ("/etc/passwd", "file", "'/etc/passwd' is absolute"),
        ("C:\\x", "file", "is absolute"),
        ("data\\l.json", "file", "uses backslashes"),
        ("data/l\0.json", "file", "contains a control character"),
        ("data/" + "x" * 256, "file", "pathComponentChars limit of 255 chars"),
        ("a/" * 2100, "file", "pathChars limit of 4,096 chars"),
        ("data/img", "file", "'data/img' is a folder; name a regular file"),
        ("data/l.json", "dir", "'data/l.json' is a file, not a folder"),
        ("data/nope.json", "file", "file 'data/nope.json' not found"),
        ("", "file", "a path must be non-empty text"),
    ],
)
def test_path_problem(root: Path, value: str, want: safepath.Want, says: str | None) -> None:
    problem = safepath.path_problem(value, root, want=want)
    if says is None:
        assert problem is None
        assert safepath.resolve(value, root, want=want).is_relative_to(root.resolve())
    else:
        assert problem is not None and says in problem
        with pytest.raises(UnsafePathError):
            safepath.resolve(value, root, want=want)


def test_read_refuses_a_symlink_out_even_when_the_target_is_a_regular_file(root: Path) -> None:
    from reconcile.limits import SPEC_FILE_BYTES

    assert safepath.read(root / "data" / "in.json", [root], SPEC_FILE_BYTES, "in.json") == b"{}"
    with pytest.raises(UnsafePathError, match="out.json resolves outside the repository"):
        safepath.read(root / "data" / "out.json", [root], SPEC_FILE_BYTES, "out.json")
