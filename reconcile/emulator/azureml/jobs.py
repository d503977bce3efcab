"""AutoML jobs: submission, metadata updates, cancel, delete, and handing them to the trainer (REFERENCE §3.4)."""

from __future__ import annotations

import re
from typing import Any

from reconcile.emulator.azureml import lifecycle
from reconcile.emulator.azureml.arm import PROVIDER, ArmError, not_found, user_error
from reconcile.emulator.azureml.base import (
    DATA_REF, DATA_VERSION, JOB, JOB_MODEL_URI, SHORT_REF, TOMBSTONE, Call, check_name, props_of, Reply, ServiceBase, str_dict,
)
from reconcile.emulator.azureml.datastore import datastore_path
from reconcile.emulator.azureml.learner import TASKS
from reconcile.emulator.azureml.records import JobState, Outcome, Resource
from reconcile.emulator.azureml.evaluation import COMPONENT, TASKS as EVAL_TASKS, EvaluationInputs
from reconcile.emulator.azureml.training import DEFAULT_VALIDATION_SIZE, JobInputs


class JobOperations(ServiceBase):
    # --- jobs ----------------------------------------------------------------------------

    def _resolve_data(self, uri: Any, where: str) -> str:
        """The MLTable folder URI behind a job input (a data asset reference or a datastore URI)."""
        if not isinstance(uri, str) or not uri:
            raise user_error(f"{where}.uri is required.")
        if uri.startswith("azureml://datastores/") or re.match(r"^azureml://subscriptions/.+/datastores/", uri):
            datastore_path(uri)
            return uri
        name = version = None
        m = DATA_REF.search(uri)
        if m:
            name, version = m.group("name"), m.group("version")
        else:
            m = SHORT_REF.match(uri)
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

    def _inputs(self, name: str, props: dict[str, Any]) -> JobInputs | EvaluationInputs:
        if props.get("jobType") == "Pipeline":
            return self._evaluation_inputs(name, props)
        return self._job_inputs(name, props)

    def _evaluation_inputs(self, name: str, props: dict[str, Any]) -> EvaluationInputs:
        """A pipeline job whose one node is the registry's model_evaluation_pipeline (400 otherwise)."""
        nodes = props.get("jobs")
        if not isinstance(nodes, dict) or len(nodes) != 1:
            raise user_error("properties.jobs must hold exactly one node: the emulator runs only the azureml "
                             "registry's model_evaluation_pipeline component.")
        node_name, node = next(iter(nodes.items()))
        if not isinstance(node, dict) or not COMPONENT.match(str(node.get("componentId") or "")):
            raise user_error(f"jobs.{node_name}.componentId must be azureml://registries/azureml/components/"
                             "model_evaluation_pipeline/versions/<v>; other components are not emulated.")
        parent = props.get("inputs") if isinstance(props.get("inputs"), dict) else {}
        node_inputs = node.get("inputs") if isinstance(node.get("inputs"), dict) else {}

        def bound(key: str) -> dict[str, Any]:
            value = node_inputs.get(key)
            if isinstance(value, dict) and value.get("jobInputType") == "literal":
                m = re.fullmatch(r"\$\{\{parent\.inputs\.([A-Za-z0-9_]+)\}\}", str(value.get("value") or ""))
                if m:
                    value = parent.get(m.group(1))
            if not isinstance(value, dict):
                raise user_error(f"jobs.{node_name}.inputs.{key} is required by model_evaluation_pipeline.")
            return value

        task = bound("task")
        learner_task = EVAL_TASKS.get(str(task.get("value") or ""))
        if task.get("jobInputType") != "literal" or learner_task is None:
            raise user_error(f"jobs.{node_name}.inputs.task must be a literal, one of {', '.join(EVAL_TASKS)}.")
        test = bound("test_data")
        if test.get("jobInputType") not in ("mltable", "MLTable"):
            raise user_error(f"jobs.{node_name}.inputs.test_data must be an mltable input.")
        test_uri = self._resolve_data(test.get("uri"), f"jobs.{node_name}.inputs.test_data")
        model = bound("mlflow_model")
        if model.get("jobInputType") != "mlflow_model":
            raise user_error(f"jobs.{node_name}.inputs.mlflow_model must be an mlflow_model input.")
        version = self.resolve_model_version(model.get("uri"))  # type: ignore[attr-defined]
        self.fitted_model(version)  # type: ignore[attr-defined]  # 400 now if the model was not trained here
        state = self.store.get_artifact(self._model_key(version))
        assert state is not None
        return EvaluationInputs(name, learner_task, test_uri, state)

    def _model_key(self, version: Resource) -> str:
        m = JOB_MODEL_URI.match(str(version.body["properties"].get("modelUri") or ""))
        assert m is not None
        job, trial = self.job_and_trial(m.group("run")) or (None, None)
        run = trial or (job.job.outcome.best_run_id if job and job.job and job.job.outcome else None)
        return f"model/{run}"

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
        return Reply(200, self._compute_body(name))

    def list_computes(self, call: Call) -> Reply:
        """Compute_List: every cluster, paged like the other lists."""
        return self._page(call, [self._compute_body(n) for n in sorted(self.settings.compute_clusters)])

    def _compute_body(self, name: str) -> dict[str, Any]:
        return {
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
        }

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
        check_name(name, "Job")
        props = props_of(body, "a job")
        if props.get("jobType") not in ("AutoML", "Pipeline"):
            raise user_error(f"jobType '{props.get('jobType')}' is not emulated; AutoML jobs and model-evaluation "
                             "pipeline jobs are.")
        str_dict(props.get("tags"), "properties.tags")
        str_dict(props.get("properties"), "properties.properties")
        now = self.now()
        with self.store.lock:
            old = self.store.get(JOB, name)
            if old is None:
                if self.store.get(TOMBSTONE, name) is not None:
                    raise user_error(f"Job name '{name}' belonged to a deleted job; job names cannot be reused.")
                inputs = self._inputs(name, props)
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
            merged["properties"] = {**str_dict(props.get("properties"), "properties.properties"),
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
                    inputs = self._inputs(r.name, r.body["properties"])
                except ArmError as exc:
                    self._training_done(r.name, Outcome("Failed", error_code="UserError", error_message=exc.message))
                    continue
                self.runner.submit(inputs)
                n += 1
        return n

