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
import weakref

from reconcile.specs.models import POLICY_FIELDS, DatasetSpec, EvaluationSpec, ModelSpec


def canonical_json(spec: DatasetSpec | ModelSpec | EvaluationSpec) -> str:
    """The service-relevant fields of ``spec`` as compact JSON with sorted keys (camelCase)."""
    data = spec.model_dump(mode="json", by_alias=True, exclude=set(POLICY_FIELDS), exclude_defaults=True)
    # ``kind`` has no default, so it is always kept; keep it explicit for readers of the JSON.
    data["kind"] = spec.kind
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


#: id(spec) -> (weak reference, digest). Specs are frozen, and one plan asks for the same
#: spec's hash several times (fingerprint, drift, inventory); pydantic dumps are not cheap.
_HASHES: dict[int, tuple[weakref.ref, str]] = {}


def spec_hash(spec: DatasetSpec | ModelSpec | EvaluationSpec) -> str:
    """The sha256 hex digest (64 characters) of :func:`canonical_json`; equal specs hash equally everywhere."""
    key = id(spec)
    hit = _HASHES.get(key)
    if hit is not None and hit[0]() is spec:
        return hit[1]
    digest = hashlib.sha256(canonical_json(spec).encode("utf-8")).hexdigest()
    _HASHES[key] = (weakref.ref(spec, lambda _ref, key=key: _HASHES.pop(key, None)), digest)
    return digest
