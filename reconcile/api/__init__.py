"""Facts about the Image Analysis 4.0 model-customization API, shared by the emulator,
the spec validator, the COCO validator and the client.

Source of truth: docs/service-api.md (and the swaggers under tests/emulator/swagger/). Nothing here does I/O.
"""
