"""Running the Azure ML emulator: :func:`start_azureml_emulator` (in-process, background thread)
and :meth:`AzureMLEmulatorServer.serve_forever` (the CLI).

Usage::

    with start_azureml_emulator(blob=BlobConfig(endpoint, account, key)) as srv:   # ManualClock, memory
        httpx.get(srv.workspace_url, params={"api-version": "2024-04-01"},
                  headers={"Authorization": "Bearer anything"})
        srv.advance_clock(600)

``tls=True`` serves HTTPS with a throwaway certificate (``srv.cert_file``), which
azure-ai-ml needs; ``state_dir`` keeps state in SQLite across restarts; ``speed``
runs emulated time that many times faster than real time.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from reconcile.emulator.azureml.admin import build_admin
from reconcile.emulator.azureml.app import Gateway, Observer, build_app
from reconcile.emulator.azureml.arm import Workspace
from reconcile.emulator.azureml.datastore import BlobConfig, BlobDatastore
from reconcile.emulator.azureml.learner import Learner
from reconcile.emulator.azureml.pixel_learner import PixelLearner
from reconcile.emulator.azureml.service import AzureMLService, Settings
from reconcile.emulator.azureml.store import Store
from reconcile.emulator.azureml.throttle import Throttle, ThrottleConfig
from reconcile.emulator.azureml.tls import CertFiles, make_certificate
from reconcile.emulator.clock import Clock
from reconcile.emulator.faults import FaultConfig
from reconcile.emulator.shared.hosting import EmulatorHost


class AzureMLEmulatorServer(EmulatorHost):
    """One emulator: store, clock, service, HTTP(S) server. Not started until :meth:`start`."""

    NAME = "Azure ML emulator"
    THREAD_PREFIX = "azureml-emulator"
    GRACEFUL_SHUTDOWN_SECONDS = 1

    def __init__(
        self,
        *,
        blob: BlobConfig | None = None,
        workspace: Workspace | None = None,
        token: str | None = None,
        state_dir: Path | str | None = None,
        speed: float | None = None,
        clock: Clock | None = None,
        faults: FaultConfig | None = None,
        throttle: ThrottleConfig | None = None,
        settings: Settings | None = None,
        learner: Learner | None = None,
        tls: bool | CertFiles = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.store: Store = Store(Path(state_dir) if state_dir is not None else None)
        super().__init__(store=self.store, clock=clock, speed=speed, faults=faults, host=host)
        self.throttle = Throttle(throttle)
        self.workspace = workspace or Workspace()
        blobs = BlobDatastore(blob)
        blobs.ensure()
        self.service = AzureMLService(self.store, self.clock, self.workspace, blobs, learner or PixelLearner(),
                                      settings)
        self.gateway = Gateway(build_app(self.service), build_admin(self), token=token, throttle=self.throttle,
                               injector=self._injector, log=self.request_log)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.cert: CertFiles | None = None
        if tls is True:
            self._tmp = tempfile.TemporaryDirectory(prefix="azureml-emulator-tls-")
            self.cert = make_certificate(Path(self._tmp.name), hosts=(host, "localhost"))
        elif isinstance(tls, CertFiles):
            self.cert = tls
        self._listen(port)
        self.service.resume_training()

    # --- public surface ---------------------------------------------------------------

    @property
    def scheme(self) -> str:
        return "https" if self.cert else "http"

    @property
    def workspace_url(self) -> str:
        return self.endpoint + self.workspace.scope

    @property
    def cert_file(self) -> Path | None:
        return self.cert.cert if self.cert else None

    @property
    def settings(self) -> Settings:
        return self.service.settings

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer(method, path, query, request_body, status, headers, body)`` after every answer."""
        self.gateway.observers.append(observer)

    def wait_for_training(self, timeout: float = 60.0) -> bool:
        """Block until every submitted job has trained (its outcome stored); False on timeout."""
        return self.service.runner.wait_idle(timeout)

    # --- hosting hooks -------------------------------------------------------------------

    def _ssl_options(self) -> dict[str, str]:
        if self.cert is None:
            return {}
        return {"ssl_certfile": str(self.cert.cert), "ssl_keyfile": str(self.cert.key)}

    def _stop_work(self) -> None:
        self.service.runner.shutdown()

    def _release(self) -> None:
        self.store.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def start_azureml_emulator(**kwargs: Any) -> AzureMLEmulatorServer:
    """Start an Azure ML emulator in a background thread (arguments as :class:`AzureMLEmulatorServer`)."""
    return AzureMLEmulatorServer(**kwargs).start()
