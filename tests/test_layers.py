"""The layers import in one direction: no import cycles between modules, none between the
plan and the inventory, and importing the package does not load the command line."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "reconcile"
#: Areas whose modules must form no cycles (the emulator is a separate room with its own rules).
CHECKED = ("plan", "apply", "inventory", "backends", "workflow", "session", "status", "labels", "errors", "defaults")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(areas: tuple[str, ...] = CHECKED) -> dict[str, set[str]]:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if name.split(".")[1:2] and name.split(".")[1] not in areas:
            continue
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("reconcile"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    deps.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("reconcile"))
        graph[name] = {d for d in deps if d in modules and d != name and d != "reconcile"}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep in graph and dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycles_in_the_core() -> None:
    # Package façades re-export their modules; the cycles that matter are between modules.
    graph = {m: {d for d in deps if not (PACKAGE / Path(*d.split(".")[1:]) / "__init__.py").exists()}
             for m, deps in _imports().items()}
    assert _cycle(graph) is None


def test_no_import_cycles_in_the_emulators() -> None:
    # Both rooms and their shared package. The admin modules used to reach back into the
    # servers (clock, request log, faults, throttle) while the servers built them; they now
    # take a Protocol. pixel_trainer used to import trainer's prediction values while
    # trainer.make_trainer imported pixel_trainer: those values live in emulator/inference.py.
    graph = {m: deps for m, deps in _imports(("emulator",)).items() if m.startswith("reconcile.emulator")}
    assert _cycle(graph) is None


def test_the_inventory_does_not_depend_on_the_plan() -> None:
    graph = _imports()
    assert not [(m, d) for m, deps in graph.items() if m.startswith("reconcile.inventory")
                for d in deps if d.startswith("reconcile.plan")]


def test_importing_the_package_does_not_load_the_cli() -> None:
    code = "import sys, reconcile.workflow; print('click' in sys.modules, 'reconcile.cli' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["False", "False"]
