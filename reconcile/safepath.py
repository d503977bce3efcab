"""The one way to turn a path from untrusted input into a file we read.

Specs, the project config and COCO files name paths (label files, image folders,
images, spec folders, the state folder, stack outputs); a pull request controls
all of them. A path is accepted only if its text is sane (relative, '/'
separators, no NUL, bounded length) and it *resolves* -- symlinks followed --
inside the repository or another allowed root, to the kind of thing expected (a
regular file or a folder). Reading then goes through :mod:`reconcile.bounded`
with a size cap. ``tests/test_safepath.py`` holds the cases.

Two forms of every check: ``*_problem`` functions return the message (for
loaders that collect every problem of a run) and the others raise
:class:`~reconcile.errors.UnsafePathError` with that message.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Literal

from reconcile import bounded
from reconcile.errors import UnsafePathError
from reconcile.limits import PATH_CHARS, PATH_COMPONENT_CHARS, Limit

Want = Literal["file", "dir", "any"]


def text_problem(value: object) -> str | None:
    """Why ``value`` cannot be a repository-relative path (its text alone), or None."""
    if not isinstance(value, str) or not value:
        return "a path must be non-empty text"
    shown = _show(value)
    if "\0" in value or any(ord(c) < 32 for c in value):
        return f"{shown} contains a control character (NUL, newline, ...); remove it"
    if len(value) > PATH_CHARS.value:
        return f"the path is longer than the {PATH_CHARS.name} limit of {PATH_CHARS.shown}; shorten it"
    if any(len(part) > PATH_COMPONENT_CHARS.value for part in value.split("/")):
        return (f"{shown} has a component longer than the {PATH_COMPONENT_CHARS.name} limit of "
                f"{PATH_COMPONENT_CHARS.shown}; shorten it")
    if PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute() or PureWindowsPath(value).drive:
        return f"{shown} is absolute; write the path relative to the repository root"
    if "\\" in value:
        return f"{shown} uses backslashes; write the path with '/' so it works on every machine"
    return None


def within(path: Path, roots: Sequence[Path]) -> Path | None:
    """``path`` with every symlink resolved, if that lies inside one of ``roots`` (also resolved); else None."""
    try:
        real = path.resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL, a name too long
        return None
    for root in roots:
        try:
            base = root.resolve()
        except (OSError, RuntimeError, ValueError):
            continue
        if real == base or base in real.parents:
            return real
    return None


def path_problem(value: object, root: Path, *, want: Want = "any", what: str = "path",
                 extra_roots: Sequence[Path] = ()) -> str | None:
    """Why the repository-relative path ``value`` cannot be used, or None.

    Checks its text (:func:`text_problem`), that it resolves inside ``root`` (or one
    of ``extra_roots``) with symlinks followed, that it exists and that it is a
    regular file (``want="file"``) or a folder (``want="dir"``).
    """
    problem = text_problem(value)
    if problem is not None:
        return problem
    assert isinstance(value, str)
    shown = _show(value)
    real = within(root / value, [root, *extra_roots])
    if real is None:
        return f"{shown} points outside the repository (symlinks are followed); keep {what}s in the repository"
    try:
        mode = os.stat(real).st_mode
    except OSError:
        noun = "folder" if want == "dir" else "file" if want == "file" else what
        return f"{noun} {shown} not found (paths are relative to the repository root); fix the path or commit the {noun}"
    if want == "dir" and not stat.S_ISDIR(mode):
        return f"{shown} is a file, not a folder; name the folder"
    if want == "file" and not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        return f"{shown} is {kind}; name a regular file"
    if want == "any" and not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        return f"{shown} is not a regular file or folder"
    return None


def resolve(value: object, root: Path, *, want: Want = "any", what: str = "path",
            extra_roots: Sequence[Path] = ()) -> Path:
    """The resolved path of the repository-relative ``value`` (see :func:`path_problem`).

    Raises :class:`UnsafePathError` with the problem.
    """
    problem = path_problem(value, root, want=want, what=what, extra_roots=extra_roots)
    if problem is not None:
        raise UnsafePathError(problem)
    real = within(root / str(value), [root, *extra_roots])
    assert real is not None
    return real


def confine(path: Path, roots: Sequence[Path], shown: str) -> Path:
    """``path`` resolved, if inside ``roots``; raises :class:`UnsafePathError` naming ``shown`` otherwise."""
    real = within(path, roots)
    if real is None:
        raise UnsafePathError(f"{shown} resolves outside the repository (symlinks are followed); refusing to read it",
                              hint="keep label files and images inside the repository, as regular files")
    return real


def read(path: Path, roots: Sequence[Path], limit: Limit, shown: str) -> bytes:
    """The bytes of ``path`` if it resolves inside ``roots`` and is a regular file within ``limit``."""
    return bounded.read_file(confine(path, roots, shown), limit, shown)


def hash_inside(path: Path, roots: Sequence[Path], limit: Limit, shown: str) -> tuple[str, int]:
    """sha256 and size of ``path`` if it resolves inside ``roots`` and is a regular file within ``limit``."""
    return bounded.hash_file(confine(path, roots, shown), limit, shown)


def _show(value: str) -> str:
    text = value if len(value) <= 120 else value[:100] + "..."
    return repr(text)
