"""Local emulator of the Azure Machine Learning REST API (AutoML for images), beside the Vision one.

It serves the ARM operations our backend and the official ``azure-ai-ml`` SDK use
(workspace, datastores, data and model assets, jobs, online endpoints and
deployments), the two LRO status routes, and the planes outside ARM (discovery, run
history, MLflow, scoring). Blob data lives in Azurite. Start it with
``reconcile emulator serve --service azureml`` or in-process with
:func:`reconcile.emulator.azureml.server.start_azureml_emulator`.

Shared with the Vision emulator by import: the clocks, fault injection, the request
log and :mod:`reconcile.emulator.shared` (hosting, gateway pieces, admin routes, the
SQLite store base). Nothing heavy is imported here.
"""
