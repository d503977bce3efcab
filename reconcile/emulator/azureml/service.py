"""The Azure ML operations: what each ARM route does to the store and answers (REFERENCE §2–3).

Every method takes a :class:`Call` (the request's base URL, api-version and query)
and returns a :class:`Reply`, or raises :class:`ArmError`. Writes are
read-modify-write under the store's lock, so two racing PUTs of one name give one
``201`` and one ``200``. Time comes only from the clock; training from the
:class:`JobRunner`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlencode

from reconcile.emulator.azureml import lifecycle
from reconcile.emulator.azureml.arm import (
    PROVIDER, ArmError, Workspace, iso, new_guid, not_found, system_data, user_error,
)
from reconcile.emulator.azureml.datastore import DEFAULT_DATASTORE, BlobDatastore, datastore_path
from reconcile.emulator.azureml.learner import TASKS, FittedModel, Learner
from reconcile.emulator.azureml.records import JobState, Operation, Outcome, Provisioning, Resource
from reconcile.emulator.azureml.store import Store
from reconcile.emulator.azureml.training import DEFAULT_VALIDATION_SIZE, JobInputs, JobRunner
from reconcile.emulator.clock import Clock

DATA, DATA_VERSION, MODEL, MODEL_VERSION = "data", "data_version", "model", "model_version"
JOB, ENDPOINT, DEPLOYMENT, TOMBSTONE = "job", "endpoint", "deployment", "job_tombstone"
NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$")
_DATA_REF = re.compile(r"/data/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/?$", re.IGNORECASE)
_MODEL_REF = re.compile(r"/models/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/?$", re.IGNORECASE)
_SHORT_REF = re.compile(r"^azureml:(?P<name>[^:@/]+)(?::(?P<version>[^/]+)|@(?P<label>latest))?$")
_JOB_MODEL_URI = re.compile(r"^azureml://jobs/(?P<run>[^/]+)/outputs/(?:artifacts/(?:paths/)?)?(?P<rest>.*)$")


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


def _props(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise user_error(f"The request body of {what} must be a JSON object.")
    props = body.get("properties")
    if not isinstance(props, dict):
        raise user_error(f"{what}: 'properties' is required and must be an object.")
    return props


def _check_name(name: str, what: str) -> None:
    if not NAME.match(name):
        raise user_error(f"{what} name '{name}' is invalid: use letters, digits, '-' and '_' "
                         "(starting with a letter or digit, at most 255 characters).")


def _str_dict(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) or v is None for v in value.values()):
        raise user_error(f"'{where}' must be an object of strings.")
    return {k: v for k, v in value.items() if v is not None}


class AzureMLService:
    def __init__(self, store: Store, clock: Clock, workspace: Workspace, blobs: BlobDatastore, learner: Learner,
                 settings: Settings | None = None) -> None:
        self.store = store
        self.clock = clock
        self.ws = workspace
        self.blobs = blobs
        self.learner = learner
        self.settings = settings or Settings()
        self.runner = JobRunner(blobs, learner, store.put_artifact, self._training_done)
        self._models: dict[str, FittedModel] = {}

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

    # --- workspace and datastores -------------------------------------------------------

    def workspace(self, call: Call) -> Reply:
        rg_id = f"/subscriptions/{self.ws.subscription}/resourceGroups/{self.ws.resource_group}/providers"
        host = call.base.split("://", 1)[-1]
        props = {
            "workspaceId": self.ws.workspace_id,
            "friendlyName": self.ws.name,
            "description": "Emulated Azure Machine Learning workspace (vision-gitops)",
            "storageAccount": f"{rg_id}/Microsoft.Storage/storageAccounts/emulatedstorage",
            "keyVault": f"{rg_id}/Microsoft.KeyVault/vaults/emulatedvault",
            "applicationInsights": f"{rg_id}/Microsoft.insights/components/emulatedinsights",
            "containerRegistry": f"{rg_id}/Microsoft.ContainerRegistry/registries/emulatedregistry",
            "discoveryUrl": f"{call.base}/discovery",
            "mlFlowTrackingUri": f"azureml://{host}/mlflow/v1.0{self.ws.scope}",
            "provisioningState": "Succeeded",
            "v1LegacyMode": False,
            "publicNetworkAccess": "Enabled",
            "hbiWorkspace": False,
        }
        return Reply(200, {
            "id": self.ws.scope, "name": self.ws.name, "type": f"{PROVIDER}/workspaces", "location": self.ws.region,
            "tags": {}, "kind": "Default", "sku": {"name": "Basic", "tier": "Basic"},
            "identity": {"type": "SystemAssigned", "principalId": "0d9f8a70-0000-4000-8000-00000000a001",
                         "tenantId": "72f988bf-0000-4000-8000-000000000000"},
            "systemData": system_data(0.0, 0.0), "properties": props,
        })

    def discovery(self, base: str) -> dict[str, str]:
        keys = ("api", "catalog", "experimentation", "gallery", "history", "hyperdrive", "labeling",
                "modelmanagement", "pipelines", "studio")
        return {k: base for k in keys}

    def _datastore(self) -> dict[str, Any]:
        cfg = self.blobs.config
        return {
            "id": self.arm_id("datastores", DEFAULT_DATASTORE), "name": DEFAULT_DATASTORE,
            "type": f"{PROVIDER}/workspaces/datastores", "systemData": system_data(0.0, 0.0),
            "properties": {
                "datastoreType": "AzureBlob", "accountName": cfg.account if cfg else "devstoreaccount1",
                "containerName": cfg.container if cfg else "azureml-blobstore", "endpoint": "core.windows.net",
                "protocol": "https", "isDefault": True,
                "credentials": {"credentialsType": "AccountKey", "secrets": {"secretsType": "AccountKey"}},
                "serviceDataAccessAuthIdentity": "None", "description": "The workspace's default blob store",
                "tags": {}, "properties": {},
            },
        }

    def list_datastores(self, call: Call) -> Reply:
        items = [self._datastore()]
        if call.query.get("isDefault", "").lower() == "false":
            items = []
        names = call.query.get("names")
        if names:
            items = [d for d in items if d["name"] in names.split(",")]
        return self._page(call, items)

    def get_datastore(self, call: Call, name: str) -> Reply:
        if name != DEFAULT_DATASTORE:
            raise not_found("Datastore", name)
        return Reply(200, self._datastore())

    def datastore_secrets(self, call: Call, name: str) -> Reply:
        if name != DEFAULT_DATASTORE:
            raise not_found("Datastore", name)
        if self.blobs.config is None:
            raise user_error("The emulator has no blob storage configured, so the datastore has no key.")
        return Reply(200, {"secretsType": "AccountKey", "key": self.blobs.config.key})

    # --- data and model assets ---------------------------------------------------------

    def _container_body(self, kind: str, r: Resource) -> dict[str, Any]:
        versions = self.store.all(kind + "_version", r.name)
        numeric = [int(v.name) for v in versions if v.name.isdigit()]
        props = dict(r.body.get("properties") or {})
        props.setdefault("isArchived", False)
        props.setdefault("tags", {})
        props.setdefault("properties", {})
        if versions:
            props["latestVersion"] = versions[-1].name
        props["nextVersion"] = str(max(numeric, default=0) + 1)
        arm = "data" if kind == DATA else "models"
        return self._envelope(r, arm, self.arm_id(arm, r.name), props)

    def get_container(self, call: Call, kind: str, name: str) -> Reply:
        r = self.store.get(kind, name)
        if r is None:
            raise not_found("Data asset" if kind == DATA else "Model", name)
        return Reply(200, self._container_body(kind, r))

    def list_containers(self, call: Call, kind: str) -> Reply:
        items = [self._container_body(kind, r) for r in self.store.all(kind)
                 if self._view(call, bool((r.body.get("properties") or {}).get("isArchived")))]
        return self._page(call, items)

    def put_container(self, call: Call, kind: str, name: str, body: Any) -> Reply:
        _check_name(name, "Data asset" if kind == DATA else "Model")
        props = _props(body, "a container")
        if kind == DATA and props.get("dataType") not in ("mltable", "uri_file", "uri_folder"):
            raise user_error("properties.dataType is required: mltable, uri_file or uri_folder.")
        keep = {k: props[k] for k in ("description", "tags", "properties", "isArchived", "dataType") if k in props}
        now = self.now()
        with self.store.lock:
            old = self.store.get(kind, name)
            if old is None:
                self.store.insert(Resource(kind, "", name, now, now, {"properties": keep}))
                status = 201
            else:
                if kind == DATA and keep.get("dataType", old.body["properties"].get("dataType")) != \
                        old.body["properties"].get("dataType"):
                    raise user_error("dataType of an existing data asset cannot be changed.")
                merged = {**old.body["properties"], **keep}
                self.store.update(Resource(kind, "", name, old.created, now, {"properties": merged}))
                status = 200
            return Reply(status, self._container_body(kind, self.store.get(kind, name)))

    def _version_body(self, kind: str, r: Resource) -> dict[str, Any]:
        props = dict(r.body["properties"])
        for key, default in (("tags", {}), ("properties", {}), ("isArchived", False), ("isAnonymous", False)):
            props.setdefault(key, default)
        if kind == MODEL_VERSION:
            props.setdefault("flavors", {})
            if props.get("modelType") == "mlflow_model" and not props["flavors"]:
                props["flavors"] = {"python_function": {"data": {"loader_module": "mlflow.pyfunc.model"}}}
        arm = "data" if kind == DATA_VERSION else "models"
        return self._envelope(r, "data/versions" if arm == "data" else "models/versions",
                              self.arm_id(arm, r.scope, "versions", r.name), props)

    def put_version(self, call: Call, kind: str, name: str, version: str, body: Any) -> Reply:
        is_data = kind == DATA_VERSION
        _check_name(name, "Data asset" if is_data else "Model")
        props = _props(body, "a data version" if is_data else "a model version")
        uri_key = "dataUri" if is_data else "modelUri"
        if is_data:
            if props.get("dataType") not in ("mltable", "uri_file", "uri_folder"):
                raise user_error("properties.dataType is required: mltable, uri_file or uri_folder.")
            if not isinstance(props.get("dataUri"), str) or not props["dataUri"]:
                raise user_error("properties.dataUri is required: the folder that holds the MLTable file.")
        elif props.get("modelUri") is not None and not isinstance(props["modelUri"], str):
            raise user_error("properties.modelUri must be a string.")
        _str_dict(props.get("tags"), "properties.tags")
        _str_dict(props.get("properties"), "properties.properties")
        container_kind = DATA if is_data else MODEL
        now = self.now()
        with self.store.lock:
            old = self.store.get(kind, version, name)
            if old is None:
                if self.store.get(container_kind, name) is None:
                    cprops: dict[str, Any] = {"isArchived": False}
                    if is_data:
                        cprops["dataType"] = props["dataType"]
                    self.store.insert(Resource(container_kind, "", name, now, now, {"properties": cprops}))
                self.store.insert(Resource(kind, name, version, now, now, {"properties": props}))
                return Reply(201, self._version_body(kind, self.store.get(kind, version, name)))
            before = old.body["properties"]
            if props.get(uri_key) != before.get(uri_key) and props.get(uri_key) is not None:
                raise user_error("Asset paths cannot be updated.")
            create_only = ("dataType",) if is_data else ("modelType", "jobName", "flavors")
            for key in create_only:
                if key in props and props[key] != before.get(key) and not (key == "flavors" and not props[key]):
                    raise user_error(f"properties.{key} of an existing version cannot be changed "
                                     f"(versions are immutable; register a new version).")
            merged = dict(before)
            for key in ("description", "tags", "isArchived", "stage"):
                if key in props:
                    merged[key] = props[key]
            added = _str_dict(props.get("properties"), "properties.properties")
            merged["properties"] = {**added, **(before.get("properties") or {})}
            self.store.update(Resource(kind, name, version, old.created, now, {"properties": merged}))
            return Reply(200, self._version_body(kind, self.store.get(kind, version, name)))

    def get_version(self, call: Call, kind: str, name: str, version: str) -> Reply:
        r = self.store.get(kind, version, name)
        if r is None:
            raise not_found("Data asset version" if kind == DATA_VERSION else "Model version", f"{name}:{version}")
        return Reply(200, self._version_body(kind, r))

    def list_versions(self, call: Call, kind: str, name: str) -> Reply:
        rows = [r for r in self.store.all(kind, name)
                if self._view(call, bool(r.body["properties"].get("isArchived")))]
        order = (call.query.get("$orderBy") or "").lower().replace(" ", "")
        if order == "createdtimedesc":
            rows.reverse()
        tags = call.query.get("$tags") or call.query.get("tags")
        if tags:
            for cond in tags.split(","):
                k, _, v = cond.partition("=")
                rows = [r for r in rows if k in (r.body["properties"].get("tags") or {})
                        and (not v or r.body["properties"]["tags"][k] == v)]
        if call.query.get("version"):
            rows = [r for r in rows if r.name == call.query["version"]]
        return self._page(call, [self._version_body(kind, r) for r in rows])

    def delete_asset(self, call: Call, kind: str, name: str, version: str | None) -> Reply:
        if kind in (DATA, DATA_VERSION) and self.settings.refuse_data_delete:
            raise user_error("Deleting a data asset is not supported; archive it instead (isArchived: true).")
        with self.store.lock:
            if version is None:
                if not self.store.delete(kind, name):
                    return Reply(204)
                for v in self.store.all(kind + "_version", name):
                    self.store.delete(kind + "_version", v.name, name)
                return Reply(200)
            return Reply(200 if self.store.delete(kind, version, name) else 204)

    # --- jobs ----------------------------------------------------------------------------

    def _resolve_data(self, uri: Any, where: str) -> str:
        """The MLTable folder URI behind a job input (a data asset reference or a datastore URI)."""
        if not isinstance(uri, str) or not uri:
            raise user_error(f"{where}.uri is required.")
        if uri.startswith("azureml://datastores/") or re.match(r"^azureml://subscriptions/.+/datastores/", uri):
            datastore_path(uri)
            return uri
        name = version = None
        m = _DATA_REF.search(uri)
        if m:
            name, version = m.group("name"), m.group("version")
        else:
            m = _SHORT_REF.match(uri)
            if m:
                name, version = m.group("name"), m.group("version")
        if name is None:
            raise user_error(f"{where}.uri '{uri}' is neither a data asset reference nor an azureml:// datastore URI.")
        if version is None:
            active = [r for r in self.store.all(DATA_VERSION, name) if not r.body["properties"].get("isArchived")]
            if not active:
                raise user_error(f"{where}: data asset '{name}' has no active version.")
            version = active[-1].name
        found = self.store.get(DATA_VERSION, version, name)
        if found is None:
            raise user_error(f"{where}: data asset version '{name}:{version}' was not found.")
        if found.body["properties"].get("dataType") != "mltable":
            raise user_error(f"{where}: data asset '{name}:{version}' is {found.body['properties'].get('dataType')}; "
                             "AutoML image jobs take mltable inputs.")
        return found.body["properties"]["dataUri"]

    def _job_inputs(self, name: str, props: dict[str, Any]) -> JobInputs:
        task = props.get("taskDetails")
        if not isinstance(task, dict):
            raise user_error("properties.taskDetails is required for an AutoML job.")
        task_type = task.get("taskType")
        if task_type not in TASKS:
            raise user_error(f"taskDetails.taskType '{task_type}' is not supported here; use one of {', '.join(TASKS)}.")
        train = task.get("trainingData") or {}
        if not isinstance(train, dict) or train.get("jobInputType") not in ("mltable", "MLTable"):
            raise user_error("taskDetails.trainingData must be {\"jobInputType\": \"mltable\", \"uri\": ...}.")
        training_uri = self._resolve_data(train.get("uri"), "taskDetails.trainingData")
        valid = task.get("validationData")
        validation_uri = self._resolve_data(valid.get("uri"), "taskDetails.validationData") \
            if isinstance(valid, dict) else None
        limits = task.get("limitSettings")
        if not isinstance(limits, dict):
            raise user_error("taskDetails.limitSettings is required for image tasks.")
        timeout = None
        if limits.get("timeout") is not None:
            timeout = lifecycle.parse_duration(str(limits["timeout"]))
            if timeout is None:
                raise user_error(f"limitSettings.timeout '{limits['timeout']}' is not an ISO 8601 duration (PT2H).")
        max_trials = limits.get("maxTrials", 1)
        if not isinstance(max_trials, int) or not 1 <= max_trials <= 1000:
            raise user_error("limitSettings.maxTrials must be an integer from 1 to 1000.")
        size = task.get("validationDataSize", DEFAULT_VALIDATION_SIZE)
        if not isinstance(size, (int, float)) or not 0 < size < 1:
            raise user_error("taskDetails.validationDataSize must be between 0 and 1 (exclusive).")
        return JobInputs(name, task_type, training_uri, validation_uri, float(size), max_trials, timeout,
                         str(task.get("primaryMetric") or ""))

    def _check_compute(self, compute_id: Any) -> None:
        if compute_id is None:
            return  # serverless compute: the service picks one
        name = str(compute_id).rstrip("/").rsplit("/", 1)[-1]
        if name not in self.settings.compute_clusters:
            raise user_error(f"Compute '{name}' was not found in the workspace (clusters: "
                             f"{', '.join(sorted(self.settings.compute_clusters)) or 'none'}).")

    def get_compute(self, call: Call, name: str) -> Reply:
        if name not in self.settings.compute_clusters:
            raise not_found("Compute", name)
        return Reply(200, {
            "id": self.arm_id("computes", name), "name": name, "type": f"{PROVIDER}/workspaces/computes",
            "location": self.ws.region,
            "properties": {
                "computeType": "AmlCompute", "provisioningState": "Succeeded",
                "description": "Emulated GPU training cluster (scales to zero)",
                "properties": {
                    "vmSize": self.settings.compute_vm_size, "vmPriority": "Dedicated", "osType": "Linux",
                    "scaleSettings": {"maxNodeCount": self.settings.compute_clusters[name], "minNodeCount": 0,
                                      "nodeIdleTimeBeforeScaleDown": "PT2M"},
                    "allocationState": "Steady", "currentNodeCount": 0, "targetNodeCount": 0,
                },
            },
        })

    def deployment_logs(self, call: Call, endpoint: str, name: str, body: Any) -> Reply:
        r = self.get_deployment_resource(endpoint, name) if self.get_endpoint_resource(endpoint) else None
        if r is None:
            raise not_found("Online deployment", name)
        tail = body.get("tail") if isinstance(body, dict) and isinstance(body.get("tail"), int) else None
        state = self.provisioning_state(r)
        lines = [f"{iso(r.created)} Deployment '{name}' of endpoint '{endpoint}' created (emulated).",
                 f"{iso(self.now())} provisioningState: {state}."]
        if r.provisioning and r.provisioning.error:
            lines.append(f"{iso(self.now())} error: {r.provisioning.error}")
        return Reply(200, {"content": "\n".join(lines[-tail:] if tail else lines)})

    def _job_body(self, call: Call, r: Resource) -> dict[str, Any]:
        assert r.job is not None
        props = dict(r.body["properties"])
        now = self.now()
        props["status"] = lifecycle.status(r.job, now)
        if props["status"] == "NotStarted":
            props["status"] = self.settings.pending_status
        for key, default in (("experimentName", "Default"), ("isArchived", False), ("tags", {}),
                             ("properties", {}), ("displayName", r.name), ("outputs", {})):
            props.setdefault(key, default)
        host = call.base.split("://", 1)[-1]
        props["services"] = {
            "Tracking": {"jobServiceType": "Tracking", "endpoint": f"azureml://{host}/mlflow/v1.0{self.ws.scope}",
                         "properties": {}},
            "Studio": {"jobServiceType": "Studio", "endpoint": f"{call.base}/studio/runs/{r.name}", "properties": {}},
        }
        return self._envelope(r, "jobs", self.arm_id("jobs", r.name), props)

    def put_job(self, call: Call, name: str, body: Any) -> Reply:
        _check_name(name, "Job")
        props = _props(body, "a job")
        if props.get("jobType") != "AutoML":
            raise user_error(f"jobType '{props.get('jobType')}' is not emulated; only AutoML jobs are.")
        _str_dict(props.get("tags"), "properties.tags")
        _str_dict(props.get("properties"), "properties.properties")
        now = self.now()
        with self.store.lock:
            old = self.store.get(JOB, name)
            if old is None:
                if self.store.get(TOMBSTONE, name) is not None:
                    raise user_error(f"Job name '{name}' belonged to a deleted job; job names cannot be reused.")
                inputs = self._job_inputs(name, props)
                self._check_compute(props.get("computeId"))
                stored = {k: v for k, v in props.items() if k not in ("status", "services")}
                self.store.insert(Resource(JOB, "", name, now, now, {"properties": stored}, job=JobState(now)))
                self.runner.submit(inputs)
                return Reply(201, self._job_body(call, self.store.get(JOB, name)))
            before = old.body["properties"]
            mutable = {"tags", "description", "isArchived", "properties", "status", "services", "displayName"}
            changed = sorted(k for k in set(props) | set(before)
                             if k not in mutable and k in props and props.get(k) != before.get(k))
            if changed:
                raise user_error(f"Job '{name}' exists and {', '.join(changed)} cannot be changed; only tags, "
                                 "description, isArchived and new properties can. Submit a job with a new name.")
            merged = dict(before)
            for key in ("tags", "description", "isArchived", "displayName"):
                if key in props:
                    merged[key] = props[key]
            merged["properties"] = {**_str_dict(props.get("properties"), "properties.properties"),
                                    **(before.get("properties") or {})}
            self.store.update(Resource(JOB, "", name, old.created, now, {"properties": merged}, job=old.job))
            return Reply(200, self._job_body(call, self.store.get(JOB, name)))

    def get_job(self, call: Call, name: str) -> Reply:
        r = self.store.get(JOB, name)
        if r is None:
            raise not_found("Job", name)
        return Reply(200, self._job_body(call, r))

    def list_jobs(self, call: Call) -> Reply:
        rows = [r for r in self.store.all(JOB) if self._view(call, bool(r.body["properties"].get("isArchived")))]
        job_type = call.query.get("jobType")
        if job_type:
            rows = [r for r in rows if r.body["properties"].get("jobType", "").lower() == job_type.lower()]
        tag = call.query.get("tag")
        if tag:
            k, _, v = tag.partition("=")
            rows = [r for r in rows if k in (r.body["properties"].get("tags") or {})
                    and (not v or r.body["properties"]["tags"][k] == v)]
        rows.reverse()  # newest first, as the service lists jobs
        return self._page(call, [self._job_body(call, r) for r in rows])

    def cancel_job(self, call: Call, name: str) -> Reply:
        now = self.now()
        with self.store.lock:
            r = self.store.get(JOB, name)
            if r is None or r.job is None:
                raise not_found("Job", name)
            if lifecycle.status(r.job, now) in lifecycle.TERMINAL:
                return Reply(200)  # nothing to cancel: answered as a no-op (REFERENCE §10: [unknown])
            if r.job.cancel_requested_at is None:
                job = JobState(r.job.submitted_at, now, r.job.outcome, r.job.outcome_at)
                self.store.update(Resource(JOB, "", name, r.created, now, r.body, job=job))
                cancel_at = now
            else:
                cancel_at = r.job.cancel_requested_at
        _, op_id = self._operation("jc", max(0.0, cancel_at + lifecycle.CANCEL_SECONDS - now))
        return Reply(202, None, self._location_headers(call, op_id))

    def delete_job(self, call: Call, name: str) -> Reply:
        now = self.now()
        with self.store.lock:
            if not self.store.delete(JOB, name):
                return Reply(204)
            self.store.insert(Resource(TOMBSTONE, "", name, now, now, {}))
        _, op_id = self._operation("jd", 10.0, no_content=True)
        return Reply(202, None, self._location_headers(call, op_id))

    def _training_done(self, name: str, outcome: Outcome) -> None:
        with self.store.lock:
            r = self.store.get(JOB, name)
            if r is None or r.job is None:
                return
            job = JobState(r.job.submitted_at, r.job.cancel_requested_at, outcome, self.now())
            self.store.update(Resource(JOB, "", name, r.created, r.modified, r.body, job=job))

    def resume_training(self) -> int:
        """Queue again every stored job whose training never finished (after a restart)."""
        n = 0
        for r in self.store.all(JOB):
            if r.job is not None and r.job.outcome is None:
                try:
                    inputs = self._job_inputs(r.name, r.body["properties"])
                except ArmError as exc:
                    self._training_done(r.name, Outcome("Failed", error_code="UserError", error_message=exc.message))
                    continue
                self.runner.submit(inputs)
                n += 1
        return n

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

    # --- online endpoints --------------------------------------------------------------

    def _settle(self, r: Resource | None) -> Resource | None:
        """Apply a finished provisioning step (a finished delete removes the resource)."""
        if r is None or r.provisioning is None or self.now() < r.provisioning.ready_at:
            return r
        if r.provisioning.state == "Deleting":
            with self.store.lock:
                self.store.delete(r.kind, r.name, r.scope)
                if r.kind == ENDPOINT:
                    for d in self.store.all(DEPLOYMENT, r.name):
                        self.store.delete(DEPLOYMENT, d.name, r.name)
            return None
        return r

    def provisioning_state(self, r: Resource) -> str:
        p = r.provisioning
        if p is None:
            return "Succeeded"
        return p.state if self.now() < p.ready_at else p.final

    def _endpoint_body(self, call: Call, r: Resource) -> dict[str, Any]:
        props = dict(r.body["properties"])
        props.setdefault("description", None)
        props.pop("keys", None)
        for key, default in (("traffic", {}), ("mirrorTraffic", {}), ("publicNetworkAccess", "Enabled"),
                             ("properties", {})):
            props.setdefault(key, default)
        if props["description"] is None:
            props.pop("description")
        props["provisioningState"] = self.provisioning_state(r)
        props["scoringUri"] = f"{call.base}/inference/{r.name}/score"
        props["swaggerUri"] = f"{call.base}/inference/{r.name}/swagger.json"
        return self._envelope(r, "onlineEndpoints", self.arm_id("onlineEndpoints", r.name), props, tracked=True)

    def get_endpoint_resource(self, name: str) -> Resource | None:
        return self._settle(self.store.get(ENDPOINT, name))

    def _check_traffic(self, endpoint: str, traffic: Any, where: str) -> dict[str, int]:
        if traffic is None:
            return {}
        if not isinstance(traffic, dict) or not all(isinstance(v, int) and 0 <= v <= 100 for v in traffic.values()):
            raise user_error(f"{where} must map deployment names to integer percentages from 0 to 100.")
        missing = [d for d in traffic if self._settle(self.store.get(DEPLOYMENT, d, endpoint)) is None]
        if missing:
            raise user_error(f"{where} names deployments that do not exist under endpoint '{endpoint}': "
                             f"{', '.join(sorted(missing))}.")
        total = sum(traffic.values())
        if where.endswith("traffic") and not where.endswith("mirrorTraffic") and total not in (0, 100):
            raise user_error(f"{where} must add up to 100 (or 0); it adds up to {total}.")
        return dict(traffic)

    def put_endpoint(self, call: Call, name: str, body: Any) -> Reply:
        _check_name(name, "Online endpoint")
        props = _props(body, "an online endpoint")
        if not isinstance(body.get("location"), str) or not body["location"]:
            raise user_error("'location' is required for an online endpoint (the workspace's region).")
        if props.get("authMode") not in ("Key", "AMLToken", "AADToken"):
            raise user_error("properties.authMode is required: Key, AMLToken or AADToken.")
        self._check_traffic(name, props.get("traffic"), "properties.traffic")
        mirror = self._check_traffic(name, props.get("mirrorTraffic"), "properties.mirrorTraffic")
        if any(v > 50 for v in mirror.values()):
            raise user_error("properties.mirrorTraffic cannot exceed 50 for a deployment.")
        now = self.now()
        keep = {k: body[k] for k in ("location", "tags", "identity", "kind", "sku") if body.get(k) is not None}
        with self.store.lock:
            old = self.get_endpoint_resource(name)
            if old is not None and old.provisioning and old.provisioning.state == "Deleting":
                raise ArmError(409, "Conflict", f"Online endpoint '{name}' is being deleted.")
            seconds = self.settings.endpoint_seconds
            op, op_id = self._operation("oe", seconds if old is None else 1.0)
            stored = {**keep, "properties": {k: v for k, v in props.items()
                                             if k not in ("provisioningState", "scoringUri", "swaggerUri", "keys")}}
            stored["properties"]["properties"] = {**_str_dict(props.get("properties"), "properties.properties"),
                                                  "AzureAsyncOperationUri": self._status_url(call, op_id)}
            if old is None:
                seed = hashlib.sha256(f"{name}:{now}:{new_guid()}".encode()).hexdigest()
                keys = [seed[:32], seed[32:]]
                if isinstance(props.get("keys"), dict):
                    keys = [props["keys"].get("primaryKey") or keys[0], props["keys"].get("secondaryKey") or keys[1]]
                self.store.insert(Resource(ENDPOINT, "", name, now, now, stored,
                                           provisioning=Provisioning("Creating", op.done_at), keys=keys))
                status = 201
            else:
                self.store.update(Resource(ENDPOINT, "", name, old.created, now, stored,
                                           provisioning=Provisioning("Updating", op.done_at), keys=old.keys))
                status = 200
            r = self.store.get(ENDPOINT, name)
        return Reply(status, self._endpoint_body(call, r),
                     self._async_headers(call, op_id))

    def patch_endpoint(self, call: Call, name: str, body: Any) -> Reply:
        if not isinstance(body, dict):
            raise user_error("The request body must be a JSON object.")
        unknown = sorted(set(body) - {"tags", "identity"})
        if unknown:
            raise user_error(f"PATCH of an online endpoint accepts only tags and identity (got {', '.join(unknown)}); "
                             "change traffic with a PUT of the endpoint.")
        now = self.now()
        with self.store.lock:
            r = self.get_endpoint_resource(name)
            if r is None:
                raise not_found("Online endpoint", name)
            stored = dict(r.body)
            for key in ("tags", "identity"):
                if key in body:
                    stored[key] = body[key]
            op, op_id = self._operation("oeu", 1.0, target=[ENDPOINT, "", name])
            self.store.update(Resource(ENDPOINT, "", name, r.created, now, stored,
                                       provisioning=Provisioning("Updating", op.done_at), keys=r.keys))
        return Reply(202, None, self._location_headers(call, op_id))

    def get_endpoint(self, call: Call, name: str) -> Reply:
        r = self.get_endpoint_resource(name)
        if r is None:
            raise not_found("Online endpoint", name)
        return Reply(200, self._endpoint_body(call, r))

    def list_endpoints(self, call: Call) -> Reply:
        rows = [r for r in (self._settle(x) for x in self.store.all(ENDPOINT)) if r is not None]
        if call.query.get("name"):
            rows = [r for r in rows if r.name == call.query["name"]]
        return self._page(call, [self._endpoint_body(call, r) for r in rows])

    def delete_endpoint(self, call: Call, name: str) -> Reply:
        now = self.now()
        with self.store.lock:
            r = self.get_endpoint_resource(name)
            if r is None:
                return Reply(204)
            op, op_id = self._operation("oed", self.settings.endpoint_seconds, no_content=True)
            self.store.update(Resource(ENDPOINT, "", name, r.created, now, r.body,
                                       provisioning=Provisioning("Deleting", op.done_at), keys=r.keys))
        return Reply(202, None, self._location_headers(call, op_id))

    def endpoint_keys(self, call: Call, name: str) -> Reply:
        r = self.get_endpoint_resource(name)
        if r is None:
            raise not_found("Online endpoint", name)
        keys = r.keys or ["", ""]
        return Reply(200, {"primaryKey": keys[0], "secondaryKey": keys[1]})

    def endpoint_token(self, call: Call, name: str) -> Reply:
        r = self.get_endpoint_resource(name)
        if r is None:
            raise not_found("Online endpoint", name)
        now = self.now()
        return Reply(200, {"accessToken": self.aml_token(r), "tokenType": "Bearer",
                           "expiryTimeUtc": int(now) + 3600, "refreshAfterTimeUtc": int(now) + 1800})

    def aml_token(self, endpoint: Resource) -> str:
        secret = (endpoint.keys or [""])[0].encode()
        return "aml." + hmac.new(secret, f"{endpoint.name}:{endpoint.created}".encode(), hashlib.sha256).hexdigest()

    # --- online deployments ------------------------------------------------------------

    def resolve_model_version(self, ref: Any) -> Resource:
        if not isinstance(ref, str) or not ref:
            raise user_error("properties.model is required: a model version (ARM id or azureml:<name>:<version>).")
        m = _MODEL_REF.search(ref) or _SHORT_REF.match(ref)
        if m is None or not m.group("version"):
            raise user_error(f"properties.model '{ref}' is not a model version reference.")
        found = self.store.get(MODEL_VERSION, m.group("version"), m.group("name"))
        if found is None:
            raise user_error(f"Model version '{m.group('name')}:{m.group('version')}' was not found.")
        return found

    def fitted_model(self, model_version: Resource) -> FittedModel:
        """The learner's model behind a registered model version; ArmError if it was not trained here."""
        uri = str(model_version.body["properties"].get("modelUri") or "")
        m = _JOB_MODEL_URI.match(uri)
        found = self.job_and_trial(m.group("run")) if m else None
        if found is None:
            raise user_error(f"Model '{model_version.scope}:{model_version.name}' has modelUri '{uri}', which is not "
                             "the output of an AutoML job of this workspace; the emulator can serve only those.")
        job, trial = found
        run_id = trial or (job.job.outcome.best_run_id if job.job and job.job.outcome else None)
        if run_id is None:
            raise user_error(f"Job '{job.name}' has no trained model.")
        key = f"model/{run_id}"
        if key not in self._models:
            data = self.store.get_artifact(key)
            if data is None:
                raise user_error(f"The model of run '{run_id}' is missing.")
            self._models[key] = self.learner.load(data)
        return self._models[key]

    def _deployment_body(self, call: Call, r: Resource) -> dict[str, Any]:
        props = dict(r.body["properties"])
        defaults: dict[str, Any] = {
            "scaleSettings": {"scaleType": "Default"},
            "requestSettings": {"requestTimeout": "PT5S", "maxConcurrentRequestsPerInstance": 1,
                                "maxQueueWait": "PT0.5S"},
            "livenessProbe": {"failureThreshold": 30, "successThreshold": 1, "timeout": "PT2S", "period": "PT10S",
                              "initialDelay": "PT10S"},
            "readinessProbe": {"failureThreshold": 30, "successThreshold": 1, "timeout": "PT2S", "period": "PT10S",
                               "initialDelay": "PT10S"},
            "appInsightsEnabled": False, "egressPublicNetworkAccess": "Enabled", "environmentVariables": {},
            "properties": {}, "instanceType": "Standard_DS3_v2",
        }
        for key, value in defaults.items():
            if props.get(key) is None:
                props[key] = value
        props["provisioningState"] = self.provisioning_state(r)
        out = self._envelope(r, "onlineEndpoints/deployments",
                             self.arm_id("onlineEndpoints", r.scope, "deployments", r.name), props, tracked=True)
        out.setdefault("sku", {"name": "Default", "capacity": 1})
        return out

    def put_deployment(self, call: Call, endpoint: str, name: str, body: Any) -> Reply:
        _check_name(name, "Online deployment")
        props = _props(body, "an online deployment")
        if not isinstance(body.get("location"), str) or not body["location"]:
            raise user_error("'location' is required for an online deployment (the workspace's region).")
        if props.get("endpointComputeType") not in ("Managed", "Kubernetes", "AzureMLCompute"):
            raise user_error("properties.endpointComputeType is required: Managed, Kubernetes or AzureMLCompute.")
        ep = self.get_endpoint_resource(endpoint)
        if ep is None:
            raise not_found("Online endpoint", endpoint)
        if self.settings.quota_exceeded:
            instance = props.get("instanceType") or "Standard_DS3_v2"
            raise ArmError(400, "BadRequest", f"Not enough quota available for {instance} in SubscriptionId "
                           f"{self.ws.subscription}. Current usage/limit: 0/6. Additional needed: 8",
                           details=[("InferencingClientCreateDeploymentFailed", "quota")])
        model = self.resolve_model_version(props.get("model"))
        error = None
        try:
            self.fitted_model(model)
        except ArmError as exc:
            error = exc.message
        now = self.now()
        keep = {k: body[k] for k in ("location", "tags", "identity", "kind", "sku") if body.get(k) is not None}
        stored = {**keep, "properties": {k: v for k, v in props.items() if k != "provisioningState"}}
        with self.store.lock:
            old = self._settle(self.store.get(DEPLOYMENT, name, endpoint))
            seconds = self.settings.deployment_seconds if old is None else self.settings.deployment_seconds / 2
            op, op_id = self._operation("odidp", seconds, status="Failed" if error else "Succeeded",
                                        error=error)
            prov = Provisioning("Creating" if old is None else "Updating", op.done_at,
                                final="Failed" if error else "Succeeded", error=error)
            if old is None:
                self.store.insert(Resource(DEPLOYMENT, endpoint, name, now, now, stored, provisioning=prov))
                status = 201
            else:
                self.store.update(Resource(DEPLOYMENT, endpoint, name, old.created, now, stored, provisioning=prov))
                status = 200
            r = self.store.get(DEPLOYMENT, name, endpoint)
        return Reply(status, self._deployment_body(call, r),
                     self._async_headers(call, op_id))

    def get_deployment_resource(self, endpoint: str, name: str) -> Resource | None:
        return self._settle(self.store.get(DEPLOYMENT, name, endpoint))

    def get_deployment(self, call: Call, endpoint: str, name: str) -> Reply:
        if self.get_endpoint_resource(endpoint) is None:
            raise not_found("Online endpoint", endpoint)
        r = self.get_deployment_resource(endpoint, name)
        if r is None:
            raise not_found("Online deployment", name)
        return Reply(200, self._deployment_body(call, r))

    def list_deployments(self, call: Call, endpoint: str) -> Reply:
        if self.get_endpoint_resource(endpoint) is None:
            raise not_found("Online endpoint", endpoint)
        rows = [r for r in (self._settle(x) for x in self.store.all(DEPLOYMENT, endpoint)) if r is not None]
        return self._page(call, [self._deployment_body(call, r) for r in rows])

    def delete_deployment(self, call: Call, endpoint: str, name: str) -> Reply:
        now = self.now()
        with self.store.lock:
            ep = self.get_endpoint_resource(endpoint)
            if ep is None:
                raise not_found("Online endpoint", endpoint)
            r = self.get_deployment_resource(endpoint, name)
            if r is None:
                return Reply(204)
            if (ep.body["properties"].get("traffic") or {}).get(name, 0) > 0:
                raise user_error(f"Deployment '{name}' still receives traffic from endpoint '{endpoint}'; set its "
                                 "traffic to 0 before deleting it.")
            op, op_id = self._operation("odd", self.settings.deployment_seconds / 5, no_content=True)
            self.store.update(Resource(DEPLOYMENT, endpoint, name, r.created, now, r.body,
                                       provisioning=Provisioning("Deleting", op.done_at)))
        return Reply(202, None, self._location_headers(call, op_id))

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
