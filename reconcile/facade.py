"""How every package of ``reconcile`` shows its public names: one façade style.

Each package's ``__init__.py`` is a façade and holds no logic:

- its docstring lists every module of the package with its concern, and names the
  *internal* ones: modules only the package itself imports (tests may import them
  too; other packages may not, and ``tests/test_facades.py`` checks that);
- ``__all__`` lists the names other packages may use, and ``_EXPORTS`` says which
  module each comes from; ``__getattr__ = lazy_exports(__name__, _EXPORTS)`` imports
  that module on first use, so importing a package stays cheap (no httpx, Azure
  SDK or numpy until a name that needs them is used) and packages cannot form
  import cycles through their façades;
- ``_INTERNAL`` names the internal modules, for the check.

A package whose modules are always needed together binds its names eagerly
instead (``reconcile.specs.config``: loading the config uses every module); the
rules above hold all the same.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that resolves ``name`` from ``package.<exports[name]>``.

    Unknown names raise :class:`AttributeError` as for any module.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__
