"""The Azure ML emulator's operations in one object: assets, jobs and endpoints over one store and clock."""

from __future__ import annotations

from reconcile.emulator.azureml.arm import Workspace
from reconcile.emulator.azureml.assets import AssetOperations
from reconcile.emulator.azureml.base import Call, Reply, ServiceBase, Settings
from reconcile.emulator.azureml.datastore import BlobDatastore
from reconcile.emulator.azureml.endpoints import EndpointOperations
from reconcile.emulator.azureml.jobs import JobOperations
from reconcile.emulator.azureml.learner import FittedModel, Learner
from reconcile.emulator.azureml.store import Store
from reconcile.emulator.azureml.training import JobRunner
from reconcile.emulator.clock import Clock

__all__ = ["AzureMLService", "Call", "Reply", "Settings"]


class AzureMLService(AssetOperations, JobOperations, EndpointOperations, ServiceBase):
    def __init__(self, store: Store, clock: Clock, workspace: Workspace, blobs: BlobDatastore, learner: Learner,
                 settings: Settings | None = None) -> None:
        self.store = store
        self.clock = clock
        self.ws = workspace
        self.blobs = blobs
        self.learner = learner
        self.settings = settings or Settings()
        self.runner = JobRunner(blobs, learner, store.put_artifact, self._training_done)
        self._models: dict[str, FittedModel] = {}
