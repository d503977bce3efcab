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

import asyncio
import json
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reconcile.emulator.admin import build_admin
from reconcile.emulator.app import Gateway, Observer, build_app
from reconcile.emulator.clock import Clock, ManualClock, SpeedClock
from reconcile.emulator.faults import FaultConfig, FaultInjector
from reconcile.emulator.requestlog import RequestLog
from reconcile.emulator.service import Service
from reconcile.emulator.store import Store
from reconcile.emulator.trainer import Trainer

_CLOCK_META = "speed_clock"
START_TIMEOUT_SECONDS = 15.0


class EmulatorServer:
    """One emulator: store, clock, service, HTTP server. Not started until :meth:`start`."""

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
        self.host = host
        self.store = Store(Path(state_dir) if state_dir is not None else None)
        if clock is None:
            clock = SpeedClock(speed) if speed is not None else ManualClock()
        self.clock = clock
        if isinstance(clock, SpeedClock):
            self._resume_speed_clock(clock)
        self.request_log = RequestLog()
        self._injector = FaultInjector((faults or FaultConfig()).validate())
        self.service = Service(self.store, self.clock, trainer, file_roots=[Path(r) for r in file_roots])
        self.gateway = Gateway(
            build_app(self.service),
            build_admin(self),
            key=key,
            token=token,
            injector=self._injector,
            log=self.request_log,
        )
        # IPPROTO_TCP explicitly: asyncio turns on TCP_NODELAY only for sockets whose proto says TCP;
        # without it every answer waits ~40 ms for a delayed ACK (headers and body are two writes).
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM,
                                   socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # --- public surface ---------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.endpoint + "/computervision"

    @property
    def faults(self) -> FaultConfig:
        return self._injector.config

    @faults.setter
    def faults(self, config: FaultConfig) -> None:
        self._injector.config = config.validate()
        self._injector.reset()

    def add_response_observer(self, observer: Observer) -> None:
        """Call ``observer(method, path, query, status, headers, body)`` after every API answer."""
        self.gateway.observers.append(observer)

    def wait_for_runs(self, timeout: float = 120.0) -> bool:
        """Block until no fit or evaluation is running off the request path; False on timeout."""
        return self.service.runs.wait_idle(timeout)

    def advance_clock(self, seconds: float) -> None:
        """Move emulated time forward (ManualClock or SpeedClock) and persist a speed timeline."""
        self.clock.advance(seconds)  # type: ignore[attr-defined]
        if isinstance(self.clock, SpeedClock):
            self._save_speed_clock(self.clock)

    def start(self) -> "EmulatorServer":
        """Serve in a daemon thread; return once the server accepts connections."""
        self._server = self._make_server()
        self._thread = threading.Thread(target=self._run, name=f"vision-emulator-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the emulator did not start on {self.endpoint}")
            time.sleep(0.005)
        return self

    def serve_forever(self, on_ready: Any = None) -> None:
        """Serve in this thread until interrupted (SIGINT/SIGTERM); call ``on_ready()`` once listening."""
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

    def __enter__(self) -> "EmulatorServer":
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- internals ----------------------------------------------------------------------

    def _make_server(self) -> Any:
        import uvicorn

        config = uvicorn.Config(
            self.gateway,
            http="h11",  # dropped connections rely on h11's request cycle (see app._drop_connection)
            lifespan="off",
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
        return uvicorn.Server(config)

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def _close(self) -> None:
        if isinstance(self.clock, SpeedClock):
            self._save_speed_clock(self.clock)
        try:
            self._sock.close()
        finally:
            # A fit still running is abandoned; its run stays pending and is redone at the next start.
            self.service.close()
            self.store.close()

    def _resume_speed_clock(self, clock: SpeedClock) -> None:
        saved = self.store.get_meta(_CLOCK_META)
        if saved is not None:
            data = json.loads(saved)
            real_now = time.time()
            emulated = data["emulated_epoch"] + (real_now - data["real_epoch"]) * data["speed"]
            # Emulated time kept running (at the saved speed) while the emulator was stopped.
            clock.anchor(real_now, emulated)
        self._save_speed_clock(clock)

    def _save_speed_clock(self, clock: SpeedClock) -> None:
        # Anchor "now" so a different speed next time continues from here.
        real_now = time.time()
        emulated = clock.now()
        if self.store.path is None:
            return
        try:
            self.store.set_meta(
                _CLOCK_META, json.dumps({"real_epoch": real_now, "emulated_epoch": emulated, "speed": clock.speed})
            )
        except Exception:  # noqa: BLE001 - the store may already be closed at shutdown
            pass


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
