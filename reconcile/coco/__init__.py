"""COCO label files in Azure's flavour: validation, summaries, diffs and a test-data generator.

- :mod:`.validate`: the entry points (``ValidationOptions``, ``validate_bytes``, ``validate_file``).
- :mod:`.options`, :mod:`.rules`: what is checked (codes, severities, limits per kind/purpose/version).
- :mod:`.fast`: typed msgspec decoding + column checks for files that pass.
- :mod:`.exact`: the reference pass that reports every problem with JSON paths.
- :mod:`.schema`, :mod:`.urls`, :mod:`.values`, :mod:`.collect`: their shared pieces.
- :mod:`.report`, :mod:`.render`: the typed report and its human renderings.
- :mod:`.diff`: what changed between two label files (for plans and pull requests).
- :mod:`.generate`: seeded synthetic files for benchmarks and tests.
"""
