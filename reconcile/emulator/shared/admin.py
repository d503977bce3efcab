"""The ``/_emulator`` routes every emulator room serves (not part of any emulated API).

- ``GET  /_emulator/health``                 -> ``{"status": "ok", ...}`` (no auth; readiness probe)
- ``GET  /_emulator/clock``                  -> ``{"now", "epoch", "kind", "speed"?}``
- ``POST /_emulator/clock/advance?seconds=N`` -> moves emulated time forward, returns the clock
- ``GET  /_emulator/requests``               -> ``{"value": [RequestRecord...]}``
- ``DELETE /_emulator/requests``             -> clears the log (204)
- ``GET  /_emulator/faults``                 -> the FaultConfig
- ``PUT  /_emulator/faults``                 -> replaces it (JSON object of FaultConfig fields)

A room adds its own routes and says how its errors look; the server is reached only
through :class:`AdminControls`, so this module never imports a server (which builds it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reconcile.emulator.clock import Clock, ManualClock, SpeedClock
from reconcile.emulator.faults import FaultConfig
from reconcile.emulator.requestlog import RequestLog
from reconcile.emulator.shared.gateway import ADMIN_PREFIX, ErrorAnswer

#: Which admin input was refused: the ``seconds`` of a clock advance, or a fault config.
AdminInput = Literal["seconds", "faults"]


class AdminControls(Protocol):
    """What the admin routes drive; every emulator server satisfies it."""

    @property
    def clock(self) -> Clock: ...

    @property
    def request_log(self) -> RequestLog: ...

    @property
    def faults(self) -> FaultConfig: ...

    @faults.setter
    def faults(self, config: FaultConfig) -> None: ...

    def advance_clock(self, seconds: float) -> None: ...


def build_admin_app(
    controls: AdminControls,
    *,
    error_type: type[Exception],
    invalid: Callable[[str, AdminInput], Exception],
    iso: Callable[[float], str],
    health: dict[str, str],
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The admin app: the shared routes plus ``extra_routes``.

    ``invalid(message, which)`` makes the room's 400 for bad admin input; ``error_type``
    (an :class:`~reconcile.emulator.shared.gateway.ErrorAnswer`) is answered as JSON with
    ``x-ms-error-code``; ``iso`` formats the clock's ``now`` as the room's API does.
    """

    def clock_body() -> dict[str, Any]:
        c = controls.clock
        now = c.now()
        body: dict[str, Any] = {"now": iso(now), "epoch": now, "kind": "manual" if isinstance(c, ManualClock) else "speed"}
        if isinstance(c, SpeedClock):
            body["speed"] = c.speed
        return body

    async def health_route(request: Request) -> Response:
        return JSONResponse(health)

    async def clock(request: Request) -> Response:
        return JSONResponse(clock_body())

    async def advance(request: Request) -> Response:
        raw = request.query_params.get("seconds")
        try:
            seconds = float(raw) if raw is not None else -1.0
        except ValueError:
            seconds = -1.0
        if not seconds >= 0:
            raise invalid("seconds must be a number >= 0.", "seconds")
        controls.advance_clock(seconds)
        return JSONResponse(clock_body())

    async def requests_log(request: Request) -> Response:
        if request.method == "DELETE":
            controls.request_log.clear()
            return Response(status_code=204)
        return JSONResponse({"value": [r.to_dict() for r in controls.request_log.snapshot()]})

    async def faults(request: Request) -> Response:
        if request.method == "PUT":
            try:
                controls.faults = FaultConfig.from_dict(json.loads(await request.body()))
            except (ValueError, TypeError) as exc:
                raise invalid(f"Invalid fault settings: {exc}.", "faults") from None
        return JSONResponse(controls.faults.to_dict())

    async def on_error(request: Request, exc: Exception) -> Response:
        err: ErrorAnswer = exc  # type: ignore[assignment]  # registered for error_type only
        return JSONResponse(err.body(), status_code=err.status, headers={"x-ms-error-code": err.code})

    p = ADMIN_PREFIX
    return Starlette(
        routes=[
            Route(f"{p}/health", health_route, methods=["GET"]),
            Route(f"{p}/clock", clock, methods=["GET"]),
            Route(f"{p}/clock/advance", advance, methods=["POST"]),
            Route(f"{p}/requests", requests_log, methods=["GET", "DELETE"]),
            Route(f"{p}/faults", faults, methods=["GET", "PUT"]),
            *extra_routes,
        ],
        exception_handlers={error_type: on_error},
    )
