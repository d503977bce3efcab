"""Hosting an emulator: the listening socket, uvicorn in a background thread or in the
foreground, and the speed clock's timeline kept in the store across restarts.

A room's server subclasses :class:`EmulatorHost`: it builds its store, service and
gateway, then calls :meth:`EmulatorHost._listen`; it says what to stop before and
release after the socket closes (:meth:`_stop_work`, :meth:`_release`).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self

from reconcile.emulator.clock import Clock, ManualClock, SpeedClock
from reconcile.emulator.faults import FaultConfig, FaultInjector
from reconcile.emulator.requestlog import RequestLog
from reconcile.emulator.shared.gateway import ASGIApp

START_TIMEOUT_SECONDS = 15.0
_CLOCK_META = "speed_clock"


class MetaStore(Protocol):
    """Where the speed clock's timeline is kept (a :class:`~.sqlite.SqliteStore`)."""

    path: Path | None

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...


class EmulatorHost:
    """Clock, request log, fault injector and HTTP server of one emulator. Not serving until
    :meth:`start` (background thread) or :meth:`serve_forever` (this thread)."""

    NAME: ClassVar[str] = "emulator"
    """Start-up errors say "the NAME did not start"."""
    THREAD_PREFIX: ClassVar[str] = "emulator"
    """The serving thread is THREAD_PREFIX-port."""
    GRACEFUL_SHUTDOWN_SECONDS: ClassVar[float] = 2

    gateway: ASGIApp

    def __init__(self, *, store: MetaStore, clock: Clock | None, speed: float | None,
                 faults: FaultConfig | None, host: str) -> None:
        self.host = host
        self.store = store
        if clock is None:
            clock = SpeedClock(speed) if speed is not None else ManualClock()
        self.clock = clock
        if isinstance(clock, SpeedClock):
            self._resume_speed_clock(clock)
        self.request_log = RequestLog()
        self._injector = FaultInjector((faults or FaultConfig()).validate())
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def _listen(self, port: int) -> None:
        """Bind the socket (``port`` 0: any free one) so :attr:`port` is known before serving."""
        # IPPROTO_TCP explicitly: asyncio turns on TCP_NODELAY only for sockets whose proto says TCP;
        # without it every answer waits ~40 ms for a delayed ACK (headers and body are two writes).
        self._sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM,
                                   socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, port))
        self.port: int = self._sock.getsockname()[1]

    # --- public surface ---------------------------------------------------------------

    @property
    def scheme(self) -> str:
        return "http"

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def faults(self) -> FaultConfig:
        return self._injector.config

    @faults.setter
    def faults(self, config: FaultConfig) -> None:
        self._injector.config = config.validate()
        self._injector.reset()

    def advance_clock(self, seconds: float) -> None:
        """Move emulated time forward (ManualClock or SpeedClock) and persist a speed timeline."""
        self.clock.advance(seconds)  # type: ignore[attr-defined]
        if isinstance(self.clock, SpeedClock):
            self._save_speed_clock(self.clock)

    def start(self) -> Self:
        """Serve in a daemon thread; return ``self`` once the server accepts connections.
        Raises RuntimeError when it is not listening within ``START_TIMEOUT_SECONDS``."""
        self._server = self._make_server()
        self._thread = threading.Thread(target=self._run, name=f"{self.THREAD_PREFIX}-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {self.NAME} did not start on {self.endpoint}")
            time.sleep(0.005)
        return self

    def serve_forever(self, on_ready: Callable[[], None] | None = None) -> None:
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

    def __enter__(self) -> Self:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what a room adds -----------------------------------------------------------------

    def _ssl_options(self) -> dict[str, str]:
        """uvicorn's ``ssl_certfile``/``ssl_keyfile`` when the room serves HTTPS."""
        return {}

    def _stop_work(self) -> None:
        """Before the socket closes: stop background work that writes to the store."""

    def _release(self) -> None:
        """After the socket closed (also when closing it failed): close the service and the store."""

    # --- internals ----------------------------------------------------------------------

    def _make_server(self) -> Any:
        import uvicorn

        config = uvicorn.Config(
            self.gateway,
            http="h11",  # dropped connections rely on h11's request cycle (see gateway.drop_connection)
            lifespan="off",
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=self.GRACEFUL_SHUTDOWN_SECONDS,
            **self._ssl_options(),
        )
        return uvicorn.Server(config)

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def _close(self) -> None:
        self._stop_work()
        if isinstance(self.clock, SpeedClock):
            self._save_speed_clock(self.clock)
        try:
            self._sock.close()
        finally:
            self._release()

    def _resume_speed_clock(self, clock: SpeedClock) -> None:
        saved = self.store.get_meta(_CLOCK_META)
        if saved is not None:
            data = json.loads(saved)
            real_now = time.time()
            # Emulated time kept running (at the saved speed) while the emulator was stopped.
            clock.anchor(real_now, data["emulated_epoch"] + (real_now - data["real_epoch"]) * data["speed"])
        self._save_speed_clock(clock)

    def _save_speed_clock(self, clock: SpeedClock) -> None:
        # Anchor "now" so a different speed next time continues from here.
        if self.store.path is None:
            return
        try:
            self.store.set_meta(_CLOCK_META, json.dumps({"real_epoch": time.time(), "emulated_epoch": clock.now(),
                                                         "speed": clock.speed}))
        except Exception:  # noqa: BLE001 - the store may already be closed at shutdown
            pass
