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

import asyncio
import json
import socket
import tempfile
import threading
import time
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
from reconcile.emulator.clock import Clock, ManualClock, SpeedClock
from reconcile.emulator.faults import FaultConfig, FaultInjector
from reconcile.emulator.requestlog import RequestLog

_CLOCK_META = "speed_clock"
START_TIMEOUT_SECONDS = 15.0


class AzureMLEmulatorServer:
    """One emulator: store, clock, service, HTTP(S) server. Not started until :meth:`start`."""

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
        self.host = host
        self.store = Store(Path(state_dir) if state_dir is not None else None)
        if clock is None:
            clock = SpeedClock(speed) if speed is not None else ManualClock()
        self.clock = clock
        if isinstance(clock, SpeedClock):
            self._resume_speed_clock(clock)
        self.request_log = RequestLog()
        self.throttle = Throttle(throttle)
        self._injector = FaultInjector((faults or FaultConfig()).validate())
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
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM,
                                   socket.IPPROTO_TCP)  # IPPROTO_TCP: asyncio then sets TCP_NODELAY (no 40 ms ACK waits)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.service.resume_training()

    # --- public surface ---------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.cert else 'http'}://{host}:{self.port}"

    @property
    def workspace_url(self) -> str:
        return self.endpoint + self.workspace.scope

    @property
    def cert_file(self) -> Path | None:
        return self.cert.cert if self.cert else None

    @property
    def faults(self) -> FaultConfig:
        return self._injector.config

    @faults.setter
    def faults(self, config: FaultConfig) -> None:
        self._injector.config = config.validate()
        self._injector.reset()

    @property
    def settings(self) -> Settings:
        return self.service.settings

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer(method, path, query, request_body, status, headers, body)`` after every answer."""
        self.gateway.observers.append(observer)

    def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)  # type: ignore[attr-defined]
        if isinstance(self.clock, SpeedClock):
            self._save_speed_clock(self.clock)

    def wait_for_training(self, timeout: float = 60.0) -> bool:
        """Block until every submitted job has trained (its outcome stored); False on timeout."""
        return self.service.runner.wait_idle(timeout)

    def start(self) -> "AzureMLEmulatorServer":
        self._server = self._make_server()
        self._thread = threading.Thread(target=self._run, name=f"azureml-emulator-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the Azure ML emulator did not start on {self.endpoint}")
            time.sleep(0.005)
        return self

    def serve_forever(self, on_ready: Any = None) -> None:
        self._server = self._make_server()
        if on_ready is not None:
            def _watch() -> None:
                while not self._server.started and not self._server.should_exit:
                    time.sleep(0.01)
                if self._server.started:
                    on_ready()

            threading.Thread(target=_watch, daemon=True).start()
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self._close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._close()

    def __enter__(self) -> "AzureMLEmulatorServer":
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- internals ----------------------------------------------------------------------

    def _make_server(self) -> Any:
        import uvicorn

        kwargs: dict[str, Any] = {}
        if self.cert is not None:
            kwargs = {"ssl_certfile": str(self.cert.cert), "ssl_keyfile": str(self.cert.key)}
        config = uvicorn.Config(self.gateway, http="h11", lifespan="off", access_log=False, log_level="warning",
                                timeout_graceful_shutdown=1, **kwargs)
        return uvicorn.Server(config)

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def _close(self) -> None:
        self.service.runner.shutdown()
        if isinstance(self.clock, SpeedClock):
            self._save_speed_clock(self.clock)
        try:
            self._sock.close()
        finally:
            self.store.close()
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    def _resume_speed_clock(self, clock: SpeedClock) -> None:
        saved = self.store.get_meta(_CLOCK_META)
        if saved is not None:
            data = json.loads(saved)
            real_now = time.time()
            clock.anchor(real_now, data["emulated_epoch"] + (real_now - data["real_epoch"]) * data["speed"])
        self._save_speed_clock(clock)

    def _save_speed_clock(self, clock: SpeedClock) -> None:
        if self.store.path is None:
            return
        try:
            self.store.set_meta(_CLOCK_META, json.dumps({"real_epoch": time.time(), "emulated_epoch": clock.now(),
                                                         "speed": clock.speed}))
        except Exception:  # noqa: BLE001 - the store may already be closed at shutdown
            pass


def start_azureml_emulator(**kwargs: Any) -> AzureMLEmulatorServer:
    """Start an Azure ML emulator in a background thread (arguments as :class:`AzureMLEmulatorServer`)."""
    return AzureMLEmulatorServer(**kwargs).start()
