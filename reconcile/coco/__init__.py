"""COCO label files in Azure's flavour: validation, summaries, diffs and a test-data generator."""
