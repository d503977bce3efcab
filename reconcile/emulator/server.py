"""Running the emulator: :func:`start_emulator` (in-process, background thread) and
:meth:`EmulatorServer.serve_forever` (the CLI).

Usage::

    with start_emulator(key="test-key") as srv:       # ManualClock, in-memory state
        httpx.get(srv.endpoint + "/computervision/datasets",
                  params={"api-version": "2023-04-01-preview"},
                  headers={"Ocp-Apim-Subscription-Key": srv.key})
        srv.clock.advance(3600)

With ``state_dir`` the state lives in SQLite and survives restarts; with ``speed``
time runs ``speed`` times faster than real time and the timeline is persisted too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from reconcile.emulator.admin import build_admin
from reconcile.emulator.app import Gateway, Observer, build_app
from reconcile.emulator.clock import Clock
from reconcile.emulator.faults import FaultConfig
from reconcile.emulator.service import Service
from reconcile.emulator.shared.hosting import EmulatorHost
from reconcile.emulator.store import Store
from reconcile.emulator.trainer import Trainer

class EmulatorServer(EmulatorHost):
    """One emulator: store, clock, service, HTTP server. Not started until :meth:`start`."""

    NAME = "emulator"
    THREAD_PREFIX = "vision-emulator"
    GRACEFUL_SHUTDOWN_SECONDS = 2

    def __init__(
        self,
        *,
        key: str | None = "test-key",
        token: str | None = None,
        state_dir: Path | str | None = None,
        speed: float | None = None,
        clock: Clock | None = None,
        faults: FaultConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        trainer: Trainer | None = None,
        file_roots: Sequence[Path | str] = (),
    ) -> None:
        self.key = key
        self.token = token
        self.store: Store = Store(Path(state_dir) if state_dir is not None else None)
        super().__init__(store=self.store, clock=clock, speed=speed, faults=faults, host=host)
        self.service = Service(self.store, self.clock, trainer, file_roots=[Path(r) for r in file_roots])
        self.gateway = Gateway(
            build_app(self.service),
            build_admin(self),
            key=key,
            token=token,
            injector=self._injector,
            log=self.request_log,
        )
        self._listen(port)

    @property
    def api_url(self) -> str:
        return self.endpoint + "/computervision"

    def add_response_observer(self, observer: Observer) -> None:
        """Call ``observer(method, path, query, status, headers, body)`` after every API answer."""
        self.gateway.observers.append(observer)

    def wait_for_runs(self, timeout: float = 120.0) -> bool:
        """Block until no fit or evaluation is running off the request path; False on timeout."""
        return self.service.runs.wait_idle(timeout)

    def _release(self) -> None:
        # A fit still running is abandoned; its run stays pending and is redone at the next start.
        try:
            self.service.close()
        finally:
            self.store.close()


def start_emulator(
    *,
    key: str | None = "test-key",
    token: str | None = None,
    state_dir: Path | str | None = None,
    speed: float | None = None,
    clock: Clock | None = None,
    faults: FaultConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    trainer: Trainer | None = None,
    file_roots: Sequence[Path | str] = (),
) -> EmulatorServer:
    """Start an emulator in a background thread; use it as a context manager or call ``stop()``.

    ``trainer``: the default learns from the pixels (fits run off the request path);
    ``make_trainer("prior")`` is the fast baseline for tests that need speed.
    ``file_roots``: the folders ``file://`` URIs may point into (none by default:
    every ``file://`` URI is refused; see :mod:`reconcile.emulator.fetch`).
    """
    return EmulatorServer(
        key=key, token=token, state_dir=state_dir, speed=speed, clock=clock, faults=faults, host=host, port=port,
        trainer=trainer, file_roots=file_roots,
    ).start()
