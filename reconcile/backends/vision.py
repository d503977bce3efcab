"""Image Analysis 4.0 model customization (docs/service-api.md §3) behind the :class:`Backend` seam.

This module only shapes requests and parses responses; transport, retries, the rate
limit and the classification of failures belong to :mod:`reconcile.client`.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote

from reconcile.backends.base import (
    Capabilities,
    DesiredDataset,
    DesiredEvaluation,
    DesiredModel,
    LiveDataset,
    LiveEvaluation,
    LiveModel,
    LiveState,
    PredictedObject,
    PredictedTag,
    Prediction,
)
from reconcile.client.http import VisionClient
from reconcile.errors import NotFoundError


def _seg(name: str) -> str:
    return quote(name, safe="")


def parse_dataset(body: Mapping[str, Any]) -> LiveDataset:
    auth = body.get("authentication") or {}
    return LiveDataset(
        name=str(body["name"]),
        annotation_kind=str(body.get("annotationKind", "")),
        label_uris=tuple(body.get("annotationFileUris") or ()),
        custom_properties=dict(body.get("customProperties") or {}),
        authentication_kind=auth.get("kind") if isinstance(auth, Mapping) else None,
        etag=str(body.get("eTag", "")),
        created=body.get("createdDateTime"),
        updated=body.get("updatedDateTime"),
    )


def parse_model(body: Mapping[str, Any]) -> LiveModel:
    tp = body.get("trainingParameters") or {}
    ep = body.get("evaluationParameters") or {}
    err = body.get("error") or {}
    return LiveModel(
        name=str(body["name"]),
        status=str(body.get("status", "")),
        training_dataset=str(tp.get("trainingDatasetName", "")),
        budget_hours=int(tp.get("timeBudgetInHours", 0)),
        model_kind=tp.get("modelKind"),
        test_dataset=ep.get("testDatasetName"),
        training_cost_minutes=body.get("trainingCostInMinutes"),
        error_code=err.get("code"),
        error_message=err.get("message"),
        performance=body.get("modelPerformance"),
        created=body.get("createdDateTime"),
        updated=body.get("updatedDateTime"),
    )


def parse_evaluation(body: Mapping[str, Any], model: str) -> LiveEvaluation:
    ep = body.get("evaluationParameters") or {}
    err = body.get("error") or {}
    return LiveEvaluation(
        model=str(body.get("modelName") or model),
        name=str(body["name"]),
        status=str(body.get("status", "")),
        test_dataset=ep.get("testDatasetName"),
        error_code=err.get("code"),
        error_message=err.get("message"),
        performance=body.get("modelPerformance"),
        created=body.get("createdDateTime"),
        updated=body.get("updatedDateTime"),
    )


def dataset_body(desired: DesiredDataset) -> dict[str, Any]:
    """The full desired object; PATCH sends it whole, annotationKind unchanged (docs/service-api.md §3)."""
    body: dict[str, Any] = {"annotationKind": desired.annotation_kind}
    if desired.label_uris:  # none: an update that keeps the URIs (and SAS) the service holds
        body["annotationFileUris"] = list(desired.label_uris)
    if desired.custom_properties:
        body["customProperties"] = dict(sorted(desired.custom_properties.items()))
    if desired.authentication:
        body["authentication"] = {"kind": desired.authentication}
    return body


def evaluation_body(desired: DesiredEvaluation) -> dict[str, Any]:
    return {"evaluationParameters": {"testDatasetName": desired.dataset}}


def model_body(request: DesiredModel) -> dict[str, Any]:
    # modelKind is always sent: its default when omitted is unknown (docs/service-api.md §3).
    body: dict[str, Any] = {
        "trainingParameters": {
            "trainingDatasetName": request.training_dataset,
            "timeBudgetInHours": request.budget_hours,
            "modelKind": request.model_kind,
        }
    }
    if request.test_dataset:
        body["evaluationParameters"] = {"testDatasetName": request.test_dataset}
    return body


def parse_prediction(model: str, body: Mapping[str, Any]) -> Prediction:
    meta = body.get("metadata") or {}
    cmr = body.get("customModelResult") or {}
    tags = tuple(
        PredictedTag(str(t.get("name")), float(t.get("confidence", 0.0)))
        for t in ((cmr.get("tagsResult") or {}).get("values") or ())
    )
    objects = []
    for o in (cmr.get("objectsResult") or {}).get("values") or ():
        box = o.get("boundingBox") or {}
        objects.append(
            PredictedObject(
                x=int(box.get("x", 0)),
                y=int(box.get("y", 0)),
                w=int(box.get("w", 0)),
                h=int(box.get("h", 0)),
                tags=tuple(PredictedTag(str(t.get("name")), float(t.get("confidence", 0.0))) for t in o.get("tags") or ()),
            )
        )
    return Prediction(
        model=model,
        width=int(meta.get("width", 0)),
        height=int(meta.get("height", 0)),
        tags=tags,
        objects=tuple(objects),
    )


class VisionBackend:
    """The Image Analysis 4.0 backend. ``client`` is a :class:`reconcile.client.http.VisionClient`."""

    #: Models are immutable (a change is delete + create); datasets are PATCHed with If-Match;
    #: evaluations are resources of their own; training can be cancelled (POST :cancel).
    capabilities = Capabilities(service="vision", model_change="replace", dataset_change="update",
                                evaluation_resources=True, cancel_training=True, deployments=False,
                                deployment_note="applications call analyze with a model name")

    def __init__(self, client: VisionClient, *, max_concurrency: int) -> None:
        self.client = client
        self.max_concurrency = max(1, max_concurrency)

    # --- observe ------------------------------------------------------------

    def observe(self, *, evaluations_of: Iterable[str] | None = None, deep: bool = False) -> LiveState:
        """Every read is deep here (the service's lists carry whole resources): ``deep`` changes nothing."""
        datasets = {d.name: d for d in map(parse_dataset, self.client.list("datasets"))}
        models = self.list_models()
        wanted = sorted(set(models) if evaluations_of is None else set(evaluations_of) & set(models))
        evaluations: dict[tuple[str, str], LiveEvaluation] = {}
        # One list per model: run them side by side (the client's rate limit still applies).
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, max(1, len(wanted)))) as pool:
            for model, bodies in zip(wanted, pool.map(self._list_evaluations, wanted)):
                for body in bodies:
                    ev = parse_evaluation(body, model)
                    evaluations[(model, ev.name)] = ev
        return LiveState(datasets=datasets, models=models, evaluations=evaluations)

    def list_models(self) -> dict[str, LiveModel]:
        return {m.name: m for m in map(parse_model, self.client.list("models"))}

    def _list_evaluations(self, model: str) -> list[dict[str, Any]]:
        return list(self.client.list(f"models/{_seg(model)}/evaluations"))

    def get_dataset(self, name: str) -> LiveDataset | None:
        try:
            return parse_dataset(self.client.get(f"datasets/{_seg(name)}"))
        except NotFoundError:
            return None

    def get_model(self, name: str) -> LiveModel | None:
        try:
            return parse_model(self.client.get(f"models/{_seg(name)}"))
        except NotFoundError:
            return None

    def finish_model(self, name: str) -> LiveModel | None:
        """Nothing to finish: a model this service trained is usable as soon as it succeeds."""
        return self.get_model(name)

    def get_evaluation(self, model: str, name: str) -> LiveEvaluation | None:
        try:
            return parse_evaluation(self.client.get(f"models/{_seg(model)}/evaluations/{_seg(name)}"), model)
        except NotFoundError:
            return None

    # --- write --------------------------------------------------------------

    def check_labels(self, dataset: str, annotation_kind: str, files: Sequence[tuple[str, bytes]]) -> None:
        """Nothing beyond the COCO validation the planner runs: the service reads COCO itself."""

    def create_dataset(self, request: DesiredDataset) -> LiveDataset:
        return parse_dataset(self.client.put(f"datasets/{_seg(request.name)}", dataset_body(request)))

    def update_dataset(self, request: DesiredDataset, *, etag: str) -> LiveDataset:
        return parse_dataset(
            self.client.patch(f"datasets/{_seg(request.name)}", dataset_body(request), if_match=etag)
        )

    def delete_dataset(self, name: str, *, etag: str | None = None) -> bool:
        try:
            self.client.delete(f"datasets/{_seg(name)}", if_match=etag)
        except NotFoundError:
            return False
        return True

    def create_model(self, request: DesiredModel) -> LiveModel:
        return parse_model(self.client.put(f"models/{_seg(request.name)}", model_body(request)))

    def cancel_model(self, name: str) -> None:
        self.client.post(f"models/{_seg(name)}:cancel")

    def delete_model(self, name: str) -> bool:
        try:
            self.client.delete(f"models/{_seg(name)}")
        except NotFoundError:
            return False
        return True

    def create_evaluation(self, request: DesiredEvaluation) -> LiveEvaluation:
        body = evaluation_body(request)
        path = f"models/{_seg(request.model)}/evaluations/{_seg(request.name)}"
        return parse_evaluation(self.client.put(path, body), request.model)

    def delete_evaluation(self, model: str, name: str) -> bool:
        try:
            self.client.delete(f"models/{_seg(model)}/evaluations/{_seg(name)}")
        except NotFoundError:
            return False
        return True

    def predict(self, model: str, *, image: bytes | None = None, url: str | None = None) -> Prediction:
        params = {"model-name": model}
        if url is not None:
            body = self.client.post("imageanalysis:analyze", params=params, json={"url": url})
        else:
            body = self.client.post(
                "imageanalysis:analyze", params=params, content=image or b"", content_type="application/octet-stream"
            )
        return parse_prediction(model, body or {})

    def close(self) -> None:
        self.client.close()
