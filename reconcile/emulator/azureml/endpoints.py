"""Online endpoints and deployments: LRO provisioning, traffic, keys, the model a deployment serves (REFERENCE §3.6–3.7)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from reconcile.emulator.azureml.arm import ArmError, iso, new_guid, not_found, user_error
from reconcile.emulator.azureml.base import (
    DEPLOYMENT, ENDPOINT, JOB_MODEL_URI, MODEL_REF, MODEL_VERSION, SHORT_REF, Call, check_name, props_of, Reply,
    ServiceBase, str_dict,
)
from reconcile.emulator.azureml.learner import FittedModel
from reconcile.emulator.azureml.records import Provisioning, Resource


class EndpointOperations(ServiceBase):
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
        check_name(name, "Online endpoint")
        props = props_of(body, "an online endpoint")
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
            stored["properties"]["properties"] = {**str_dict(props.get("properties"), "properties.properties"),
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
        m = MODEL_REF.search(ref) or SHORT_REF.match(ref)
        if m is None or not m.group("version"):
            raise user_error(f"properties.model '{ref}' is not a model version reference.")
        found = self.store.get(MODEL_VERSION, m.group("version"), m.group("name"))
        if found is None:
            raise user_error(f"Model version '{m.group('name')}:{m.group('version')}' was not found.")
        return found

    def fitted_model(self, model_version: Resource) -> FittedModel:
        """The learner's model behind a registered model version; ArmError if it was not trained here."""
        uri = str(model_version.body["properties"].get("modelUri") or "")
        m = JOB_MODEL_URI.match(uri)
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
        check_name(name, "Online deployment")
        props = props_of(body, "an online deployment")
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

