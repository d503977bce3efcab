"""Specs (the desired state, YAML under ``specs/``) and the project config.

- :mod:`reconcile.specs.models`  -- pydantic models of Dataset, Model and Evaluation specs.
- :mod:`reconcile.specs.loader`  -- YAML loading with file/line locations and cross-file references.
- :mod:`reconcile.specs.config`  -- the project config (environments, endpoint, auth, storage).
- :mod:`reconcile.specs.schema`  -- JSON Schemas generated from the models, for editors.
"""
