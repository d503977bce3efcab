"""Azure Machine Learning AutoML for images behind the neutral :class:`~reconcile.backends.base.Backend`.

- Dataset → a data asset version (MLTable + JSONL in the workspace datastore); the version
  is derived from the labels' content (:mod:`.naming`), so changed labels are a new version
  beside the old one and a re-apply is a no-op. "Delete" archives (the service cannot delete).
- Model → the newest AutoML job tagged with the model's name, and, once it completed, the
  best trial's MLflow model registered as model ``<name>`` version ``<job name>`` by apply or
  ``wait`` (:meth:`AzureMLBackend.finish_model`; reads never write, so ``plan`` shows a
  completed, unregistered job as ``trained`` with registration pending). The job
  name is ``<model>-<spec hash>-g<n>``: a crash or retry finds the job and adopts it.
- Evaluation → a pipeline job running the ``azureml`` registry's model_evaluation_pipeline component on
  the registered model version and the evaluation's dataset (any dataset); its figures are the job's
  MLflow metrics (first-service names where they exist).

Transport, throttling, paging and LROs belong to :class:`~reconcile.client.arm.ArmClient`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Mapping, Sequence
from urllib.parse import quote

from reconcile.backends.azureml import naming, wire
from reconcile.backends.azureml.deployments import DeploymentOperations, no_deployment_error
from reconcile.backends.azureml.automl_data import JSONL_NAME, MLTABLE_NAME, AutoMLData, AutoMLTask, convert_coco
from reconcile.backends.azureml.target import AzureMLTarget
from reconcile.backends.base import (
    MODEL_TRAINED,
    Capabilities,
    DesiredDataset,
    DesiredEvaluation,
    DesiredModel,
    LiveDataset,
    LiveEvaluation,
    LiveModel,
    ReusableVersion,
    LiveState,
)
from reconcile.client.arm import ArmClient
from reconcile.errors import CocoError, InputError, NotFoundError, RemoteError
from reconcile.storage.base import IMAGES_PREFIX, BlobStore

#: What budgetHours means here, in the plan (REFERENCE §3.4): a wall-clock limit on a cluster, not compute hours.
BUDGET_NOTE = ("budgetHours {hours} is the AutoML job's wall-clock timeout on a cluster of up to {nodes} node(s): "
               "worst case {worst} node-hours (the retired Vision service billed {hours} compute hours)")

#: How an evaluation runs here, in the plan (docs/azureml.md "Evaluation"): what is faithful and what is not known.
EVALUATION_NOTE = ("scored by a pipeline job running the azureml registry's model_evaluation_pipeline "
                   f"({wire.EVALUATION_COMPONENT.rsplit('/', 1)[-1]}) on the registered model version; the figures "
                   "are read from the pipeline run in MLflow (which step run carries them on a live workspace is "
                   "unconfirmed, see docs/azureml.md)")


def capabilities_for(nodes: int) -> Capabilities:
    """This service's capabilities on a training cluster of at most ``nodes`` nodes."""
    return Capabilities(service="azureml", model_change="new-version", dataset_change="new-version",
                        evaluation_resources=True, cancel_training=True, training_nodes=max(1, nodes),
                        budget_note=BUDGET_NOTE, evaluation_note=EVALUATION_NOTE, deployments=True)
#: Where a dataset version's MLTable folder lives in the datastore container.
DATA_PREFIX = "vision-gitops/ds"


def _seg(name: str) -> str:
    return quote(name, safe="")


class AzureMLBackend(DeploymentOperations):
    """One workspace. ``store`` is the datastore's container (label files, images, MLTable folders)."""

    def __init__(self, client: ArmClient, target: AzureMLTarget, store: BlobStore, *, max_concurrency: int = 8) -> None:
        self._client = client
        self._max_concurrency = max(1, max_concurrency)
        self._target = target
        self._store = store
        self._ws = target.workspace_id
        self._capabilities: Capabilities | None = None
        self._checked: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        self._built: dict[tuple[str, tuple[str, ...]], AutoMLData] = {}
        self._present: set[str] = set()
        self._listed_images = False
        #: The service's answer to each data version PUT sent since the last observe: ``{dataset: version body}``.
        self._registered_here: dict[str, dict[str, Any]] = {}

    @property
    def capabilities(self) -> Capabilities:
        """Read once per session: the cluster's ``maxNodeCount`` bounds a job's cost. Read from Compute_List (a
        plan sends list calls only); raises :class:`NotFoundError` naming the cluster when the workspace has none
        of that name."""
        if self._capabilities is None:
            body = next((c for c in self._client.list(f"{self._ws}/computes")
                         if str(c.get("name", "")).lower() == self._target.compute.lower()), None)
            if body is None:
                raise NotFoundError(f"the workspace has no compute cluster {self._target.compute!r}",
                                    hint="check computeName in the stack outputs (`pulumi up` creates it)")
            scale = ((body.get("properties") or {}).get("properties") or {}).get("scaleSettings") or {}
            try:
                nodes = int(scale.get("maxNodeCount") or 1)
            except (TypeError, ValueError):
                nodes = 1
            self._capabilities = capabilities_for(nodes)
        return self._capabilities

    # --- datasets ---------------------------------------------------------------

    def build_data(self, desired: DesiredDataset) -> AutoMLData:
        """The JSONL and MLTable ``desired`` becomes, validated (raises :class:`InputError` naming the file)."""
        names = []
        for uri in desired.label_uris:
            name = self._store.name_for(uri)
            if name is None:
                raise InputError(f"dataset {desired.name}: label file {naming.label_address(uri)} is not in the "
                                 "workspace datastore", hint="give the dataset local label files (`file:`)")
            names.append(name)
        key = (desired.annotation_kind, tuple(names))
        if key not in self._built:  # label blobs are content-addressed: the same names are the same bytes
            self._built[key] = convert_coco([(n, self._store.get(n)) for n in names],
                                            detection=wire.annotation_task(desired.annotation_kind),
                                            locate=self._store.name_for, datastore_uri=self._datastore_uri)
        return self._built[key]

    def _missing(self, blobs: Sequence[str]) -> list[str]:
        """The blobs of ``blobs`` not in the datastore: one listing of ``images/`` per apply instead of a HEAD per
        image (images are content-addressed and never removed, so a blob seen once stays present)."""
        todo = [b for b in dict.fromkeys(blobs) if b not in self._present]
        if todo and not self._listed_images:
            self._present.update(self._store.list_names(IMAGES_PREFIX))
            self._listed_images = True
            todo = [b for b in todo if b not in self._present]
        missing = [b for b in todo if not self._store.exists(b)]
        self._present.update(b for b in todo if b not in missing)
        return missing

    def check_labels(self, dataset: str, annotation_kind: str, files: Sequence[tuple[str, bytes]]) -> None:
        """Convert the files as apply will and check the JSONL and MLTable (plan time, nothing written).

        The same bytes of the same kind are checked once per backend (datasets sharing label files).
        Raises :class:`CocoError`/:class:`InputError` naming the dataset and file."""
        key = (annotation_kind, tuple((shown, hashlib.sha256(data).hexdigest()) for shown, data in files))
        if key in self._checked:
            return
        try:
            convert_coco(files, detection=wire.annotation_task(annotation_kind), locate=self._store.name_for,
                         datastore_uri=self._datastore_uri)
        except InputError as err:
            raise CocoError(f"dataset {dataset}: {err.message}", hint=err.hint) from None
        self._checked.add(key)

    def _datastore_uri(self, blob: str) -> str:
        return self._target.datastore_uri(blob)

    def _versions(self, name: str) -> list[dict[str, Any]]:
        # Newest first, as the service orders them (creation times can tie within a second).
        return list(self._client.list(f"{self._ws}/data/{_seg(name)}/versions",
                                      {"listViewType": "All", "$orderBy": "createdtime desc"}))

    @staticmethod
    def _latest(versions: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The newest version that is not archived (an all-archived dataset is gone for us); ``versions``
        come newest first."""
        return next((v for v in versions if not (v.get("properties") or {}).get("isArchived")), None)

    def get_dataset(self, name: str) -> LiveDataset | None:
        try:
            latest = self._latest(self._versions(name))
        except NotFoundError:
            return None
        return wire.parse_data_version(name, latest) if latest else None

    def _list_datasets(self, *, deep: bool = False) -> tuple[dict[str, LiveDataset], int]:
        """Every live dataset, and how many containers had their versions listed.

        One list of data containers (DataContainers_List, paged). Each container this backend wrote mirrors
        its latest version (tags, properties, :data:`wire.PROP_MIRRORS`); while the container's
        ``latestVersion`` is still the mirrored one, the dataset is read from the container. Otherwise, and
        for every container when ``deep``, the container's versions are listed (side by side; ARM has no list
        across containers) and the newest not archived is the dataset. What only a deep read sees: a version
        archived or retagged outside without touching its container (docs/azureml.md, "Observing datasets").

        A version this backend registered since the last observe is not listed again while the container's
        ``latestVersion`` still names it: the service's answer to that PUT, moments ago, is the version as it
        is. Those answers serve once; every later observe reads again."""
        containers = {str(c.get("name", "")): c for c in self._client.list(f"{self._ws}/data", {"listViewType": "All"})}
        fresh, self._registered_here = self._registered_here, {}
        out = {}
        todo = []
        for name, container in containers.items():
            latest = str((container.get("properties") or {}).get("latestVersion") or "")
            mine = fresh.get(name)
            mirrored = None if deep else wire.parse_mirrored_container(name, container)
            if mine is not None and latest and str(mine.get("name")) == latest:
                out[name] = wire.parse_data_version(name, mine)
            elif mirrored is not None:
                out[name] = mirrored
            else:
                todo.append(name)
        with ThreadPoolExecutor(max_workers=min(self._max_concurrency, max(1, len(todo)))) as pool:
            for name, versions in zip(todo, pool.map(self._versions, todo)):
                newest = self._latest(versions)
                if newest is not None:
                    out[name] = wire.parse_data_version(name, newest)
        return out, len(todo)

    def create_dataset(self, desired: DesiredDataset) -> LiveDataset:
        """Upload the JSONL and MLTable, check every image is there, then register the version.

        Idempotent: the version and folder are derived from the content; a version that exists
        is PUT again with the same path (tags and archive state may change, nothing else).
        """
        data = self.build_data(desired)
        missing = self._missing(data.image_blobs)
        if missing:
            raise InputError(f"dataset {desired.name}: {len(missing)} image(s) are not in the datastore, "
                             f"e.g. {missing[0]}", hint="run apply again: images are uploaded before the dataset")
        version = naming.data_version(desired)
        folder = f"{DATA_PREFIX}/{desired.name}/{version}"
        self._store.put(f"{folder}/{JSONL_NAME}", data.jsonl, content_type="application/jsonl")
        self._store.put(f"{folder}/{MLTABLE_NAME}", data.mltable.encode(), content_type="text/yaml")
        body = wire.data_version_body(
            data_uri=self._target.datastore_uri(folder + "/"),
            labels=tuple(naming.label_address(u) for u in desired.label_uris),
            annotation_kind=desired.annotation_kind, tags=desired.custom_properties)
        answer = self._client.put(f"{self._ws}/data/{_seg(desired.name)}/versions/{_seg(version)}", body)
        self._registered_here[desired.name] = answer
        # After the version: a container never mirrors what its version does not hold.
        self._client.put(f"{self._ws}/data/{_seg(desired.name)}", wire.data_container_body(answer))
        return wire.parse_data_version(desired.name, answer)

    def update_dataset(self, desired: DesiredDataset, *, etag: str) -> LiveDataset:
        """Versioned service: an update is the same registration (tags change in place, labels make a version)."""
        return self.create_dataset(desired)

    def delete_dataset(self, name: str, *, etag: str | None = None) -> bool:
        """Archive every active version (data assets cannot be deleted, REFERENCE §3.3); False if none was."""
        self._registered_here.pop(name, None)
        try:
            versions = self._versions(name)
        except NotFoundError:
            return False
        archived = False
        for v in versions:
            props = dict(v.get("properties") or {})
            if props.get("isArchived"):
                continue
            body = {"properties": {k: props[k] for k in ("dataType", "dataUri", "description", "tags", "properties",
                                                        "isAnonymous") if k in props} | {"isArchived": True}}
            self._client.put(f"{self._ws}/data/{_seg(name)}/versions/{_seg(str(v['name']))}", body)
            archived = True
        container = self._client.get(f"{self._ws}/data/{_seg(name)}")
        if wire.PROP_MIRRORS in ((container.get("properties") or {}).get("properties") or {}):
            # The container must stop mirroring an archived version, or observe would still see the dataset.
            self._client.put(f"{self._ws}/data/{_seg(name)}", wire.unmirrored_container_body(container))
        return archived

    # --- models -------------------------------------------------------------------

    def _jobs(self) -> list[dict[str, Any]]:
        return [j for j in self._client.list(f"{self._ws}/jobs", {"jobType": "AutoML", "tag": wire.TAG_MODEL,
                                                                  "listViewType": "All"})
                if wire.TAG_MODEL in ((j.get("properties") or {}).get("tags") or {})]

    def _registered(self, model: str) -> set[str]:
        try:
            return {str(v.get("name")) for v in self._client.list(f"{self._ws}/models/{_seg(model)}/versions",
                                                                   {"listViewType": "All"})}
        except NotFoundError:
            return set()

    @staticmethod
    def _current_since(job: dict[str, Any]) -> datetime:
        """Since when ``job`` is its model's current version: max(createdAt, the revert tag ``current-since``)."""
        stamps = [(job.get("systemData") or {}).get("createdAt"),
                  ((job.get("properties") or {}).get("tags") or {}).get(wire.TAG_CURRENT_SINCE)]
        out = datetime.min.replace(tzinfo=timezone.utc)
        for stamp in stamps:
            try:
                at = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
            except ValueError:
                continue
            out = max(out, at if at.tzinfo else at.replace(tzinfo=timezone.utc))
        return out

    @classmethod
    def _newest_by_model(cls, jobs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        # A stable sort: jobs created in the same second keep the service's (creation) order.
        for j in sorted(jobs, key=cls._current_since):
            out[j["properties"]["tags"][wire.TAG_MODEL]] = j
        return out

    @staticmethod
    def _job_data(job: dict[str, Any]) -> tuple[str, str | None]:
        details = job["properties"].get("taskDetails") or {}
        train = str((details.get("trainingData") or {}).get("uri") or "")
        test = (details.get("validationData") or {}).get("uri")
        return train, str(test) if test else None

    def _reusable_jobs(self, model: str, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The model's earlier succeeded, registered jobs (not the current one) trained on the data versions its
        datasets have now, newest first: a revert to one of their specs makes it current with no training."""
        newest = self._newest_by_model(jobs).get(model)
        done = [j for j in jobs if j["properties"]["tags"].get(wire.TAG_MODEL) == model
                and j["properties"].get("status") == "Completed" and newest is not None
                and j["name"] != newest["name"]]
        if not done:
            return []
        registered = self._registered(model)
        uris: dict[str, str | None] = {}

        def current(dataset: str) -> str | None:
            if dataset not in uris:
                try:
                    uris[dataset] = self._data_uri(dataset)
                except RemoteError:
                    uris[dataset] = None
            return uris[dataset]

        out = []
        for j in sorted(done, key=self._current_since, reverse=True):
            extra = j["properties"].get("properties") or {}
            train, test = self._job_data(j)
            test_ds = extra.get(wire.PROP_TEST)
            if str(j["name"]) in registered and train == current(str(extra.get(wire.PROP_TRAIN, ""))) \
                    and (test_ds is None or test == current(str(test_ds))):
                out.append(j)
        return out

    def _reusable(self, model: str, jobs: list[dict[str, Any]]) -> tuple[ReusableVersion, ...]:
        out = []
        for j in self._reusable_jobs(model, jobs):
            live = wire.parse_job(model, j, registered=True)
            out.append(ReusableVersion(version=str(j["name"]), training_dataset=live.training_dataset,
                                       budget_hours=live.budget_hours, model_kind=live.model_kind,
                                       test_dataset=live.test_dataset))
        return tuple(out)

    def _latest_registered(self) -> dict[str, str]:
        """``{model: latest version}`` of every registered model, from one list of model containers."""
        out = {}
        for container in self._client.list(f"{self._ws}/models", {"listViewType": "All"}):
            latest = (container.get("properties") or {}).get("latestVersion")
            if latest:
                out[str(container.get("name", ""))] = str(latest)
        return out

    def _is_registered(self, model: str, job: dict[str, Any], latest: Mapping[str, str]) -> bool:
        """Whether ``job``'s best trial is registered (version = job name). The containers' ``latestVersion``
        answers for the newest job; only when it names another version is the model's version list read."""
        if latest.get(model) == str(job["name"]):
            return True
        return model in latest and str(job["name"]) in self._registered(model)

    def list_models(self) -> dict[str, LiveModel]:
        """Every model's newest job, read-only: a completed job whose best trial is not registered yet is
        ``trained`` (apply or ``wait`` registers it through :meth:`finish_model`)."""
        jobs = self._jobs()
        newest = self._newest_by_model(jobs)
        by_model: dict[str, list[dict[str, Any]]] = {}
        for j in jobs:
            by_model.setdefault(j["properties"]["tags"][wire.TAG_MODEL], []).append(j)
        completed = [m for m, j in newest.items() if j["properties"].get("status") == "Completed"]
        latest = self._latest_registered() if completed else {}
        return {model: replace(wire.parse_job(model, job, registered=model in completed
                                              and self._is_registered(model, job, latest)),
                               reusable=self._reusable(model, jobs) if len(by_model[model]) > 1 else ())
                for model, job in newest.items()}

    def _newest_job(self, name: str) -> dict[str, Any] | None:
        return self._newest_by_model([j for j in self._jobs() if j["properties"]["tags"][wire.TAG_MODEL] == name]).get(name)

    def get_model(self, name: str) -> LiveModel | None:
        """The model's newest job, read-only; a succeeded one carries its best trial's figures."""
        job = self._newest_job(name)
        if job is None:
            return None
        if job["properties"].get("status") != "Completed":
            return wire.parse_job(name, job, registered=False)
        return self._completed(name, job, registered=str(job["name"]) in self._registered(name))

    def finish_model(self, name: str) -> LiveModel | None:
        """Register a completed job's best trial as model version ``<job name>`` (idempotent: a version that
        is already there is not written again), then return the model as :meth:`get_model` would."""
        job = self._newest_job(name)
        if job is None:
            return None
        if job["properties"].get("status") != "Completed":
            return wire.parse_job(name, job, registered=False)
        return self._completed(name, job, registered=self._register(name, job))

    def _completed(self, name: str, job: dict[str, Any], *, registered: bool) -> LiveModel:
        best = self._best_metrics(job)
        performance = wire.neutral_metrics(best) if best else None  # the first service's metric names
        return wire.parse_job(name, job, registered=registered, performance=performance)

    def _mlflow_run(self, run_id: str) -> dict[str, Any]:
        ws = self._client.get(self._ws)
        tracking = str((ws.get("properties") or {}).get("mlFlowTrackingUri") or "")
        base = tracking.replace("azureml://", "https://", 1).replace("/mlflow/v1.0/", "/mlflow/v2.0/", 1)
        return self._client.get_absolute(f"{base}/api/2.0/mlflow/runs/get?run_id={quote(run_id, safe='')}")

    def _best_child(self, job: dict[str, Any]) -> str | None:
        tags = {t["key"]: t["value"] for t in self._mlflow_run(job["name"])["run"]["data"].get("tags", [])}
        return tags.get("automl_best_child_run_id")

    def _best_metrics(self, job: dict[str, Any]) -> dict[str, object] | None:
        best = self._best_child(job)
        if not best:
            return None
        metrics = self._mlflow_run(best)["run"]["data"].get("metrics", [])
        return {m["key"]: m["value"] for m in metrics}

    def _register(self, model: str, job: dict[str, Any]) -> bool:
        name = str(job["name"])
        if name in self._registered(model):
            return True
        best = self._best_child(job)
        if not best:
            return False
        tags = job["properties"].get("tags") or {}
        details = job["properties"].get("taskDetails") or {}
        datasets = {}
        for key in ("trainingData", "validationData"):
            uri = str((details.get(key) or {}).get("uri") or "")
            if "/data/" in uri and "/versions/" in uri:
                ds, version = uri.split("/data/", 1)[1].split("/versions/", 1)
                datasets[ds] = version
        body = wire.model_version_body(job=name, best_child=best, spec_hash=str(tags.get(wire.TAG_SPEC, "")),
                                       datasets=datasets)
        self._client.put(f"{self._ws}/models/{_seg(model)}/versions/{_seg(name)}", body)
        return True

    def create_model(self, desired: DesiredModel) -> LiveModel:
        """Submit the AutoML job (or adopt the one a crashed run submitted).

        A reverted spec whose earlier job is reusable (:meth:`_reusable_jobs`) trains nothing: that job is tagged
        current again. Otherwise the job name depends only on the spec and on earlier generations (failed,
        cancelled, or superseded by a newer job of another spec), so a retry computes the same name and its PUT is
        answered 200 with the job already there.
        """
        spec_hash = naming.model_spec_hash(desired)
        jobs = self._jobs()
        mine = [j for j in jobs if j["properties"]["tags"].get(wire.TAG_MODEL) == desired.name
                and j["properties"]["tags"].get(wire.TAG_SPEC) == spec_hash]
        live = [j for j in mine if wire.neutral_status(str(j["properties"].get("status")), registered=True)
                not in ("failed", "cancelled")]
        newest = self._newest_by_model(jobs).get(desired.name)
        # Adopt only the model's newest job (a retry after a crash). An older job of this spec is a reverted spec:
        # it stays superseded by the newer job, so train the spec again as the next generation.
        if newest is not None and any(j["name"] == newest["name"] for j in live):
            return wire.parse_job(desired.name, newest, registered=False)
        if newest is not None and newest["properties"]["tags"].get(wire.TAG_SPEC) != spec_hash:
            # A revert: an earlier job of exactly this spec, registered and trained on today's data versions,
            # becomes current again by a tag (no training); the newer job stays, superseded.
            reusable = [j for j in self._reusable_jobs(desired.name, jobs) if j in mine]
            if reusable:
                return self._make_current(desired, reusable[0], newest)
        generation = naming.next_generation([str(j["name"]) for j in mine], desired.name, spec_hash)
        name = naming.job_name(desired.name, spec_hash, generation)
        train = self._data_uri(desired.training_dataset)
        test = self._data_uri(desired.test_dataset) if desired.test_dataset else None
        task = wire.task_for(desired.model_kind, self._dataset_task(desired.training_dataset))
        body = wire.job_body(desired, spec_hash=spec_hash, task=task, compute_id=self._target.compute_id,
                             train_uri=train, test_uri=test)
        answer = self._client.put(f"{self._ws}/jobs/{_seg(name)}", body)
        return wire.parse_job(desired.name, answer, registered=False)

    def _make_current(self, desired: DesiredModel, job: dict[str, Any], newest: dict[str, Any]) -> LiveModel:
        # The tag must sort after the current job even if this machine's clock lags the service's.
        since = max(datetime.now(timezone.utc), self._current_since(newest) + timedelta(microseconds=1))
        # The re-PUT repeats the job's submitted body (the service refuses changes but to tags) with the tag added.
        train, test = self._job_data(job)
        task = wire.task_for(desired.model_kind, self._dataset_task(desired.training_dataset))
        body = wire.job_body(desired, spec_hash=naming.model_spec_hash(desired), task=task,
                             compute_id=str(job["properties"].get("computeId") or self._target.compute_id),
                             train_uri=train, test_uri=test)
        body["properties"]["tags"] = {**body["properties"]["tags"], **(job["properties"].get("tags") or {}),
                                      wire.TAG_CURRENT_SINCE: since.isoformat()}
        answer = self._client.put(f"{self._ws}/jobs/{_seg(str(job['name']))}", body)
        return wire.parse_job(desired.name, answer, registered=True)

    def _data_uri(self, dataset: str) -> str:
        live = self.get_dataset(dataset)
        if live is None:
            raise RemoteError(f"dataset {dataset} has no active version in the workspace",
                              hint="apply the dataset first (plan orders datasets before models)")
        version = live.etag.split(";", 1)[0]
        return self._target.data_version_id(dataset, version)

    def _dataset_task(self, dataset: str) -> AutoMLTask:
        live = self.get_dataset(dataset)
        if live is None or wire.annotation_task(live.annotation_kind):
            return AutoMLTask.DETECTION
        version = live.etag.split(";", 1)[0]
        try:
            jsonl = self._store.get(f"{DATA_PREFIX}/{dataset}/{version}/{JSONL_NAME}")
        except Exception:  # noqa: BLE001 - a missing JSONL only means "not multi-label"
            return AutoMLTask.CLASSIFICATION
        return AutoMLTask.MULTILABEL if b'"label":[' in jsonl else AutoMLTask.CLASSIFICATION

    def cancel_model(self, name: str) -> None:
        """POST cancel on the model's running job; the service answers at once (202 + Location) and the
        job moves CancelRequested → Canceled, which the waiter observes (the LRO is not held open)."""
        job = self._newest_job(name)
        if job is None:
            return
        path = f"{self._ws}/jobs/{_seg(str(job['name']))}/cancel"
        self._client.begin("POST", path)

    def delete_model(self, name: str) -> bool:
        """Archive the model's jobs and registered versions (superseded models are kept, not deleted)."""
        jobs = [j for j in self._jobs() if j["properties"]["tags"][wire.TAG_MODEL] == name]
        if not jobs:
            return False
        for j in jobs:
            if wire.neutral_status(str(j["properties"].get("status")), registered=True) in ("running", "cancelling"):
                self.cancel_model(name)
            props = {k: v for k, v in j["properties"].items() if k not in ("status", "services")}
            self._client.put(f"{self._ws}/jobs/{_seg(str(j['name']))}", {"properties": props | {"isArchived": True}})
        return True

    # --- observe -----------------------------------------------------------------

    def observe(self, *, evaluations_of: frozenset[str] | None = None, deep: bool = False) -> LiveState:
        """Models, datasets, evaluation jobs and endpoints are listed side by side (each its own list of calls).
        ``deep`` lists every dataset's versions instead of reading the containers' mirrors."""
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="observe") as pool:
            models_f = pool.submit(self.list_models)
            datasets_f = pool.submit(self._list_datasets, deep=deep)
            evaluations_f = pool.submit(self._evaluation_jobs)
            endpoints_f = pool.submit(self.list_endpoints)
            models = models_f.result()
            wanted = set(models) if evaluations_of is None else set(models) & set(evaluations_of)
            datasets, listed = datasets_f.result()
            if deep:
                how = f"deep: the versions of all {listed} data container(s) were listed"
            else:
                how = (f"fast: {len(datasets) - listed} dataset(s) read from their data container's mirror of "
                       f"the latest version, {listed} container(s) listed version by version; a version archived "
                       "or retagged outside without touching its container shows only in a deep plan "
                       "(`reconcile plan --deep`, the drift workflow)")
            return LiveState(datasets=datasets, models=models, observation=how, endpoints=endpoints_f.result(),
                             evaluations=self._list_evaluations({m: models[m] for m in wanted},
                                                                evaluations_f.result()))

    # --- evaluations ----------------------------------------------------------------
    # An evaluation is a pipeline job running Azure ML's model_evaluation_pipeline component (azureml
    # registry) on the registered model version and the evaluation's dataset; its figures are read from
    # the job's MLflow run and named as the first service names them where a name exists.

    def _evaluation_jobs(self) -> list[dict[str, Any]]:
        return [j for j in self._client.list(f"{self._ws}/jobs", {"jobType": "Pipeline",
                                                                  "tag": wire.TAG_EVALUATION_NAME})
                if wire.TAG_EVALUATION_NAME in ((j.get("properties") or {}).get("tags") or {})]

    def _evaluation_job(self, model: str, name: str) -> dict[str, Any] | None:
        mine = [j for j in self._evaluation_jobs()
                if j["properties"]["tags"].get(wire.TAG_MODEL) == model
                and j["properties"]["tags"].get(wire.TAG_EVALUATION_NAME) == name]
        if not mine:
            return None
        current = self._newest_job(model)
        return max(mine, key=self._evaluation_order(current and str(current["name"])))

    @staticmethod
    def _evaluation_order(version: str | None) -> Any:
        """Newest first among the evaluations of the model's current ``version`` (after a revert its earlier
        evaluation holds again), then among the others."""
        return lambda j: (wire.parse_evaluation_job(j).model_version == version if version else False,
                          (j.get("systemData") or {}).get("createdAt") or "")

    def _model_version(self, model: str) -> dict[str, Any] | None:
        job = self._newest_job(model)
        if job is None:
            return None
        try:
            return self._client.get(f"{self._ws}/models/{_seg(model)}/versions/{_seg(str(job['name']))}")
        except NotFoundError:
            return None

    def _run_error(self, run_id: str) -> tuple[str, str] | None:
        """The failed run's error from run history (REFERENCE §4.2; ARM's job body carries none)."""
        ws = self._client.get(self._ws)
        discovery = str((ws.get("properties") or {}).get("discoveryUrl") or "")
        if not discovery:
            return None
        api = str(self._client.get_absolute(discovery).get("api") or "").rstrip("/")
        # The run-history scope is the workspace's ARM id.
        details = self._client.get_absolute(f"{api}/history/v1.0{self._ws}/runs/{quote(run_id, safe='')}/details")
        err = (details.get("error") or {}).get("error") or {}
        return (str(err.get("code") or "Failed"), str(err.get("message") or "")) if err else None

    def _read_evaluation(self, job: dict[str, Any]) -> LiveEvaluation:
        status = str(job["properties"].get("status") or "")
        if status == "Completed":
            metrics = self._mlflow_run(str(job["name"]))["run"]["data"].get("metrics", [])
            return wire.parse_evaluation_job(job, performance=wire.neutral_metrics({m["key"]: m["value"] for m in metrics}))
        if wire.neutral_status(status, registered=True) == "failed":
            return wire.parse_evaluation_job(job, error=self._run_error(str(job["name"])) or (status, ""))
        return wire.parse_evaluation_job(job)

    def get_evaluation(self, model: str, name: str) -> LiveEvaluation | None:
        """The evaluation job of ``model``/``name`` (newest of the model's current version, else newest) with its
        figures (completed) or reason (failed)."""
        job = self._evaluation_job(model, name)
        return self._read_evaluation(job) if job is not None else None

    @staticmethod
    def _list_evaluations(models: Mapping[str, LiveModel],
                          jobs: list[dict[str, Any]]) -> dict[tuple[str, str], LiveEvaluation]:
        """Each evaluation's job of ``models`` (newest of the model's current version, else newest): statuses
        without figures (``get_evaluation`` reads them)."""
        out: dict[tuple[str, str], LiveEvaluation] = {}
        kept_jobs: dict[tuple[str, str], dict[str, Any]] = {}
        for job in jobs:
            live = wire.parse_evaluation_job(job)
            model = models.get(live.model)
            if model is None:
                continue
            order = AzureMLBackend._evaluation_order(model.version)
            kept = out.get((live.model, live.name))
            if kept is None or order(job) >= order(kept_jobs[(live.model, live.name)]):
                out[(live.model, live.name)] = live
                kept_jobs[(live.model, live.name)] = job
        return out

    def create_evaluation(self, desired: DesiredEvaluation) -> LiveEvaluation:
        """Submit the model-evaluation pipeline job (or adopt the one a crashed run submitted).

        The job name is derived from the model version and the dataset version, so a retry finds it.
        Raises :class:`RemoteError` when the model has no registered version or the dataset no active version.
        """
        version = self._model_version(desired.model)
        if version is None:
            raise RemoteError(f"model {desired.model} has no registered version to evaluate yet",
                              hint="run apply again once training has completed (`reconcile wait`)")
        test_uri = self._data_uri(desired.dataset)
        data_version = test_uri.rsplit("/versions/", 1)[1]
        name = naming.evaluation_job_name(desired.model, desired.name, naming.evaluation_spec_hash(
            desired.model, str(version["name"]), desired.dataset, data_version))
        try:
            job = self._client.get(f"{self._ws}/jobs/{_seg(name)}")
        except NotFoundError:
            model_job = self._client.get(f"{self._ws}/jobs/{_seg(str(version['name']))}")
            task = AutoMLTask(str((model_job["properties"].get("taskDetails") or {}).get("taskType")))
            body = wire.evaluation_job_body(
                model=desired.model, evaluation=desired.name, dataset=desired.dataset, task=task,
                model_uri=f"{self._ws}/models/{desired.model}/versions/{version['name']}", test_uri=test_uri,
                compute_id=self._target.compute_id)
            job = self._client.put(f"{self._ws}/jobs/{_seg(name)}", body)
        return self._read_evaluation(job)

    def delete_evaluation(self, model: str, name: str) -> bool:
        """Archive the evaluation's pipeline jobs (job names are never reused; archived jobs are not listed)."""
        jobs = [j for j in self._evaluation_jobs() if j["properties"]["tags"].get(wire.TAG_MODEL) == model
                and j["properties"]["tags"].get(wire.TAG_EVALUATION_NAME) == name]
        for j in jobs:
            props = {k: v for k, v in j["properties"].items() if k not in ("status", "services")}
            self._client.put(f"{self._ws}/jobs/{_seg(str(j['name']))}", {"properties": props | {"isArchived": True}})
        return bool(jobs)

    def _not_served(self, model: str, *, provisioning: Sequence[str] = ()) -> InputError:
        """Why no deployment scores ``model``, precisely (read-only): no such model, no registered version yet,
        or no online deployment of a registered version that has finished provisioning (``provisioning``:
        ``endpoint/deployment (state)`` of those still on their way)."""
        where = f"workspace {self._target.workspace}"
        job = self._newest_job(model)
        if job is None:
            return InputError(f"model {model}: there is no such model in {where}",
                              hint="`reconcile status` lists the models; apply the model's spec to train it")
        live = self.get_model(model)
        if live is None or live.status != "succeeded":
            status = live.status if live else "unknown"
            todo = ("`reconcile wait` (or `reconcile apply`) registers it" if status == MODEL_TRAINED else
                    "`reconcile wait` follows the training" if status in ("running", "cancelling") else
                    "fix and apply its spec to train a new version")
            return InputError(f"model {model}: nothing to score yet: its newest training ({job['name']}) is {status}, "
                              "so no model version is registered", hint=f"{todo}; then deploy it (a Deployment spec)")
        version = str(job["name"])
        if provisioning:
            return InputError(f"model {model}: version {version} is registered; its online deployment(s) "
                              f"{', '.join(provisioning)} have not finished provisioning in {where}",
                              hint="`reconcile wait` or `reconcile status` shows when they are ready; try again then")
        return no_deployment_error(model, version=version, where=where)

    def close(self) -> None:
        self._client.close()
