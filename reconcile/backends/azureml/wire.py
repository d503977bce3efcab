"""Azure ML wire bodies ↔ the neutral values of :mod:`reconcile.backends.base`.

Only this module (and :mod:`reconcile.backends.azureml.backend`, which sends what it
builds) knows Azure ML's field names. What we need to find again is kept in the
resources themselves: tags (updatable) for ownership and properties, and the
``properties`` string map (create-only) for what a version was made from.
"""

from __future__ import annotations

import json
from typing import Any, Final, Mapping

from reconcile.backends.azureml.automl_data import AutoMLTask
from reconcile.backends.base import MODEL_TRAINED, DesiredModel, LiveDataset, LiveEvaluation, LiveModel

TAG_PREFIX: Final = "vision-gitops/"
TAG_MODEL: Final = TAG_PREFIX + "model"
TAG_SPEC: Final = TAG_PREFIX + "spec"
#: On a job made current again by a revert: since when (UTC ISO). A job is current from max(createdAt, this).
TAG_CURRENT_SINCE: Final = TAG_PREFIX + "current-since"
PROP_LABELS: Final = TAG_PREFIX + "labels"
PROP_KIND: Final = TAG_PREFIX + "annotationKind"
PROP_BUDGET: Final = TAG_PREFIX + "budgetHours"
PROP_MODEL_KIND: Final = TAG_PREFIX + "modelKind"
PROP_TRAIN: Final = TAG_PREFIX + "trainingDataset"
PROP_TEST: Final = TAG_PREFIX + "testDataset"
EXPERIMENT: Final = "vision-gitops"

#: Job statuses that end a job (REFERENCE §3.4, azure-ai-ml's terminal set); any other value,
#: documented or not (``Scheduled``), means the job is still going.
_FAILED: Final = frozenset({"Failed", "NotResponding", "Paused"})
_CANCELLED: Final = frozenset({"Canceled"})
_CANCELLING: Final = frozenset({"CancelRequested"})


def neutral_status(job_status: str, *, registered: bool) -> str:
    """The neutral status of a job: unknown values count as running (the unknown-status rule). A completed
    job is ``succeeded`` once its best trial is registered, ``trained`` until then (apply registers it)."""
    if job_status == "Completed":
        return "succeeded" if registered else MODEL_TRAINED
    if job_status in _FAILED:
        return "failed"
    if job_status in _CANCELLED:
        return "cancelled"
    if job_status in _CANCELLING:
        return "cancelling"
    return "running"


def annotation_task(annotation_kind: str) -> bool:
    """True when the spec's annotation kind is detection."""
    return annotation_kind == "imageObjectDetection"


def parse_data_version(name: str, body: Mapping[str, Any]) -> LiveDataset:
    props = body.get("properties") or {}
    extra = props.get("properties") or {}
    try:
        labels = tuple(json.loads(extra.get(PROP_LABELS, "[]")))
    except ValueError:
        labels = ()
    tags = dict(props.get("tags") or {})
    version = str(body.get("name", ""))
    archived = bool(props.get("isArchived"))
    # The "eTag" names the version and what can change in place (tags, archive state).
    etag = f"{version};" + json.dumps([sorted(tags.items()), archived])
    sd = body.get("systemData") or {}
    return LiveDataset(name=name, annotation_kind=str(extra.get(PROP_KIND, "")), label_uris=labels,
                       custom_properties=tags, authentication_kind=None, etag=etag,
                       created=sd.get("createdAt"), updated=sd.get("lastModifiedAt"), version=version)


#: The data container property naming the version whose tags and properties the container mirrors.
PROP_MIRRORS: Final = TAG_PREFIX + "mirrors"


def data_container_body(version: Mapping[str, Any]) -> dict[str, Any]:
    """The data container PUT that mirrors ``version`` (a data version as the service answered it): its tags
    and properties, and :data:`PROP_MIRRORS` naming it. Sent after the version's PUT, so the container
    never claims what the version does not hold (a failed mirror only costs a version list)."""
    props = version.get("properties") or {}
    return {"properties": {
        "dataType": props.get("dataType", "mltable"), "description": "registered by vision-gitops",
        "tags": dict(props.get("tags") or {}),
        "properties": {**(props.get("properties") or {}), PROP_MIRRORS: str(version.get("name", ""))},
        "isArchived": False}}


def unmirrored_container_body(container: Mapping[str, Any]) -> dict[str, Any]:
    """``container`` (as the service answered it) without :data:`PROP_MIRRORS`: its versions are archived."""
    props = container.get("properties") or {}
    return {"properties": {
        "dataType": props.get("dataType", "mltable"), "tags": dict(props.get("tags") or {}),
        "properties": {k: v for k, v in (props.get("properties") or {}).items() if k != PROP_MIRRORS},
        "isArchived": bool(props.get("isArchived"))}}


def parse_mirrored_container(name: str, container: Mapping[str, Any]) -> LiveDataset | None:
    """The dataset a data container mirrors, or ``None`` when it mirrors nothing current: no
    :data:`PROP_MIRRORS`, a ``latestVersion`` it does not name (a version registered since, by us or
    anyone), or an archived container. ``None`` means: list the container's versions."""
    props = container.get("properties") or {}
    extra = props.get("properties") or {}
    latest = props.get("latestVersion")
    if not latest or extra.get(PROP_MIRRORS) != latest or props.get("isArchived"):
        return None
    return parse_data_version(name, {
        "name": latest, "systemData": container.get("systemData"),
        "properties": {"tags": props.get("tags") or {}, "isArchived": False,
                       "properties": {k: v for k, v in extra.items() if k != PROP_MIRRORS}}})


def data_version_body(*, data_uri: str, labels: tuple[str, ...], annotation_kind: str,
                      tags: Mapping[str, str]) -> dict[str, Any]:
    return {"properties": {
        "dataType": "mltable", "dataUri": data_uri, "referencedUris": ["./annotations.jsonl"],
        "description": "registered by vision-gitops", "tags": dict(tags),
        "properties": {PROP_LABELS: json.dumps(list(labels)), PROP_KIND: annotation_kind},
        "isAnonymous": False, "isArchived": False}}


def task_for(model_kind: str, dataset_task: AutoMLTask) -> AutoMLTask:
    """Generic-Detector → detection; Generic-Classifier → the classification the labels call for."""
    if model_kind == "Generic-Detector":
        return AutoMLTask.DETECTION
    return dataset_task if dataset_task is not AutoMLTask.DETECTION else AutoMLTask.CLASSIFICATION


def job_body(desired: DesiredModel, *, spec_hash: str, task: AutoMLTask, compute_id: str, train_uri: str,
             test_uri: str | None) -> dict[str, Any]:
    """The AutoML job PUT. ``budgetHours`` is the job's wall-clock timeout (REFERENCE §3.4)."""
    details: dict[str, Any] = {
        "taskType": task.value,
        "trainingData": {"jobInputType": "mltable", "uri": train_uri},
        "targetColumnName": "label",
        "limitSettings": {"timeout": f"PT{desired.budget_hours}H", "maxTrials": 1, "maxConcurrentTrials": 1},
        "primaryMetric": task.primary_metric,
        "logVerbosity": "Info",
    }
    if test_uri:
        details["validationData"] = {"jobInputType": "mltable", "uri": test_uri}
    props = {PROP_MODEL_KIND: desired.model_kind, PROP_TRAIN: desired.training_dataset,
             PROP_BUDGET: str(desired.budget_hours)}
    if desired.test_dataset:
        props[PROP_TEST] = desired.test_dataset
    return {"properties": {
        "jobType": "AutoML", "displayName": f"vg-{desired.name}", "experimentName": EXPERIMENT,
        "description": f"vision-gitops model {desired.name}",
        "tags": {TAG_MODEL: desired.name, TAG_SPEC: spec_hash}, "properties": props,
        "computeId": compute_id, "isArchived": False, "taskDetails": details}}


def parse_job(model: str, body: Mapping[str, Any], *, registered: bool,
              performance: Mapping[str, object] | None = None) -> LiveModel:
    props = body.get("properties") or {}
    extra = props.get("properties") or {}
    sd = body.get("systemData") or {}
    status = str(props.get("status") or "")
    try:
        budget = int(extra.get(PROP_BUDGET, "0"))
    except ValueError:
        budget = 0
    neutral = neutral_status(status, registered=registered)
    return LiveModel(
        name=model, status=neutral,
        pending=f"registration of the best trial as model version {body.get('name')}" if neutral == MODEL_TRAINED
        else None,
        training_dataset=str(extra.get(PROP_TRAIN, "")), budget_hours=budget,
        model_kind=extra.get(PROP_MODEL_KIND), test_dataset=extra.get(PROP_TEST),
        error_code=status if status in _FAILED else None, performance=performance,
        created=sd.get("createdAt"), updated=sd.get("lastModifiedAt"),
        # The best trial is registered as model version <job name> (model_version_body).
        version=str(body.get("name")) if registered and body.get("name") else None,
    )


def model_version_body(*, job: str, best_child: str, spec_hash: str, datasets: Mapping[str, str]) -> dict[str, Any]:
    """Register the best trial's MLflow model (REFERENCE §3.5), tagged with the spec hash and dataset versions."""
    tags = {TAG_SPEC: spec_hash, TAG_PREFIX + "job": job}
    tags.update({f"{TAG_PREFIX}dataset/{n}": v for n, v in sorted(datasets.items())})
    return {"properties": {
        "modelType": "mlflow_model", "modelUri": f"azureml://jobs/{best_child}/outputs/artifacts/outputs/mlflow-model/",
        "jobName": job, "description": "registered by vision-gitops from the AutoML best trial",
        "tags": tags, "properties": {}, "isAnonymous": False, "isArchived": False}}


TAG_EVALUATION: Final = TAG_PREFIX + "evaluation/"
TAG_EVALUATION_NAME: Final = TAG_PREFIX + "evaluation"
TAG_DATASET: Final = TAG_PREFIX + "dataset"
#: Azure ML's model-evaluation pipeline component in the ``azureml`` system registry, pinned (one version for
#: every evaluation, so a retry sends the same body).
EVALUATION_COMPONENT: Final = "azureml://registries/azureml/components/model_evaluation_pipeline/versions/0.0.31"
#: The component's ``task`` input per AutoML task.
EVALUATION_TASKS: Final = {AutoMLTask.CLASSIFICATION: "image-classification",
                           AutoMLTask.MULTILABEL: "image-classification-multilabel",
                           AutoMLTask.DETECTION: "image-object-detection"}
#: AutoML's MLflow metric keys → the first service's names where one exists (AutoML's detection mAP is
#: computed at IoU 0.5 by default, hence meanAveragePrecision50). Other keys keep their AutoML names.
METRIC_NAMES: Final = {"accuracy": "accuracyTop1", "mean_average_precision": "meanAveragePrecision50"}


def neutral_metrics(metrics: Mapping[str, object]) -> dict[str, object]:
    return {METRIC_NAMES.get(k, k): v for k, v in sorted(metrics.items())}


def evaluations_of(model: str, version_body: Mapping[str, Any]) -> dict[str, str]:
    """``{evaluation name: dataset}`` recorded on a registered model version."""
    tags = (version_body.get("properties") or {}).get("tags") or {}
    return {k[len(TAG_EVALUATION):]: str(v) for k, v in tags.items() if k.startswith(TAG_EVALUATION)}


def evaluation_job_body(*, model: str, evaluation: str, dataset: str, task: AutoMLTask, model_uri: str,
                        test_uri: str, compute_id: str) -> dict[str, Any]:
    """The pipeline job that runs ``model_evaluation_pipeline`` on ``test_uri`` (docs/azureml.md, Evaluation)."""
    def bind(key: str) -> dict[str, Any]:
        return {"jobInputType": "literal", "value": "${{parent.inputs.%s}}" % key}

    return {"properties": {
        "jobType": "Pipeline", "displayName": f"vg-{model}-{evaluation}", "experimentName": EXPERIMENT,
        "description": f"vision-gitops evaluation {model}/{evaluation} on {dataset}",
        "tags": {TAG_MODEL: model, TAG_EVALUATION_NAME: evaluation, TAG_DATASET: dataset},
        "properties": {}, "computeId": compute_id, "isArchived": False,
        "inputs": {"task": {"jobInputType": "literal", "value": EVALUATION_TASKS[task]},
                   "test_data": {"jobInputType": "mltable", "uri": test_uri},
                   "mlflow_model": {"jobInputType": "mlflow_model", "uri": model_uri}},
        "outputs": {"evaluation_result": {"jobOutputType": "uri_folder"}},
        "jobs": {"model_evaluation": {
            "type": "pipeline", "name": "model_evaluation", "componentId": EVALUATION_COMPONENT,
            "inputs": {"task": bind("task"), "test_data": bind("test_data"), "mlflow_model": bind("mlflow_model"),
                       "label_column_name": {"jobInputType": "literal", "value": "label"},
                       "input_column_names": {"jobInputType": "literal", "value": "image_url"}},
            "outputs": {"evaluation_result": {"type": "literal", "value": "${{parent.outputs.evaluation_result}}"}}}},
        "settings": {"default_compute": compute_id, "continue_on_step_failure": False}}}


def parse_evaluation_job(body: Mapping[str, Any], performance: Mapping[str, object] | None = None,
                         error: tuple[str, str] | None = None) -> LiveEvaluation:
    props = body.get("properties") or {}
    tags = props.get("tags") or {}
    sd = body.get("systemData") or {}
    status = neutral_status(str(props.get("status") or ""), registered=True)
    inputs = props.get("inputs") or {}
    return LiveEvaluation(model=str(tags.get(TAG_MODEL, "")), name=str(tags.get(TAG_EVALUATION_NAME, "")),
                          status=status, test_dataset=tags.get(TAG_DATASET),
                          error_code=error[0] if error else None, error_message=error[1] if error else None,
                          performance=performance, created=sd.get("createdAt"), updated=sd.get("lastModifiedAt"),
                          model_version=_version_of(inputs.get("mlflow_model")),
                          dataset_version=_version_of(inputs.get("test_data")))


def _version_of(job_input: Any) -> str | None:
    """The version at the end of a job input's ARM id (``.../versions/<v>``)."""
    uri = str((job_input or {}).get("uri") or "") if isinstance(job_input, dict) else ""
    return uri.rsplit("/versions/", 1)[1].strip("/") or None if "/versions/" in uri else None
