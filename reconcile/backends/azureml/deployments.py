"""Managed online endpoints and deployments on Azure ML (REFERENCE §3.6–3.7, §4.5): the deployment part of the backend.

- An endpoint is created with key auth and no traffic, tagged as ours. What vision-gitops last did with its
  traffic is kept in the endpoint's tags: the traffic map it set (``traffic-changed`` drift is a difference),
  when (the rollout's bake time counts from it) and which deployments took all traffic, oldest first
  (which old ones ``keepPrevious`` keeps). Tags travel with the resource, so a crash loses none of it.
- A deployment serves one registered model version (no-code MLflow deployment), ``sku.capacity`` instances,
  tagged with the model and our marker. Its name is derived from model and version by the planner.
- Writes start ARM long-running operations and return at once; the provisioning state is read on the next
  observe (a switch waits until the candidate is ``Succeeded``).
- Gate figures: the evaluation of a model *version* on the evaluation dataset's *current* version is found by
  its job name, which :mod:`.naming` derives from exactly those four values; an incumbent's missing one is
  submitted under that name (tagged as a gate evaluation, not listed as the spec's evaluation).
- Scoring: ``POST {scoringUri}`` with an endpoint key, through the deployment serving the model.

Mixed into :class:`~reconcile.backends.azureml.backend.AzureMLBackend`, whose client, target and evaluation
readers it uses (:class:`_Workspace`).
"""

from __future__ import annotations

import base64
import io
import json
import re
from typing import Any, Final, Mapping, Protocol, Sequence
from urllib.parse import quote

from reconcile.backends.azureml import naming, wire
from reconcile.backends.azureml.automl_data import AutoMLTask
from reconcile.backends.base import LiveDeployment, LiveEndpoint, LiveEvaluation, PredictedObject, PredictedTag, Prediction
from reconcile.backends.azureml.target import AzureMLTarget
from reconcile.client.arm import ArmClient
from reconcile.errors import InputError, NotFoundError, RemoteError, UsageError


class _Workspace(Protocol):
    """What these operations use of the backend they are mixed into."""

    _client: ArmClient
    _target: AzureMLTarget
    _ws: str

    def _data_uri(self, dataset: str) -> str: ...

    def _read_evaluation(self, job: dict[str, Any]) -> LiveEvaluation: ...

    def _jobs(self) -> list[dict[str, Any]]: ...

    @staticmethod
    def _newest_by_model(jobs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]: ...

    def _endpoint_path(self, name: str) -> str: ...

    def list_endpoints(self) -> dict[str, LiveEndpoint]: ...

    def get_endpoint(self, name: str) -> LiveEndpoint | None: ...

    def _gate_job_name(self, model: str, evaluation: str, model_version: str, dataset: str) -> tuple[str, str]: ...

    def _serving(self, model: str, deployment: str | None) -> tuple[LiveEndpoint, str | None]: ...

    def _newest_version(self, model: str) -> list[str]: ...

    def _not_served(self, model: str, *, provisioning: Sequence[str] = ()) -> InputError: ...

TAG_MANAGED: Final = wire.TAG_PREFIX + "managed"
TAG_TRAFFIC: Final = wire.TAG_PREFIX + "traffic"
TAG_TRAFFIC_AT: Final = wire.TAG_PREFIX + "traffic-at"
TAG_HISTORY: Final = wire.TAG_PREFIX + "history"
TAG_GATE: Final = wire.TAG_PREFIX + "gate-evaluation"
#: How many serving deployments the history tag remembers (an ARM tag value holds 256 characters).
HISTORY_KEPT: Final = 6
_MODEL_REF = re.compile(r"/models/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/?$", re.IGNORECASE)


def _seg(name: str) -> str:
    return quote(name, safe="")


def _json_tag(tags: Mapping[str, Any], key: str) -> Any:
    try:
        return json.loads(str(tags[key])) if key in tags else None
    except ValueError:
        return None


def parse_deployment(body: Mapping[str, Any]) -> LiveDeployment:
    props = body.get("properties") or {}
    tags = body.get("tags") or {}
    m = _MODEL_REF.search(str(props.get("model") or ""))
    try:
        count = int((body.get("sku") or {}).get("capacity") or 1)
    except (TypeError, ValueError):
        count = 1
    return LiveDeployment(name=str(body.get("name", "")), model=m["name"] if m else "",
                          model_version=m["version"] if m else str(props.get("model") or ""),
                          instance_type=str(props.get("instanceType") or ""), instance_count=count,
                          provisioning=str(props.get("provisioningState") or ""), managed=tags.get(TAG_MANAGED) == "true")


def parse_endpoint(body: Mapping[str, Any], deployments: Sequence[Mapping[str, Any]]) -> LiveEndpoint:
    props = body.get("properties") or {}
    tags = body.get("tags") or {}
    recorded = _json_tag(tags, TAG_TRAFFIC)
    history = _json_tag(tags, TAG_HISTORY)
    traffic = {str(k): int(v) for k, v in (props.get("traffic") or {}).items() if isinstance(v, int)}
    return LiveEndpoint(
        name=str(body.get("name", "")), provisioning=str(props.get("provisioningState") or ""), traffic=traffic,
        deployments={d.name: d for d in map(parse_deployment, deployments)}, managed=tags.get(TAG_MANAGED) == "true",
        recorded_traffic={str(k): int(v) for k, v in recorded.items()} if isinstance(recorded, dict) else None,
        traffic_at=str(tags[TAG_TRAFFIC_AT]) if TAG_TRAFFIC_AT in tags else None,
        history=tuple(str(h) for h in history) if isinstance(history, list) else (),
        scoring_uri=props.get("scoringUri"))


class DeploymentOperations:
    """Endpoints, deployments, traffic, gate figures and scoring (the ``DeploymentBackend`` half)."""

    def _endpoint_path(self: _Workspace, name: str) -> str:
        return f"{self._ws}/onlineEndpoints/{_seg(name)}"

    # --- observe ---------------------------------------------------------------------

    def list_endpoints(self: _Workspace) -> dict[str, LiveEndpoint]:
        """Every endpoint of the workspace with its deployments: one list, plus one list per endpoint."""
        out = {}
        for body in self._client.list(f"{self._ws}/onlineEndpoints"):
            name = str(body.get("name", ""))
            try:
                deps = list(self._client.list(f"{self._endpoint_path(name)}/deployments"))
            except NotFoundError:  # deleted between the two lists
                continue
            out[name] = parse_endpoint(body, deps)
        return out

    def get_endpoint(self: _Workspace, name: str) -> LiveEndpoint | None:
        try:
            body = self._client.get(self._endpoint_path(name))
            deps = list(self._client.list(f"{self._endpoint_path(name)}/deployments"))
        except NotFoundError:
            return None
        return parse_endpoint(body, deps)

    # --- writes ----------------------------------------------------------------------

    def create_endpoint(self: _Workspace, name: str) -> None:
        """PUT the endpoint (key auth, no traffic, our marker) unless it exists; does not wait for provisioning."""
        if self.get_endpoint(name) is not None:
            return
        body = {"location": self._target.location, "identity": {"type": "SystemAssigned"},
                "tags": {TAG_MANAGED: "true"},
                "properties": {"authMode": "Key", "description": "managed by vision-gitops", "traffic": {}}}
        self._client.begin("PUT", self._endpoint_path(name), body)

    def put_deployment(self: _Workspace, endpoint: str, name: str, *, model: str, model_version: str,
                       instance_type: str, instance_count: int) -> None:
        """PUT the deployment serving ``model`` version ``model_version`` (idempotent by name; no wait)."""
        body = {"location": self._target.location, "tags": {TAG_MANAGED: "true", wire.TAG_MODEL: model},
                "sku": {"name": "Default", "capacity": instance_count},
                "properties": {"endpointComputeType": "Managed",
                               "model": f"{self._ws}/models/{_seg(model)}/versions/{_seg(model_version)}",
                               "instanceType": instance_type, "appInsightsEnabled": False,
                               "environmentVariables": {}, "properties": {}}}
        self._client.begin("PUT", f"{self._endpoint_path(endpoint)}/deployments/{_seg(name)}", body)

    def set_traffic(self: _Workspace, endpoint: str, traffic: Mapping[str, int], *, history: Sequence[str],
                    at: str) -> None:
        """PUT the endpoint with ``traffic`` and the tags recording it (azure-ai-ml changes traffic by PUT too)."""
        current = self._client.get(self._endpoint_path(endpoint))
        props = {k: v for k, v in (current.get("properties") or {}).items()
                 if k not in ("provisioningState", "scoringUri", "swaggerUri", "keys", "properties")}
        tags = dict(current.get("tags") or {}) | {
            TAG_MANAGED: "true", TAG_TRAFFIC: json.dumps(dict(sorted(traffic.items())), separators=(",", ":")),
            TAG_TRAFFIC_AT: at, TAG_HISTORY: json.dumps(list(history)[-HISTORY_KEPT:], separators=(",", ":"))}
        body = {"location": current.get("location") or self._target.location, "tags": tags,
                "properties": props | {"traffic": dict(traffic)}}
        if current.get("identity"):
            body["identity"] = {"type": (current["identity"] or {}).get("type", "SystemAssigned")}
        self._client.begin("PUT", self._endpoint_path(endpoint), body)

    def delete_deployment(self: _Workspace, endpoint: str, name: str) -> bool:
        try:
            answer = self._client.begin("DELETE", f"{self._endpoint_path(endpoint)}/deployments/{_seg(name)}")
        except NotFoundError:
            return False
        return answer.status != 204

    def delete_endpoint(self: _Workspace, name: str) -> bool:
        """Delete the endpoint; the service deletes its deployments with it."""
        try:
            answer = self._client.begin("DELETE", self._endpoint_path(name))
        except NotFoundError:
            return False
        return answer.status != 204

    # --- gate figures ----------------------------------------------------------------

    def _gate_job_name(self: _Workspace, model: str, evaluation: str, model_version: str,
                       dataset: str) -> tuple[str, str]:
        """(job name, dataset's test URI): the evaluation of that model version on the dataset's current version."""
        test_uri = self._data_uri(dataset)
        data_version = test_uri.rsplit("/versions/", 1)[1]
        return naming.evaluation_job_name(model, evaluation, naming.evaluation_spec_hash(
            model, model_version, dataset, data_version)), test_uri

    def gate_evaluation(self: _Workspace, model: str, evaluation: str, model_version: str,
                        dataset: str) -> LiveEvaluation | None:
        try:
            name, _ = self._gate_job_name(model, evaluation, model_version, dataset)
            job = self._client.get(f"{self._ws}/jobs/{_seg(name)}")
        except (NotFoundError, RemoteError):
            return None
        return self._read_evaluation(job)

    def evaluate_version(self: _Workspace, model: str, evaluation: str, model_version: str,
                         dataset: str) -> LiveEvaluation:
        """Submit the pipeline job :meth:`gate_evaluation` looks for (GET first: a re-run adopts it)."""
        name, test_uri = self._gate_job_name(model, evaluation, model_version, dataset)
        try:
            job = self._client.get(f"{self._ws}/jobs/{_seg(name)}")
        except NotFoundError:
            model_job = self._client.get(f"{self._ws}/jobs/{_seg(model_version)}")
            task = AutoMLTask(str((model_job["properties"].get("taskDetails") or {}).get("taskType")))
            body = wire.evaluation_job_body(
                model=model, evaluation=evaluation, dataset=dataset, task=task,
                model_uri=f"{self._ws}/models/{model}/versions/{model_version}", test_uri=test_uri,
                compute_id=self._target.compute_id)
            tags = body["properties"]["tags"]
            # Not the spec's evaluation (that one is the newest job of the current version): a gate's.
            tags[TAG_GATE] = tags.pop(wire.TAG_EVALUATION_NAME)
            job = self._client.put(f"{self._ws}/jobs/{_seg(name)}", body)
        return self._read_evaluation(job)

    # --- scoring ---------------------------------------------------------------------

    def predict(self: _Workspace, model: str, *, image: bytes | None = None, url: str | None = None,
                deployment: str | None = None) -> Prediction:
        """Score ``image`` through the deployment serving ``model`` (its newest registered version first), or
        through ``deployment`` (an endpoint name: its current traffic; or a deployment name)."""
        if image is None:
            raise UsageError("on Azure ML, predict sends the image itself: give a local image file",
                             hint="download the image first")
        endpoint, dep = self._serving(model, deployment)
        keys = self._client.post(f"{self._endpoint_path(endpoint.name)}/listKeys").body or {}
        body = {"input_data": {"columns": ["image"], "data": [base64.b64encode(image).decode()]}}
        answer = self._client.score(str(endpoint.scoring_uri), body, key=str(keys.get("primaryKey") or ""),
                                    deployment=dep)
        return _prediction(model, image, answer)

    def _serving(self: _Workspace, model: str, deployment: str | None) -> tuple[LiveEndpoint, str | None]:
        """(endpoint, deployment to pin or ``None`` for the endpoint's traffic)."""
        endpoints = self.list_endpoints()
        if deployment is not None:
            if deployment in endpoints:
                ep = endpoints[deployment]
                _require_model(model, deployment, [d.model for n, d in sorted(ep.deployments.items())
                                                   if ep.traffic.get(n, 0) > 0])
                return ep, None
            for ep in endpoints.values():
                if deployment in ep.deployments:
                    _require_model(model, deployment, [ep.deployments[deployment].model])
                    return ep, deployment
            raise InputError(f"no endpoint or deployment named {deployment!r} in the workspace",
                             hint="`reconcile status` lists the endpoints; omit --deployment to use the model's")
        ours = [(ep, d) for ep in endpoints.values() for d in ep.deployments.values() if d.model == model]
        serving = [(ep, d) for ep, d in ours if d.provisioning == "Succeeded"]
        if not serving:
            raise self._not_served(model, provisioning=[f"{ep.name}/{d.name} ({d.provisioning})" for ep, d in ours])
        versions = self._newest_version(model)
        # The newest version first; among its deployments, the one with the most traffic.
        serving.sort(key=lambda p: (versions.index(p[1].model_version) if p[1].model_version in versions
                                    else len(versions), -p[0].traffic.get(p[1].name, 0), p[1].name))
        ep, d = serving[0]
        return ep, d.name

    def _newest_version(self: _Workspace, model: str) -> list[str]:
        """The model's newest registered version (its newest job's name), as a one-item list, or empty."""
        job = self._newest_by_model([j for j in self._jobs() if j["properties"]["tags"][wire.TAG_MODEL] == model]).get(model)
        return [str(job["name"])] if job is not None else []


def _require_model(model: str, where: str, serves: list[str]) -> None:
    """Refuse to label another model's answer as ``model``'s (``serves``: the models behind ``where``)."""
    if serves and model not in serves:
        raise InputError(f"{where} serves {', '.join(sorted(set(serves)))}, not {model}",
                         hint=f"name the model it serves, or omit --deployment to score {model} through its own")


def no_deployment_error(model: str, *, version: str | None = None, where: str = "the workspace") -> InputError:
    """The one answer when no online deployment serves ``model`` (kept a single function: its wording is shared)."""
    what = f"version {version} is registered, but" if version else "registered, but"
    return InputError(
        f"model {model}: {what} no online endpoint in {where} serves it, so there is nothing to score with "
        "(Azure ML scores only through a managed online deployment of the version)",
        hint=("add a Deployment spec (kind: Deployment, model: " + model + ") and apply it, or by hand "
              f"`az ml online-deployment create --model azureml:{model}:{version or '<version>'}`; a managed online "
              "deployment bills per instance-hour while it exists (docs/azureml.md, Deployments)"))


def _prediction(model: str, image: bytes, answer: Any) -> Prediction:
    from PIL import Image

    with Image.open(io.BytesIO(image)) as im:
        width, height = im.size
    first = answer[0] if isinstance(answer, list) and answer else {}
    if not isinstance(first, dict):
        raise RemoteError(f"model {model}: the scoring answer is not a list of objects")
    if "boxes" in first:
        objects = []
        for b in first.get("boxes") or []:
            box = b.get("box") or {}
            x, y = float(box.get("topX", 0)) * width, float(box.get("topY", 0)) * height
            objects.append(PredictedObject(
                x=round(x), y=round(y), w=round(float(box.get("bottomX", 0)) * width - x),
                h=round(float(box.get("bottomY", 0)) * height - y),
                tags=(PredictedTag(str(b.get("label", "")), float(b.get("score", 0.0))),)))
        return Prediction(model=model, width=width, height=height, objects=tuple(objects))
    tags = sorted((PredictedTag(str(label), float(p)) for label, p in zip(first.get("labels") or [],
                                                                         first.get("probs") or [])),
                  key=lambda t: -t.confidence)
    return Prediction(model=model, width=width, height=height, tags=tuple(tags))
