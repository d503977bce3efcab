"""Demo data made by the project itself: a synthetic-shapes image set (PNG + COCO).

- :mod:`reconcile.demo.png`     -- a minimal, dependency-free PNG encoder/decoder.
- :mod:`reconcile.demo.shapes`  -- the deterministic generator of ``data/shapes/``.
"""
