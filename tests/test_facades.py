"""Every package façade follows reconcile/facade.py: no logic, an honest ``__all__``, every module
listed in its docstring, and no other package importing a module the façade marks internal."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("specs", "specs.config", "client", "inventory", "lock", "plan", "apply", "storage", "coco")


def _imports_of(path: Path) -> set[str]:
    """Every ``reconcile...`` module ``path`` imports (``from a.b import c`` counts ``a.b`` and ``a.b.c``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("reconcile"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("reconcile"))
    return found


@pytest.mark.parametrize("name", PACKAGES)
def test_the_facade_holds_no_logic_and_its_all_is_honest(name: str) -> None:
    package = importlib.import_module(f"reconcile.{name}")
    tree = ast.parse(Path(package.__file__).read_text())
    logic = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    assert not logic, f"reconcile.{name}/__init__.py defines {[n.name for n in logic]}: move it to a module"
    assert len(package.__all__) == len(set(package.__all__))
    assert set(package.__all__) >= set(getattr(package, "_EXPORTS", {}))
    for public in package.__all__:
        assert getattr(package, public) is not None, public
    with pytest.raises(AttributeError):
        getattr(package, "no_such_name")


@pytest.mark.parametrize("name", PACKAGES)
def test_every_module_is_listed_in_the_docstring(name: str) -> None:
    package = importlib.import_module(f"reconcile.{name}")
    folder = Path(package.__file__).parent
    modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    modules |= {p.name for p in folder.iterdir() if (p / "__init__.py").is_file()}
    missing = sorted(m for m in modules if f":mod:`.{m}`" not in (package.__doc__ or ""))
    assert not missing, f"reconcile.{name}'s docstring does not list {missing}"
    assert set(getattr(package, "_INTERNAL", ())) <= modules


@pytest.mark.parametrize("name", PACKAGES)
def test_no_other_package_imports_an_internal_module(name: str) -> None:
    package = importlib.import_module(f"reconcile.{name}")
    internal = {f"reconcile.{name}.{m}" for m in package._INTERNAL}
    inside = Path(package.__file__).parent
    offenders = []
    for path in (ROOT / "reconcile").rglob("*.py"):
        if inside in path.parents:
            continue
        for imported in _imports_of(path):
            if any(imported == m or imported.startswith(m + ".") for m in internal):
                offenders.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert not offenders, "\n".join(offenders)
