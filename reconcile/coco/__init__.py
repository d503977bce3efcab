"""COCO label files in Azure's flavour: validation, summaries, diffs and a test-data generator.

- :mod:`.validate`: the entry points (``ValidationOptions``, ``validate_bytes``, ``validate_file``).
- :mod:`.report`, :mod:`.render`: the typed report and its human renderings.
- :mod:`.collect`: counting problems while a pass runs (the label checks reuse it).
- :mod:`.diff`: what changed between two label files (for plans and pull requests).
- :mod:`.generate`: seeded synthetic files for benchmarks and tests.
- internal: :mod:`.options`, :mod:`.rules` (what is checked: codes, severities, limits per
  kind/purpose/version); :mod:`.fast` (typed msgspec decoding + column checks for files
  that pass); :mod:`.exact` (the reference pass that reports every problem with JSON
  paths); :mod:`.schema`, :mod:`.urls`, :mod:`.values` (their shared pieces).
"""

from __future__ import annotations

from reconcile.facade import lazy_exports

_EXPORTS = {
    "ValidationOptions": "validate", "validate_bytes": "validate", "validate_file": "validate",
    "CocoReport": "report",
}  # fmt: skip
_INTERNAL = ("exact", "fast", "options", "rules", "schema", "urls", "values")

__all__ = ["CocoReport", "ValidationOptions", "validate_bytes", "validate_file"]

__getattr__ = lazy_exports(__name__, _EXPORTS)
