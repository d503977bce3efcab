"""The inventory: what this tool created and owns, per environment (applyset-style).

Datasets also carry an ownership marker in their customProperties; models and
evaluations carry no metadata, so the inventory is the only record that they are
ours. It also remembers, per resource, the spec hash and live fingerprint at the
last apply (drift), the label digest a model was trained on (staleness), the
``protect`` flag (which keeps protecting after the spec is removed) and, for
training submissions, an *intent* written before the PUT (crash safety).

Modules (none internal):

- :mod:`.records` -- the typed, versioned state document.
- :mod:`.store`   -- where it lives: a local file or a blob, with generation/eTag
  checks so two writers cannot silently overwrite each other.
- :mod:`.journal` -- the thread-safe writer apply uses.
"""

from __future__ import annotations

from reconcile.facade import lazy_exports

_EXPORTS = {
    "Journal": "journal",
    "Intent": "records", "Inventory": "records", "ResourceRecord": "records",
    "BlobStateStore": "store", "FileStateStore": "store", "MemoryStateStore": "store", "StateStore": "store",
    "state_store_for": "store",
}  # fmt: skip
_INTERNAL: tuple[str, ...] = ()

__all__ = [
    "BlobStateStore",
    "FileStateStore",
    "Intent",
    "Inventory",
    "Journal",
    "MemoryStateStore",
    "ResourceRecord",
    "StateStore",
    "state_store_for",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
