"""Running the CLI or the fuzz harness in a subprocess under an address-space cap.

``RLIMIT_AS`` is set in the child before it executes: an input that makes memory grow
without bound gets a MemoryError (or is killed) instead of taking the machine down,
and the test sees it as a failure. The child's peak RSS comes back from
``RUSAGE_CHILDREN`` (this process runs one child at a time).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.hostile.harness import KEY, LEAK_MARKERS

REPO = Path(__file__).resolve().parents[2]
#: The cap: a CLI run needs ~200 MiB of address space; every bomb in the issue needed GiBs.
MEMORY_CAP = 1024 * 1024 * 1024


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


@dataclass(frozen=True)
class Run:
    code: int
    out: str

    def assert_clean(self) -> None:
        """No traceback, no internal error, no secret, and an exit code the CLI documents."""
        assert "Traceback" not in self.out, self.out
        assert "internal error" not in self.out, self.out
        assert "MemoryError" not in self.out, self.out
        for marker in LEAK_MARKERS:
            assert marker not in self.out, f"secret {marker[:8]}... leaked:\n{self.out}"
        assert self.code in (0, 1, 2), (self.code, self.out)


def run_python(args: list[str], cwd: Path, *, timeout: float = 120, env: dict[str, str] | None = None) -> Run:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "VISION_KEY": KEY, "NO_COLOR": "1", **(env or {})}
    full_env.pop("RECONCILE_DEBUG", None)
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=_cap, stdin=subprocess.DEVNULL)
    return Run(proc.returncode, proc.stdout + proc.stderr)


def reconcile(cwd: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None) -> Run:
    """``reconcile ARGS`` in ``cwd`` (no terminal: stdin is /dev/null, as in CI)."""
    code = "import sys; from reconcile.cli import main; main(sys.argv[1:])"
    return run_python(["-c", code, *args], cwd, timeout=timeout, env=env)


def files_with_secrets(root: Path) -> list[str]:
    """Files under ``root`` (outside the emulator's own state) that contain a planted secret."""
    bad = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and "emulator" not in path.parts:
            data = path.read_bytes()
            if any(m.encode() in data for m in LEAK_MARKERS):
                bad.append(str(path.relative_to(root)))
    return bad




def cli_in_process(cwd: Path, *args: str, capsys: object, monkeypatch: object, key: str = KEY) -> Run:
    """``reconcile ARGS`` in this process (fast; no memory cap): exit code and stdout + stderr."""
    from reconcile.cli import main

    monkeypatch.chdir(cwd)  # type: ignore[attr-defined]
    monkeypatch.setenv("VISION_KEY", key)  # type: ignore[attr-defined]
    monkeypatch.setattr("sys.stdin", open(os.devnull))  # type: ignore[attr-defined]  # no terminal, as in CI
    capsys.readouterr()  # type: ignore[attr-defined]
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()  # type: ignore[attr-defined]
    return Run(code, captured.out + captured.err)
