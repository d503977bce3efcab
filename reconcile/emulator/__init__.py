"""Local emulator of the retired Azure AI Vision Image Analysis 4.0 model-customization REST API.

Start it with ``reconcile emulator serve`` or in-process with
:func:`reconcile.emulator.server.start_emulator`. What it shares with the
Azure ML emulator (:mod:`reconcile.emulator.azureml`) lives in
:mod:`reconcile.emulator.shared`. Nothing heavy is imported here so that the CLI starts fast.
"""
