"""What every group of Azure ML operations shares: settings, the request and answer values, ARM helpers.

The operations themselves live by resource group (:mod:`.assets`, :mod:`.jobs`,
:mod:`.endpoints`) as mixins of :class:`ServiceBase`; :class:`~.service.AzureMLService`
composes them. Every operation takes a :class:`Call` and returns a :class:`Reply`, or
raises :class:`ArmError`. Writes are read-modify-write under the store's lock, so two
racing PUTs of one name give one ``201`` and one ``200``. Time comes only from the clock.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlencode

from reconcile.emulator.azureml import lifecycle
from reconcile.emulator.azureml.arm import PROVIDER, ArmError, Workspace, iso, new_guid, system_data, user_error
from reconcile.emulator.azureml.datastore import BlobDatastore
from reconcile.emulator.azureml.learner import FittedModel, Learner
from reconcile.emulator.azureml.records import Operation, Resource
from reconcile.emulator.azureml.store import Store
from reconcile.emulator.azureml.training import JobRunner
from reconcile.emulator.clock import Clock

DATA, DATA_VERSION, MODEL, MODEL_VERSION = "data", "data_version", "model", "model_version"
JOB, ENDPOINT, DEPLOYMENT, TOMBSTONE = "job", "endpoint", "deployment", "job_tombstone"
NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$")
DATA_REF = re.compile(r"/data/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/?$", re.IGNORECASE)
MODEL_REF = re.compile(r"/models/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/?$", re.IGNORECASE)
SHORT_REF = re.compile(r"^azureml:(?P<name>[^:@/]+)(?::(?P<version>[^/]+)|@(?P<label>latest))?$")
JOB_MODEL_URI = re.compile(r"^azureml://jobs/(?P<run>[^/]+)/outputs/(?:artifacts/(?:paths/)?)?(?P<rest>.*)$")


@dataclass
class Settings:
    """Knobs of the emulated service (one source of truth; tests shrink the times)."""

    page_size: int = 100
    lro_retry_after: float = 10.0
    """Retry-After (s) of LRO answers. ARM sends whole seconds (the swagger's minimum is 10); tests send a
    fraction so that clients poll at once (azure-core treats 0 as "use your own interval", 5-30 s)."""
    endpoint_seconds: float = 60.0
    """Emulated provisioning time of an online endpoint (create, update, delete)."""
    deployment_seconds: float = 300.0
    """Emulated provisioning time of an online deployment."""
    quota_exceeded: bool = False
    """Fault switch: deployment PUTs fail like a subscription without vCPU quota."""
    refuse_data_delete: bool = True
    """DELETE on data assets answers 400 (the service only archives them)."""
    compute_clusters: dict[str, int] = field(default_factory=lambda: {"gpu-cluster": 4})
    """AmlCompute clusters of the workspace (name -> max nodes); jobs must name one of them."""
    compute_vm_size: str = "Standard_NC6s_v3"
    pending_status: str = "NotStarted"
    """The status a job shows before it starts. Microsoft's examples answer ``Scheduled``, a value outside the
    JobStatus enum: set it to exercise a client's rule that unknown statuses mean "still running"."""

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``{name: value}`` changes; ``ValueError`` names an unknown setting or a wrongly typed value."""
        for name, value in changes.items():
            if name not in self.__dataclass_fields__:
                raise ValueError(f"unknown setting {name!r}")
            current = getattr(self, name)
            if isinstance(current, bool) != isinstance(value, bool) or \
                    not isinstance(value, (type(current), int) if isinstance(current, float) else type(current)):
                raise ValueError(f"{name} must be a {type(current).__name__}")
            setattr(self, name, value)


@dataclass(frozen=True, slots=True)
class Call:
    base: str
    """``https://host:port`` as the client reached us (links we hand out use it)."""
    api_version: str
    path: str
    query: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def props_of(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise user_error(f"The request body of {what} must be a JSON object.")
    props = body.get("properties")
    if not isinstance(props, dict):
        raise user_error(f"{what}: 'properties' is required and must be an object.")
    return props


def check_name(name: str, what: str) -> None:
    if not NAME.match(name):
        raise user_error(f"{what} name '{name}' is invalid: use letters, digits, '-' and '_' "
                         "(starting with a letter or digit, at most 255 characters).")


def str_dict(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) or v is None for v in value.values()):
        raise user_error(f"'{where}' must be an object of strings.")
    return {k: v for k, v in value.items() if v is not None}


class ServiceBase:
    """State and ARM helpers shared by the operation mixins (attributes are set by AzureMLService)."""

    store: Store
    clock: Clock
    ws: Workspace
    blobs: BlobDatastore
    learner: Learner
    settings: Settings
    runner: JobRunner
    _models: dict[str, FittedModel]
    """Fitted models loaded for scoring, by artifact key."""

    # --- helpers ------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock.now()

    def arm_id(self, *parts: str) -> str:
        return "/".join((self.ws.scope, *parts))

    def _envelope(self, r: Resource, arm_type: str, arm_id: str, properties: dict[str, Any],
                  tracked: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"id": arm_id, "name": r.name, "type": f"{PROVIDER}/workspaces/{arm_type}",
                               "systemData": system_data(r.created, r.modified), "properties": properties}
        if tracked:
            out["location"] = r.body.get("location") or self.ws.region
            out["tags"] = r.body.get("tags") or {}
            for key in ("kind", "sku"):
                if r.body.get(key) is not None:
                    out[key] = r.body[key]
            identity = r.body.get("identity")
            if isinstance(identity, dict):
                identity = dict(identity)
                if "SystemAssigned" in str(identity.get("type", "")):
                    seed = hashlib.sha256(arm_id.encode()).hexdigest()
                    identity["principalId"] = f"{seed[:8]}-{seed[8:12]}-4{seed[13:16]}-8{seed[17:20]}-{seed[20:32]}"
                    identity["tenantId"] = "72f988bf-0000-4000-8000-000000000000"
                out["identity"] = identity
        return out

    def _page(self, call: Call, items: list[dict[str, Any]]) -> Reply:
        try:
            skip = int(call.query.get("$skipToken") or 0)
            top = int(call.query["$top"]) if call.query.get("$top") else None
        except ValueError:
            raise user_error("$skipToken and $top must be integers.") from None
        if skip < 0 or (top is not None and top < 1):
            raise user_error("$skipToken must be >= 0 and $top >= 1.")
        size = self.settings.page_size if top is None else min(top, self.settings.page_size)
        page = items[skip: skip + size]
        body: dict[str, Any] = {"value": page}
        end = skip + len(page)
        if end < len(items) and (top is None or end < top):
            q = dict(call.query, **{"$skipToken": str(end)})
            body["nextLink"] = f"{call.base}{call.path}?{urlencode(q)}"
        return Reply(200, body)

    @staticmethod
    def _view(call: Call, archived: bool) -> bool:
        view = (call.query.get("listViewType") or "ActiveOnly").lower()
        if view == "all":
            return True
        return archived if view == "archivedonly" else not archived

    def _operation(self, kind: str, seconds: float, *, status: str = "Succeeded",
                   error: str | None = None, no_content: bool = False,
                   target: list[str] | None = None) -> tuple[Operation, str]:
        now = self.now()
        op = Operation(f"{kind}:{new_guid()}:{new_guid()}", now, now + seconds, status, error, no_content, target)
        self.store.put_operation(op)
        return op, op.id

    def _status_url(self, call: Call, op_id: str) -> str:
        return (f"{call.base}/subscriptions/{self.ws.subscription}/providers/{PROVIDER}/locations/{self.ws.region}"
                f"/mfeOperationsStatus/{op_id}?api-version={call.api_version}")

    def _result_url(self, call: Call, op_id: str) -> str:
        return (f"{call.base}/subscriptions/{self.ws.subscription}/providers/{PROVIDER}/locations/{self.ws.region}"
                f"/mfeOperationResults/{op_id}?api-version={call.api_version}")

    def _retry_after(self, whole: bool = False) -> str:
        # Location answers declare Retry-After an integer (clients parse it as one); status polls do not.
        value = self.settings.lro_retry_after
        return str(max(1, math.ceil(value))) if whole else f"{value:g}"

    def _async_headers(self, call: Call, op_id: str) -> dict[str, str]:
        return {"Azure-AsyncOperation": self._status_url(call, op_id), "x-ms-async-operation-timeout": "PT1H",
                "Retry-After": self._retry_after()}

    def _location_headers(self, call: Call, op_id: str) -> dict[str, str]:
        return {"Location": self._result_url(call, op_id), "Retry-After": self._retry_after(whole=True),
                "x-ms-async-operation-timeout": "PT1H"}

    # --- runs (run history and MLflow read these) ----------------------------------------

    def job_and_trial(self, run_id: str) -> tuple[Resource, str | None] | None:
        """The job a run id belongs to, and the child trial's id (None for the parent)."""
        r = self.store.get(JOB, run_id)
        if r is not None:
            return r, None
        parent, sep, _ = run_id.rpartition("_HD_")
        if sep:
            r = self.store.get(JOB, parent)
            if r is not None and r.job and r.job.outcome and any(t.run_id == run_id for t in r.job.outcome.trials):
                if lifecycle.status(r.job, self.now()) in ("Completed", "Finalizing"):
                    return r, run_id
        return None

    # --- LRO polling --------------------------------------------------------------------

    def operation_status(self, call: Call, op_id: str) -> Reply:
        op = self.store.get_operation(op_id)
        if op is None:
            raise ArmError(404, "NotFound", f"Operation '{op_id}' was not found.")
        now = self.now()
        body: dict[str, Any] = {"id": f"{call.path}", "name": op_id, "startTime": iso(op.started)}
        if now < op.done_at:
            body["status"] = "InProgress"
            return Reply(200, body, {"Retry-After": self._retry_after()})
        else:
            body["status"] = op.status
            body["endTime"] = iso(op.done_at)
            if op.error:
                body["error"] = {"code": "DeploymentFailed" if op.id.startswith("od") else "OperationFailed",
                                 "message": op.error}
        return Reply(200, body)

    def operation_result(self, call: Call, op_id: str, render: Callable[[Resource], dict[str, Any]]) -> Reply:
        op = self.store.get_operation(op_id)
        if op is None:
            raise ArmError(404, "NotFound", f"Operation '{op_id}' was not found.")
        if self.now() < op.done_at:
            return Reply(202, None, {"Location": self._result_url(call, op_id),
                                     "Retry-After": self._retry_after(whole=True)})
        if op.status != "Succeeded":
            raise ArmError(400, "OperationFailed", op.error or f"Operation '{op_id}' {op.status.lower()}.")
        if op.no_content:
            return Reply(204)
        if op.target:
            kind, scope, name = op.target
            r = self._settle(self.store.get(kind, name, scope))
            if r is not None:
                return Reply(200, render(r))
        return Reply(200)

    def render_endpoint(self, call: Call) -> Callable[[Resource], dict[str, Any]]:
        return lambda r: self._endpoint_body(call, r)

