"""Local emulator of the retired Azure AI Vision Image Analysis 4.0 model-customization REST API.

Start it with ``reconcile emulator serve`` or in-process with
:func:`reconcile.emulator.server.start_emulator`. Nothing heavy is imported here so
that the CLI starts fast.
"""
