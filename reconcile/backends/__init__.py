"""The backend seam: everything the planner and the executor need from a service.

- :mod:`reconcile.backends.base`   -- the :class:`Backend` protocol and the typed live values.
- :mod:`reconcile.backends.vision` -- Image Analysis 4.0 model customization over REST.
- :mod:`reconcile.backends.azureml` -- Azure Machine Learning AutoML for images over ARM (docs/azureml.md).
- :mod:`reconcile.backends.kinds`  -- each service kind's capabilities, known without a session.

A second backend (Azure AI Custom Vision) implements the same protocol; nothing
outside this package knows which service it talks to.
"""
