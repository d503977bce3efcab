"""The Azure Machine Learning (AutoML for images) backend (docs/azureml.md).

- :mod:`.target`      -- ``AzureMLTarget``: the workspace, read from an azureml stack's outputs; the api-version.
- :mod:`.automl_data` -- COCO → AutoML JSONL and MLTable, and the checks both must pass.
- :mod:`.naming`      -- content-derived data versions and deterministic job names.
- :mod:`.wire`        -- Azure ML bodies ↔ the neutral values of :mod:`reconcile.backends.base`.
- :mod:`.backend`     -- ``AzureMLBackend``: the :class:`~reconcile.backends.base.Backend` over ``ArmClient``.
- :mod:`.deployments` -- online endpoints, deployments, traffic, gate figures and scoring (mixed into the backend).
"""
