"""Facts about the Image Analysis 4.0 model-customization API, shared by the emulator,
the spec validator, the COCO validator and the client.

Source of truth: ``../shared/azure-vision-api/REFERENCE.md``. Nothing here does I/O.
"""
