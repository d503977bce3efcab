"""Specs (the desired state, YAML under ``specs/``) and the project config.

- :mod:`reconcile.specs.models`      -- pydantic models of Dataset, Model and Evaluation specs.
- :mod:`reconcile.specs.loader`      -- :func:`load_specs` -> :class:`SpecSet` (cross-file references, sources).
- :mod:`reconcile.specs.checks`      -- rules across specs: unique names, references, api-version limits, paths.
- :mod:`reconcile.specs.fingerprint` -- :func:`spec_hash`, canonical sha256 of a spec's service fields.
- :mod:`reconcile.specs.config`      -- :func:`load_config` -> :class:`EnvironmentConfig` (vision-gitops.yaml).
- :mod:`reconcile.specs.schema`      -- JSON Schemas generated from the models, for editors.
- :mod:`reconcile.specs.yamlsrc`     -- YAML reading that keeps the line of every value.
- :mod:`reconcile.specs.problems`    -- collecting problems; pydantic errors as ``file:line: field: message``.

Nothing here imports numpy, httpx or Azure libraries. The names below are
re-exported lazily so that ``import reconcile.specs`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load_specs": "reconcile.specs.loader",
    "SpecSet": "reconcile.specs.loader",
    "SourceRef": "reconcile.specs.loader",
    "spec_hash": "reconcile.specs.fingerprint",
    "load_config": "reconcile.specs.config",
    "EnvironmentConfig": "reconcile.specs.config",
    "write_schemas": "reconcile.specs.schema",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'reconcile.specs' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
