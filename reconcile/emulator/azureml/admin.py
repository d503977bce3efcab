"""The Azure ML emulator's admin surface under ``/_emulator``: health, clock, request log, faults, throttling.

The shared routes (:mod:`reconcile.emulator.shared.admin`), plus ``/_emulator/throttle`` (bucket sizes),
``/_emulator/settings`` (the service's knobs: provisioning times, LRO Retry-After, the
quota fault...) and ``/_emulator/datastore`` (where the workspace's blobs live, without the key).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconcile.emulator.azureml.arm import ArmError, iso
from reconcile.emulator.azureml.service import AzureMLService
from reconcile.emulator.azureml.throttle import BucketSize, Throttle, ThrottleConfig
from reconcile.emulator.shared.admin import AdminControls, AdminInput, build_admin_app
from reconcile.emulator.shared.gateway import ADMIN_PREFIX


class AzureMLAdminControls(AdminControls, Protocol):
    """What the Azure ML admin routes drive besides the shared ones (the server satisfies it,
    without this module importing the server, which builds the admin app)."""

    @property
    def throttle(self) -> Throttle: ...

    @property
    def service(self) -> AzureMLService: ...


def _invalid(message: str, which: AdminInput) -> ArmError:
    return ArmError(400, "UserError", message)


def build_admin(server: AzureMLAdminControls) -> Starlette:
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

    p = ADMIN_PREFIX
    return build_admin_app(server, error_type=ArmError, invalid=_invalid, iso=iso,
                           health={"status": "ok", "service": "azureml"}, extra_routes=[
                               Route(f"{p}/throttle", throttle, methods=["GET", "PUT"]),
                               Route(f"{p}/settings", settings, methods=["GET", "PUT"]),
                               Route(f"{p}/datastore", datastore, methods=["GET"]),
                           ])
