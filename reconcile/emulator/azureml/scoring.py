"""The scoring URI of an online endpoint: AutoML image models' request and answer (REFERENCE §4.5).

``POST /inference/{endpoint}/score`` with ``Authorization: Bearer <key or AML token>``
and ``{"input_data": {"columns": ["image"], "data": ["<base64>", ...]}}``. The
deployment is the ``azureml-model-deployment`` header's, or chosen by the
endpoint's traffic split (deterministically, request by request). The real URI is
``https://{endpoint}.{region}.inference.ml.azure.com/score``; a local emulator
cannot own that DNS name, so it serves the same contract under its own host.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import itertools
import threading
from typing import Any

from reconcile import safejson
from reconcile.emulator.azureml.arm import ArmError
from reconcile.emulator.azureml.learner import DETECTION, decode_image
from reconcile.emulator.azureml.records import Resource
from reconcile.emulator.azureml.service import AzureMLService
from reconcile.errors import InputError
from reconcile.limits import REQUEST_IMAGE_BYTES

MAX_IMAGES = 64
#: Detection boxes scoring lower than this are dropped server-side (AutoML's default box_score_thresh).
BOX_SCORE_THRESHOLD = 0.3


class ScoringError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Scorer:
    def __init__(self, service: AzureMLService) -> None:
        self.svc = service
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def _authorize(self, endpoint: Resource, header: str | None) -> None:
        token = (header or "")[7:].strip() if (header or "")[:7].lower() == "bearer " else ""
        mode = endpoint.body["properties"].get("authMode")
        valid = list(endpoint.keys or []) if mode == "Key" else [self.svc.aml_token(endpoint)]
        if mode == "AADToken":
            valid = []  # Entra tokens cannot be checked offline: any bearer token is accepted
            if token:
                return
        if not token or not any(hmac.compare_digest(token.encode(), v.encode()) for v in valid if v):
            raise ScoringError(401, "Authentication failed: send 'Authorization: Bearer <endpoint key or token>'.")

    def _pick(self, endpoint: Resource, requested: str | None) -> Resource:
        name = endpoint.name
        if requested:
            dep = self.svc.get_deployment_resource(name, requested)
            if dep is None:
                raise ScoringError(404, f"Deployment '{requested}' does not exist under endpoint '{name}'.")
        else:
            traffic = {k: v for k, v in (endpoint.body["properties"].get("traffic") or {}).items() if v > 0}
            if not traffic:
                raise ScoringError(424, "No valid deployments to route to. Please check that the endpoint has at "
                                        "least one deployment with positive weight values or use a deployment "
                                        "specific header to route.")
            with self._lock:
                # Stride 61 (coprime with 100) interleaves the deployments: any 100 requests in a row
                # split exactly as the traffic map says, and short runs come close.
                slot = (next(self._counter) * 61) % 100
            acc = 0
            chosen = sorted(traffic)[-1]
            for dep_name in sorted(traffic):
                acc += traffic[dep_name]
                if slot < acc:
                    chosen = dep_name
                    break
            dep = self.svc.get_deployment_resource(name, chosen)
            if dep is None:
                raise ScoringError(424, f"Deployment '{chosen}' named by the traffic rules does not exist.")
        state = self.svc.provisioning_state(dep)
        if state != "Succeeded":
            raise ScoringError(424 if state != "Failed" else 502,
                               f"Deployment '{dep.name}' is not ready (provisioningState {state}).")
        return dep

    def score(self, endpoint_name: str, auth: str | None, deployment: str | None, raw: bytes) -> tuple[Any, str]:
        """(answer, deployment name) or :class:`ScoringError`."""
        endpoint = self.svc.get_endpoint_resource(endpoint_name)
        if endpoint is None or self.svc.provisioning_state(endpoint) == "Deleting":
            raise ScoringError(404, f"Endpoint '{endpoint_name}' does not exist.")
        self._authorize(endpoint, auth)
        dep = self._pick(endpoint, deployment)
        images = _images(raw)
        try:
            model = self.svc.fitted_model(self.svc.resolve_model_version(dep.body["properties"].get("model")))
        except ArmError as exc:
            raise ScoringError(502, exc.message) from None
        predictions = model.predict(images)
        out: list[dict[str, Any]] = []
        for p in predictions:
            if model.task == DETECTION:
                out.append({"boxes": [
                    {"box": {"topX": round(b.top_x, 6), "topY": round(b.top_y, 6), "bottomX": round(b.bottom_x, 6),
                             "bottomY": round(b.bottom_y, 6)}, "label": b.label, "score": round(b.score, 6)}
                    for b in p.boxes if b.score >= BOX_SCORE_THRESHOLD]})
            else:
                out.append({"probs": [round(x, 6) for x in p.probs], "labels": list(model.classes)})
        return out, dep.name


def _images(raw: bytes) -> list[Any]:
    try:
        doc = safejson.loads(raw, limit=REQUEST_IMAGE_BYTES, shown="the scoring request")
    except InputError as exc:
        raise ScoringError(400, f"The request body is not usable JSON: {exc}.") from None
    data = doc.get("input_data") if isinstance(doc, dict) else None
    if not isinstance(data, dict) or data.get("columns") != ["image"] or not isinstance(data.get("data"), list):
        raise ScoringError(400, 'The body must be {"input_data": {"columns": ["image"], "data": ["<base64>", ...]}}.')
    items = data["data"]
    if not items or len(items) > MAX_IMAGES:
        raise ScoringError(400, f"input_data.data must hold 1 to {MAX_IMAGES} base64 images.")
    images = []
    for i, item in enumerate(items):
        value = item[0] if isinstance(item, list) and len(item) == 1 else item
        if not isinstance(value, str):
            raise ScoringError(400, f"input_data.data[{i}] must be a base64 string.")
        try:
            images.append(decode_image(base64.b64decode(value)))
        except (binascii.Error, ValueError) as exc:
            raise ScoringError(400, f"input_data.data[{i}] is not a base64-encoded image ({exc}).") from None
    return images


