"""The admin surface under ``/_emulator`` (not part of the emulated API), for out-of-process use.

- ``GET  /_emulator/health``                 -> ``{"status": "ok"}`` (no auth; readiness probe)
- ``GET  /_emulator/clock``                  -> ``{"now", "epoch", "kind", "speed"?}``
- ``POST /_emulator/clock/advance?seconds=N`` -> moves emulated time forward, returns the clock
- ``GET  /_emulator/requests``               -> ``{"value": [RequestRecord...]}``
- ``DELETE /_emulator/requests``             -> clears the log (204)
- ``GET  /_emulator/faults``                 -> the FaultConfig
- ``PUT  /_emulator/faults``                 -> replaces it (JSON object of FaultConfig fields)
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconcile.emulator.apierror import ApiError, bad_request
from reconcile.emulator.clock import Clock, ManualClock, SpeedClock
from reconcile.emulator.faults import FaultConfig
from reconcile.emulator.requestlog import RequestLog
from reconcile.emulator.service import iso


class AdminControls(Protocol):
    """What the admin routes drive: the emulator server satisfies it without this module
    importing the server (the server builds the admin app, so the reverse import was a cycle)."""

    @property
    def clock(self) -> Clock: ...

    @property
    def request_log(self) -> RequestLog: ...

    @property
    def faults(self) -> FaultConfig: ...

    @faults.setter
    def faults(self, config: FaultConfig) -> None: ...

    def advance_clock(self, seconds: float) -> None: ...


def build_admin(server: AdminControls) -> Starlette:
    def clock_body() -> dict[str, Any]:
        c = server.clock
        now = c.now()
        body: dict[str, Any] = {"now": iso(now), "epoch": now, "kind": "manual" if isinstance(c, ManualClock) else "speed"}
        if isinstance(c, SpeedClock):
            body["speed"] = c.speed
        return body

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def clock(request: Request) -> Response:
        return JSONResponse(clock_body())

    async def advance(request: Request) -> Response:
        raw = request.query_params.get("seconds")
        try:
            seconds = float(raw) if raw is not None else -1.0
        except ValueError:
            seconds = -1.0
        if not seconds >= 0:
            raise bad_request("seconds must be a number >= 0.", inner_code="InvalidSeconds", target="seconds")
        server.advance_clock(seconds)
        return JSONResponse(clock_body())

    async def requests_log(request: Request) -> Response:
        if request.method == "DELETE":
            server.request_log.clear()
            return Response(status_code=204)
        return JSONResponse({"value": [r.to_dict() for r in server.request_log.snapshot()]})

    async def faults(request: Request) -> Response:
        if request.method == "PUT":
            try:
                server.faults = FaultConfig.from_dict(json.loads(await request.body()))
            except (ValueError, TypeError) as exc:
                raise bad_request(f"Invalid fault settings: {exc}.", inner_code="InvalidFaults") from None
        return JSONResponse(server.faults.to_dict())

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return JSONResponse(exc.body(), status_code=exc.status, headers={"x-ms-error-code": exc.code})

    p = "/_emulator"
    return Starlette(
        routes=[
            Route(f"{p}/health", health, methods=["GET"]),
            Route(f"{p}/clock", clock, methods=["GET"]),
            Route(f"{p}/clock/advance", advance, methods=["POST"]),
            Route(f"{p}/requests", requests_log, methods=["GET", "DELETE"]),
            Route(f"{p}/faults", faults, methods=["GET", "PUT"]),
        ],
        exception_handlers={ApiError: on_api_error},
    )
