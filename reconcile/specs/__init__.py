"""Specs (the desired state, YAML under ``specs/``) and the project config.

Modules:

- :mod:`.models`      -- pydantic models of Dataset, Model and Evaluation specs.
- :mod:`.loader`      -- :func:`load_specs` -> :class:`SpecSet` (cross-file references, sources).
- :mod:`.fingerprint` -- :func:`spec_hash`, canonical sha256 of a spec's service fields.
- :mod:`.config`      -- :func:`load_config` -> :class:`EnvironmentConfig` (vision-gitops.yaml); a package with its own façade.
- :mod:`.schema`      -- JSON Schemas generated from the models, for editors.
- :mod:`.checks`      -- internal: rules across specs (unique names, references, api-version limits, paths).
- :mod:`.yamlsrc`     -- internal: YAML reading that keeps the line of every value.
- :mod:`.problems`    -- internal: collecting problems; pydantic errors as ``file:line: field: message``.

Nothing here imports numpy, httpx or Azure libraries.
"""

from __future__ import annotations

from reconcile.facade import lazy_exports

_EXPORTS = {
    "load_specs": "loader", "SpecSet": "loader", "SourceRef": "loader",
    "spec_hash": "fingerprint",
    "load_config": "config", "EnvironmentConfig": "config",
    "write_schemas": "schema",
}  # fmt: skip
_INTERNAL = ("checks", "problems", "yamlsrc")

__all__ = ["EnvironmentConfig", "SourceRef", "SpecSet", "load_config", "load_specs", "spec_hash", "write_schemas"]

__getattr__ = lazy_exports(__name__, _EXPORTS)
