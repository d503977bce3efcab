"""Run history and MLflow views of AutoML jobs and their trials (REFERENCE §4.2–4.3).

A job is the parent run; each trial is a child run ``<job>_HD_<k>`` whose metrics
were measured on the validation examples. The parent carries the MLflow tag
``automl_best_child_run_id``. Nothing here is stored: every view is derived from
the job record and the clock.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from reconcile.emulator.azureml import lifecycle
from reconcile.emulator.azureml.arm import ArmError, iso
from reconcile.emulator.azureml.records import Resource, Trial
from reconcile.emulator.azureml.service import AzureMLService

_MLFLOW_STATUS = {"Completed": "FINISHED", "Failed": "FAILED", "Canceled": "KILLED", "NotStarted": "SCHEDULED",
                  "Starting": "SCHEDULED", "Preparing": "SCHEDULED", "Queued": "SCHEDULED"}
#: The log azure-ai-ml's jobs.stream prints (it matches user_logs/std_log*.txt).
LOG_NAME = "user_logs/std_log.txt"
_FILTER = re.compile(r"^\s*tags\.(?:`(?P<q>[^`]+)`|(?P<k>[\w.]+))\s*=\s*'(?P<v>[^']*)'\s*$")


def experiment_id(name: str) -> str:
    return str(int(hashlib.sha256(name.encode()).hexdigest()[:12], 16))


def _ms(t: float | None) -> int | None:
    return None if t is None else int(t * 1000)


class RunViews:
    def __init__(self, service: AzureMLService) -> None:
        self.svc = service

    def _find(self, run_id: str) -> tuple[Resource, Trial | None]:
        found = self.svc.job_and_trial(run_id)
        if found is None:
            raise ArmError(404, "NotFound", f"Run '{run_id}' was not found.")
        job, trial_id = found
        trial = None
        if trial_id is not None:
            assert job.job and job.job.outcome
            trial = next(t for t in job.job.outcome.trials if t.run_id == trial_id)
        return job, trial

    def _state(self, job: Resource, trial: Trial | None) -> tuple[str, float | None, float | None]:
        assert job.job is not None
        now = self.svc.now()
        status = lifecycle.status(job.job, now)
        start, end = lifecycle.times(job.job, now)
        if trial is not None:
            status = "Completed"
        return status, start, end

    # --- run history ------------------------------------------------------------------

    def history_run(self, run_id: str, base: str = "") -> dict[str, Any]:
        """Run history's run details; ``logFiles`` point at the emulator's log route (``base``)."""
        job, trial = self._find(run_id)
        status, start, end = self._state(job, trial)
        props = job.body["properties"]
        error = None
        outcome = job.job.outcome if job.job else None
        if trial is None and status == "Failed" and outcome is not None:
            error = {"error": {"code": outcome.error_code, "message": outcome.error_message}}
        return {
            "runId": run_id, "runUuid": hashlib.md5(run_id.encode()).hexdigest(),
            "parentRunId": job.name if trial else None, "rootRunId": job.name,
            "experimentId": experiment_id(props.get("experimentName") or "Default"),
            "status": status, "startTimeUtc": iso(start) if start else None, "endTimeUtc": iso(end) if end else None,
            "displayName": run_id if trial else props.get("displayName", job.name),
            "runType": ("azureml.PipelineRun" if props.get("jobType") == "Pipeline" else "azureml.AutoML")
            if trial is None else "azureml.AutoML.Trial",
            "target": (props.get("computeId") or "").rsplit("/", 1)[-1] or None,
            "tags": dict(self.tags(job, trial)), "properties": dict(props.get("properties") or {}),
            "error": error, "warnings": [], "hidden": False,
            "logFiles": {LOG_NAME: f"{base}/logs/{run_id}/{LOG_NAME}"} if base and start is not None else {},
        }

    def log_text(self, run_id: str) -> str:
        """The run's ``std_log.txt`` so far: what the trainer did, derived from the job and the clock."""
        job, trial = self._find(run_id)
        status, start, _ = self._state(job, trial)
        if start is None:
            return ""
        lines = [f"{iso(start)} AutoML image job '{job.name}' started on the emulator's trainer."]
        outcome = job.job.outcome if job.job else None
        if outcome is not None and status not in ("Running", "CancelRequested", "Canceled"):
            for t in outcome.trials if trial is None else [trial]:
                measured = ", ".join(f"{k}={v:g}" for k, v in t.metrics.items())
                lines.append(f"trial {t.run_id} settings {t.settings}: {measured}")
            if outcome.status == "Failed":
                lines.append(f"error {outcome.error_code}: {outcome.error_message}")
            else:
                lines.append(f"best trial: {outcome.best_run_id}")
                lines.append("The activity completed successfully. Finalizing run...")
        elif status in ("CancelRequested", "Canceled"):
            lines.append("Cancellation requested: stopping the trials.")
        return "\n".join(lines) + "\n"

    def children(self, run_id: str, base: str = "") -> dict[str, Any]:
        job, trial = self._find(run_id)
        runs = []
        if trial is None and job.job and job.job.outcome and \
                lifecycle.status(job.job, self.svc.now()) in ("Completed", "Finalizing"):
            runs = [self.history_run(t.run_id, base) for t in job.job.outcome.trials]
        return {"value": runs, "continuationToken": None, "nextLink": None}

    def patch(self, run_id: str, body: Any) -> dict[str, Any]:
        """Run-history metadata update (azure-ai-ml routes job tag/description edits here)."""
        if not isinstance(body, dict):
            raise ArmError(400, "UserError", "The request body must be a JSON object.")
        with self.svc.store.lock:
            job, trial = self._find(run_id)
            if trial is not None:
                raise ArmError(400, "UserError", "Trial runs are read-only in the emulator.")
            props = dict(job.body["properties"])
            if isinstance(body.get("tags"), dict):
                props["tags"] = {**(props.get("tags") or {}), **body["tags"]}
            if "description" in body:
                props["description"] = body["description"]
            if "displayName" in body:
                props["displayName"] = body["displayName"]
            if isinstance(body.get("properties"), dict):
                props["properties"] = {**body["properties"], **(props.get("properties") or {})}
            self.svc.store.update(Resource(job.kind, job.scope, job.name, job.created, self.svc.now(),
                                           {**job.body, "properties": props}, job=job.job))
        return self.history_run(run_id)

    # --- MLflow -------------------------------------------------------------------------

    def tags(self, job: Resource, trial: Trial | None) -> list[tuple[str, str]]:
        props = job.body["properties"]
        tags = [(k, str(v)) for k, v in (props.get("tags") or {}).items()] if trial is None else []
        if trial is None:
            outcome = job.job.outcome if job.job else None
            if outcome is not None and outcome.best_run_id and \
                    lifecycle.status(job.job, self.svc.now()) in ("Completed", "Finalizing"):  # type: ignore[arg-type]
                tags.append(("automl_best_child_run_id", outcome.best_run_id))
            tags.append(("mlflow.runName", props.get("displayName") or job.name))
        else:
            tags += [("mlflow.parentRunId", job.name), ("mlflow.rootRunId", job.name), ("mlflow.runName", trial.run_id)]
        return tags

    def mlflow_run(self, run_id: str) -> dict[str, Any]:
        job, trial = self._find(run_id)
        status, start, end = self._state(job, trial)
        exp = experiment_id(job.body["properties"].get("experimentName") or "Default")
        at = _ms(end or start or job.created) or 0
        measured: dict[str, float] = {}
        params: dict[str, Any] = {}
        outcome = job.job.outcome if job.job else None
        if trial is not None:
            measured, params = trial.metrics, trial.settings
        elif outcome is not None and outcome.metrics and status in ("Completed", "Finalizing"):
            measured = outcome.metrics
        elif outcome is not None and outcome.best_run_id and status in ("Completed", "Finalizing"):
            best = next(t for t in outcome.trials if t.run_id == outcome.best_run_id)
            measured = best.metrics
        return {"run": {
            "info": {"run_id": run_id, "run_uuid": run_id, "run_name": run_id, "experiment_id": exp,
                     "status": _MLFLOW_STATUS.get(status, "RUNNING"), "start_time": _ms(start) or _ms(job.created),
                     "end_time": _ms(end), "lifecycle_stage": "active",
                     "artifact_uri": f"azureml://datastores/workspaceartifactstore/paths/ExperimentRun/dcid.{run_id}"},
            "data": {"metrics": [{"key": k, "value": v, "timestamp": at, "step": 0} for k, v in measured.items()],
                     "params": [{"key": k, "value": str(v)} for k, v in params.items()],
                     "tags": [{"key": k, "value": v} for k, v in self.tags(job, trial)]},
        }}

    def search(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ArmError(400, "INVALID_PARAMETER_VALUE", "The request body must be a JSON object.")
        conditions = []
        text = str(body.get("filter") or "").strip()
        if text:
            for part in re.split(r"\s+and\s+", text, flags=re.IGNORECASE):
                m = _FILTER.match(part)
                if m is None:
                    raise ArmError(400, "INVALID_PARAMETER_VALUE",
                                   f"Unsupported filter '{part}': the emulator supports tags.<key> = '<value>' (AND).")
                conditions.append((m.group("q") or m.group("k"), m.group("v")))
        wanted = {str(e) for e in body.get("experiment_ids") or []}
        runs = []
        for job in self.svc.store.all("job"):
            ids = [job.name] + ([t.run_id for t in job.job.outcome.trials] if job.job and job.job.outcome else [])
            for rid in ids:
                if self.svc.job_and_trial(rid) is None:
                    continue
                run = self.mlflow_run(rid)["run"]
                if wanted and run["info"]["experiment_id"] not in wanted:
                    continue
                tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
                if all(tags.get(k) == v for k, v in conditions):
                    runs.append(run)
        try:
            start = int(body.get("page_token") or 0)
            size = int(body.get("max_results") or 1000)
        except ValueError:
            raise ArmError(400, "INVALID_PARAMETER_VALUE", "page_token and max_results must be integers.") from None
        page = runs[start:start + size]
        out: dict[str, Any] = {"runs": page}
        if start + size < len(runs):
            out["next_page_token"] = str(start + size)
        return out

    def metric_history(self, run_id: str, key: str) -> dict[str, Any]:
        run = self.mlflow_run(run_id)["run"]
        return {"metrics": [m for m in run["data"]["metrics"] if m["key"] == key]}

    def experiment_by_name(self, name: str) -> dict[str, Any]:
        exp_id = experiment_id(name)
        known = {j.body["properties"].get("experimentName") or "Default" for j in self.svc.store.all("job")}
        if name not in known:
            raise ArmError(404, "RESOURCE_DOES_NOT_EXIST", f"Experiment '{name}' does not exist.")
        return {"experiment": {"experiment_id": exp_id, "name": name, "lifecycle_stage": "active",
                               "artifact_location": f"azureml://experiments/{name}"}}

    def _artifact_files(self, run_id: str) -> dict[str, bytes]:
        job, trial = self._find(run_id)
        if trial is None:
            return {}
        task = job.body["properties"]["taskDetails"]["taskType"]
        model = self.svc.store.get_artifact(trial.model_key) or b""
        mlmodel = ("flavors:\n  python_function:\n    loader_module: azureml.automl.dnn.vision\n"
                   f"    data: model.npz\nrun_id: {run_id}\n").encode()
        settings = json.dumps({"task_type": task, **trial.settings, "box_score_thresh": 0.3}).encode()
        base = "outputs/mlflow-model"
        return {f"{base}/MLmodel": mlmodel, f"{base}/model.npz": model, f"{base}/artifacts/settings.json": settings}

    def artifacts(self, run_id: str, path: str) -> dict[str, Any]:
        files = self._artifact_files(run_id)
        prefix = path.strip("/")
        entries: dict[str, dict[str, Any]] = {}
        for name, data in files.items():
            if prefix and not name.startswith(prefix + "/"):
                continue
            rest = name[len(prefix) + 1:] if prefix else name
            head, sep, _ = rest.partition("/")
            full = f"{prefix}/{head}" if prefix else head
            entries[full] = {"path": full, "is_dir": True} if sep else \
                {"path": full, "is_dir": False, "file_size": len(data)}
        return {"root_uri": f"azureml://datastores/workspaceartifactstore/paths/ExperimentRun/dcid.{run_id}",
                "files": sorted(entries.values(), key=lambda e: e["path"])}
