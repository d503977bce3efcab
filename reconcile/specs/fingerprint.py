"""Deterministic fingerprints of specs.

:func:`spec_hash` covers the fields the service sees (``kind``, ``name`` and the
resource's settings) and leaves out the reconciler's own policy flags
(:data:`reconcile.specs.models.POLICY_FIELDS`: ``protect``, ``allowReplace``), so
that toggling protection never looks like a change of the resource. Defaults are
left out too, so adding an optional field to a model later keeps old hashes.

A Dataset with local label files is hashed by its *paths*; the planner adds the
content hashes of those files itself.
"""

from __future__ import annotations

import hashlib
import json

from reconcile.specs.models import POLICY_FIELDS, DatasetSpec, EvaluationSpec, ModelSpec


def canonical_json(spec: DatasetSpec | ModelSpec | EvaluationSpec) -> str:
    """The service-relevant fields of ``spec`` as compact JSON with sorted keys (camelCase)."""
    data = spec.model_dump(mode="json", by_alias=True, exclude=set(POLICY_FIELDS), exclude_defaults=True)
    # ``kind`` has no default, so it is always kept; keep it explicit for readers of the JSON.
    data["kind"] = spec.kind
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def spec_hash(spec: DatasetSpec | ModelSpec | EvaluationSpec) -> str:
    """The sha256 hex digest (64 characters) of :func:`canonical_json`; equal specs hash equally everywhere."""
    return hashlib.sha256(canonical_json(spec).encode("utf-8")).hexdigest()
