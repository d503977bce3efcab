"""The Azure ML emulator's admin surface under ``/_emulator``: health, clock, request log, faults, throttling.

The same surface as the Vision emulator's, plus ``/_emulator/throttle`` (bucket sizes),
``/_emulator/settings`` (the service's knobs: provisioning times, LRO Retry-After, the
quota fault...) and ``/_emulator/datastore`` (where the workspace's blobs live, without the key).
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconcile.emulator.azureml.arm import ArmError, iso
from reconcile.emulator.azureml.throttle import BucketSize, ThrottleConfig
from reconcile.emulator.clock import ManualClock, SpeedClock
from reconcile.emulator.faults import FaultConfig

if TYPE_CHECKING:
    from reconcile.emulator.azureml.server import AzureMLEmulatorServer


def build_admin(server: "AzureMLEmulatorServer") -> Starlette:
    def clock_body() -> dict[str, Any]:
        c = server.clock
        body: dict[str, Any] = {"now": iso(c.now()), "epoch": c.now(),
                                "kind": "manual" if isinstance(c, ManualClock) else "speed"}
        if isinstance(c, SpeedClock):
            body["speed"] = c.speed
        return body

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "service": "azureml"})

    async def clock(request: Request) -> Response:
        return JSONResponse(clock_body())

    async def advance(request: Request) -> Response:
        try:
            seconds = float(request.query_params.get("seconds", "-1"))
        except ValueError:
            seconds = -1.0
        if not seconds >= 0:
            raise ArmError(400, "UserError", "seconds must be a number >= 0.")
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
                raise ArmError(400, "UserError", f"Invalid fault settings: {exc}.") from None
        return JSONResponse(server.faults.to_dict())

    async def throttle(request: Request) -> Response:
        if request.method == "PUT":
            try:
                doc = json.loads(await request.body())
                sizes = {k: BucketSize(float(v["capacity"]), float(v["refill_per_second"]))
                         for k, v in doc.items() if k in ("reads", "writes", "deletes")}
                server.throttle.config = ThrottleConfig(**sizes, enabled=bool(doc.get("enabled", True)))
                server.throttle.reset()
            except (ValueError, TypeError, KeyError) as exc:
                raise ArmError(400, "UserError", f"Invalid throttle settings: {exc}.") from None
        c = server.throttle.config
        return JSONResponse({**{k: {"capacity": getattr(c, k).capacity,
                                    "refill_per_second": getattr(c, k).refill_per_second}
                                for k in ("reads", "writes", "deletes")},
                             "enabled": c.enabled, "refused": server.throttle.refused})

    async def settings(request: Request) -> Response:
        current = server.service.settings
        if request.method == "PUT":
            try:
                changes = json.loads(await request.body())
                if not isinstance(changes, dict):
                    raise ValueError("send a JSON object of settings")
                current.update(changes)
            except ValueError as exc:
                raise ArmError(400, "UserError", f"Invalid settings: {exc}.") from None
        return JSONResponse(dataclasses.asdict(current))

    async def datastore(request: Request) -> Response:
        cfg = server.service.blobs.config
        return JSONResponse({"configured": cfg is not None, "endpoint": cfg.endpoint if cfg else None,
                             "account": cfg.account if cfg else None, "container": cfg.container if cfg else None})

    async def on_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ArmError)
        return JSONResponse(exc.body(), status_code=exc.status, headers={"x-ms-error-code": exc.code})

    p = "/_emulator"
    return Starlette(routes=[
        Route(f"{p}/health", health, methods=["GET"]),
        Route(f"{p}/clock", clock, methods=["GET"]),
        Route(f"{p}/clock/advance", advance, methods=["POST"]),
        Route(f"{p}/requests", requests_log, methods=["GET", "DELETE"]),
        Route(f"{p}/faults", faults, methods=["GET", "PUT"]),
        Route(f"{p}/throttle", throttle, methods=["GET", "PUT"]),
        Route(f"{p}/settings", settings, methods=["GET", "PUT"]),
        Route(f"{p}/datastore", datastore, methods=["GET"]),
    ], exception_handlers={ArmError: on_error})
