"""The emulated service: the 15 operations of docs/service-api.md §3, free of any web framework.

Every public method takes an :class:`~reconcile.api.versions.ApiVersion` and plain
inputs and returns a :class:`Reply`, or raises
:class:`~reconcile.emulator.apierror.ApiError`. One lock serialises every read-modify-
write, and create-only inserts are atomic in the store, so concurrent requests are
safe. Lifecycle state is evaluated lazily from the clock on every read and list.

A run is judged when it starts (cheap checks: annotations, kind, budget). With a
trainer that learns from pixels, the fit (or the evaluation) then runs on
:attr:`Service.runs`, off the request path: the run's outcome stays ``pending`` (the
model shows ``training``) until it finishes, and a pending run found at start-up
(the emulator was stopped mid-fit) is redone.
"""

from __future__ import annotations

import logging
import os
import string
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import msgspec

from reconcile.api import versions
from reconcile.api.versions import ApiVersion
from reconcile.emulator import lifecycle
from reconcile.emulator.apierror import ApiError, bad_request, not_found
from reconcile.emulator.clock import Clock
from reconcile.emulator.fetch import FetchError, read_uri, safe_uri
from reconcile.limits import IMAGE_BYTES
from reconcile.emulator.images import ImageFormatError, image_size
from reconcile.emulator.judge import RunFailed, check_budget, check_kind, load_dataset
from reconcile.emulator.records import PENDING, DatasetRecord, EvaluationRecord, Failure, ModelRecord, Outcome
from reconcile.emulator.inputs import (
    DatasetFields,
    check_name,
    parse_dataset,
    parse_evaluation,
    parse_model,
)
from reconcile.emulator.labeled import LabeledData
from reconcile.emulator.runs import RunQueue
from reconcile.emulator.store import Store
from reconcile.emulator.trainer import FittedModel, ImageInput, Trainer, load_model, make_trainer
from reconcile.learn.pixels import UndecodableImage

log = logging.getLogger(__name__)

#: The analyze call refuses empty images and images over 20 MiB (DOC-ERR).
MAX_IMAGE_BYTES = IMAGE_BYTES.value


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any = None


def iso(ts: float) -> str:
    """UTC ISO-8601 with milliseconds and ``Z`` (as in the service's examples)."""
    dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def new_etag() -> str:
    letters = string.ascii_lowercase
    return "".join(letters[b % 26] for b in os.urandom(26))


def _etag_matches(if_match: str | None, etag: str) -> bool:
    if if_match is None or not if_match.strip():
        return True
    for candidate in if_match.split(","):
        c = candidate.strip()
        if c == "*":
            return True
        if c.startswith("W/"):
            c = c[2:]
        if c.strip('"') == etag:
            return True
    return False


#: Loaded models kept for analyze calls (decoding a stored state costs more than a prediction).
_LOADED_MODELS = 8


class Service:
    def __init__(
        self, store: Store, clock: Clock, trainer: Trainer | None = None, *, file_roots: Sequence[Path] = ()
    ) -> None:
        self.store = store
        self.clock = clock
        self.file_roots = tuple(Path(r) for r in file_roots)
        """The only folders ``file://`` URIs may point into (none: every such URI is refused)."""
        self.trainer = trainer if trainer is not None else make_trainer()
        self.lock = store.lock
        self.runs = RunQueue()
        self._loaded: dict[tuple[str, float], FittedModel] = {}
        self._loaded_lock = threading.Lock()
        self._resume_runs()

    def close(self) -> None:
        """Stop the run worker (a fit in progress is abandoned and redone at the next start)."""
        with self.lock:
            self.runs.close()

    def _resume_runs(self) -> None:
        """Submit every run left ``pending`` by a stopped emulator: its fit is redone."""
        models, _ = self.store.list(ModelRecord)
        for rec in models:
            if rec.outcome is not None and rec.outcome.status == PENDING:
                self._submit_fit(rec.name)
            evaluations, _ = self.store.list(EvaluationRecord, parent=rec.name)
            for ev in evaluations:
                if ev.outcome is not None and ev.outcome.status == PENDING:
                    self._submit_evaluation(ev.model_name, ev.name)

    # --- datasets -----------------------------------------------------------------

    def register_dataset(self, v: ApiVersion, name: str, body: Any) -> Reply:
        check_name(name)
        with self.lock:
            if self.store.get(DatasetRecord, name) is not None:
                raise _exists("dataset", name, "DatasetAlreadyExists")
            f = parse_dataset(body, v)
            if f.annotation_kind is None:
                raise bad_request("annotationKind is required (imageClassification or imageObjectDetection).",
                                  inner_code="MissingAnnotationKind", target="annotationKind")
            _require_annotations(f.annotation_file_uris, f.annotation_data)
            now = self.clock.now()
            rec = DatasetRecord(
                name=name,
                annotation_kind=f.annotation_kind,
                created=now,
                updated=now,
                etag=new_etag(),
                annotation_file_uris=f.annotation_file_uris,
                custom_properties=f.custom_properties,
                authentication=f.authentication,
                annotation_data=f.annotation_data,
            )
            if not self.store.insert(rec):
                raise _exists("dataset", name, "DatasetAlreadyExists")
        return Reply(201, self.render_dataset(rec, v))

    def get_dataset(self, v: ApiVersion, name: str) -> Reply:
        check_name(name)
        return Reply(200, self.render_dataset(self._dataset(name), v))

    def update_dataset(self, v: ApiVersion, name: str, body: Any, if_match: str | None) -> Reply:
        check_name(name)
        with self.lock:
            rec = self._dataset(name)
            if not _etag_matches(if_match, rec.etag):
                raise _precondition(name)
            f = parse_dataset(body, v)
            if f.annotation_kind is not None and f.annotation_kind != rec.annotation_kind:
                raise bad_request(
                    f"annotationKind cannot change (dataset '{name}' is {rec.annotation_kind}); "
                    "register a new dataset instead.",
                    inner_code="AnnotationKindImmutable",
                    target="annotationKind",
                )
            changes = _dataset_changes(f)
            merged = msgspec.structs.replace(rec, **changes)
            _require_annotations(merged.annotation_file_uris, merged.annotation_data)
            now = max(self.clock.now(), rec.updated)
            merged = msgspec.structs.replace(merged, updated=now, etag=_fresh_etag(rec.etag))
            self.store.update(merged)
        return Reply(200, self.render_dataset(merged, v))

    def delete_dataset(self, v: ApiVersion, name: str, if_match: str | None) -> Reply:
        check_name(name)
        with self.lock:
            rec = self._dataset(name)
            if not _etag_matches(if_match, rec.etag):
                raise _precondition(name)
            self.store.delete(DatasetRecord, name)
            self._fail_runs_using(name)
        return Reply(204)

    def list_datasets(self, v: ApiVersion, skip: int, top: int, base_url: str) -> Reply:
        items, total = self.store.list(DatasetRecord, skip=skip, top=top)
        return Reply(200, _page([self.render_dataset(r, v) for r in items], skip, top, total, base_url, v))

    def render_dataset(self, rec: DatasetRecord, v: ApiVersion) -> dict[str, Any]:
        body: dict[str, Any] = {"annotationKind": rec.annotation_kind}
        if rec.annotation_file_uris is not None:
            body["annotationFileUris"] = list(rec.annotation_file_uris)
        if rec.custom_properties is not None:
            body["customProperties"] = dict(rec.custom_properties)
        if rec.authentication is not None:
            # sasToken is a secret: it is accepted but never echoed.
            body["authentication"] = {"kind": rec.authentication.kind}
        if rec.annotation_data is not None and v.inline_annotation_data:
            body["annotationData"] = rec.annotation_data
        body.update(name=rec.name, createdDateTime=iso(rec.created), updatedDateTime=iso(rec.updated), eTag=rec.etag)
        return body

    def _dataset(self, name: str) -> DatasetRecord:
        rec = self.store.get(DatasetRecord, name)
        if rec is None:
            raise not_found("dataset", name, "DatasetNotFound")
        return rec

    # --- models -------------------------------------------------------------------

    def create_model(self, v: ApiVersion, name: str, body: Any) -> Reply:
        check_name(name)
        with self.lock:
            if self.store.get(ModelRecord, name) is not None:
                raise _exists("model", name, "ModelAlreadyExists")
            f = parse_model(body, v)
            now = self.clock.now()
            rec = ModelRecord(
                name=name,
                training_dataset_name=f.training_dataset_name,
                budget_hours=f.budget_hours,
                created=now,
                start_at=now + lifecycle.QUEUE_SECONDS,
                api_version=v.name,
                model_kind=f.model_kind,
                test_dataset_name=f.test_dataset_name,
                has_evaluation_parameters=f.has_evaluation_parameters,
            )
            if not self.store.insert(rec):
                raise _exists("model", name, "ModelAlreadyExists")
        return Reply(201, self.render_model(rec, v))

    def get_model(self, v: ApiVersion, name: str) -> Reply:
        check_name(name)
        with self.lock:
            rec = self._model(name)
        return Reply(200, self.render_model(rec, v))

    def list_models(self, v: ApiVersion, skip: int, top: int, base_url: str) -> Reply:
        with self.lock:
            items, total = self.store.list(ModelRecord, skip=skip, top=top)
            items = [self._refresh_model(r) for r in items]
        return Reply(200, _page([self.render_model(r, v) for r in items], skip, top, total, base_url, v))

    def cancel_model(self, v: ApiVersion, name: str) -> Reply:
        check_name(name)
        with self.lock:
            rec = self._model(name)
            now = self.clock.now()
            status, _ = lifecycle.model_state(rec, now)
            if status in ("cancelling", "cancelled"):
                return Reply(202)  # idempotent, so a retried cancel is safe
            if status in ("succeeded", "failed"):
                raise ApiError(
                    409,
                    "InvalidModelState",
                    f"The model '{name}' is {status}; only a notStarted or training model can be cancelled.",
                    target=name,
                )
            self.store.update(msgspec.structs.replace(rec, cancel_at=now))
        return Reply(202)

    def delete_model(self, v: ApiVersion, name: str) -> Reply:
        check_name(name)
        with self.lock:
            rec = self._model(name)
            status, _ = lifecycle.model_state(rec, self.clock.now())
            if status not in versions.MODEL_TERMINAL_STATES:
                raise ApiError(
                    409,
                    "InvalidModelState",
                    f"The model '{name}' is {status}; a model can be deleted only when succeeded, failed or "
                    "cancelled. Cancel it and wait for 'cancelled' first.",
                    target=name,
                )
            evaluations, _ = self.store.list(EvaluationRecord, parent=name)
            for ev in evaluations:
                ev_status, _ = lifecycle.evaluation_state(self._refresh_evaluation(ev), self.clock.now())
                if ev_status not in versions.EVALUATION_TERMINAL_STATES:
                    raise ApiError(
                        409,
                        "InvalidModelState",
                        f"The model '{name}' has an evaluation '{ev.name}' that is {ev_status}; wait for it to "
                        "finish before deleting the model.",
                        target=name,
                    )
            self.store.delete_children(name)
            self.store.delete(ModelRecord, name)
            with self._loaded_lock:
                for key in [k for k in self._loaded if k[0] == name]:
                    del self._loaded[key]
        return Reply(204)

    def render_model(self, rec: ModelRecord, v: ApiVersion) -> dict[str, Any]:
        status, updated = lifecycle.model_state(rec, self.clock.now())
        # Rendered in the shape of the api-version asked for: an older version cannot express a
        # budget above its maximum (288 h in 02-01) nor Product-Recognizer, so those are capped / left out.
        tp: dict[str, Any] = {
            "trainingDatasetName": rec.training_dataset_name,
            "timeBudgetInHours": min(rec.budget_hours, v.max_budget_hours),
        }
        if rec.model_kind is not None and rec.model_kind in v.model_kinds:
            tp["modelKind"] = rec.model_kind
        body: dict[str, Any] = {
            "name": rec.name,
            "createdDateTime": iso(rec.created),
            "updatedDateTime": iso(updated),
            "status": status,
            "trainingParameters": tp,
        }
        if rec.has_evaluation_parameters:
            body["evaluationParameters"] = (
                {"testDatasetName": rec.test_dataset_name} if rec.test_dataset_name is not None else {}
            )
        if status == "cancelled":
            body["trainingCostInMinutes"] = lifecycle.cancelled_cost(rec)
        elif status in ("succeeded", "failed") and rec.outcome is not None:
            body["trainingCostInMinutes"] = rec.outcome.cost_minutes
            if rec.outcome.error is not None:
                body["error"] = {"code": rec.outcome.error.code, "message": rec.outcome.error.message}
            if rec.outcome.performance is not None:
                body["modelPerformance"] = rec.outcome.performance
        return body

    def _model(self, name: str) -> ModelRecord:
        rec = self.store.get(ModelRecord, name)
        if rec is None:
            raise not_found("model", name, "ModelNotFound")
        return self._refresh_model(rec)

    def _refresh_model(self, rec: ModelRecord) -> ModelRecord:
        if not lifecycle.needs_judging(rec, self.clock.now()):
            return rec
        rec = msgspec.structs.replace(rec, outcome=self._judge_training(rec))
        self.store.update(rec)
        if rec.outcome is not None and rec.outcome.status == PENDING:
            self._submit_fit(rec.name)
        return rec

    def _training_data(self, rec: ModelRecord) -> tuple[str, LabeledData, LabeledData, LabeledData]:
        """``(kind, all data, train, test)`` of a run; raises :class:`RunFailed` as the service would."""
        dataset = self.store.get(DatasetRecord, rec.training_dataset_name)
        kind = rec.model_kind or (
            versions.MODEL_KIND_FOR_ANNOTATION[dataset.annotation_kind] if dataset else versions.GENERIC_CLASSIFIER
        )
        try:
            data = load_dataset(dataset, rec.training_dataset_name, purpose="train", api_version=rec.api_version,
                                file_roots=self.file_roots)
            assert dataset is not None
            check_kind(kind, dataset, rec.training_dataset_name)
            check_budget(kind, data, rec.budget_hours)
            if rec.test_dataset_name is not None:
                test_ds = self.store.get(DatasetRecord, rec.test_dataset_name)
                test = load_dataset(test_ds, rec.test_dataset_name, purpose="eval", api_version=rec.api_version,
                                    file_roots=self.file_roots)
                assert test_ds is not None
                check_kind(kind, test_ds, rec.test_dataset_name)
                return kind, data, data, test
            train, test = data.split()
            return kind, data, train, test
        except RunFailed as failed:
            failed.model_kind = kind
            raise

    def _judge_training(self, rec: ModelRecord) -> Outcome:
        """How a training run that started at ``rec.start_at`` ends, or ``pending`` until its fit finishes."""
        try:
            kind, data, train, test = self._training_data(rec)
        except RunFailed as failed:
            return self._failed_training(rec, failed)
        seconds = lifecycle.training_seconds(kind, data.num_images, data.avg_boxes_per_image(), rec.budget_hours)
        pending = Outcome(
            status=PENDING,
            end_at=rec.start_at + seconds,
            cost_minutes=lifecycle.cost_minutes(seconds, rec.budget_hours),
            model_kind=kind,
        )
        if not self.trainer.inline:
            return pending
        return self._fitted_outcome(rec, pending, train, test)

    def _fitted_outcome(self, rec: ModelRecord, pending: Outcome, train: LabeledData, test: LabeledData) -> Outcome:
        try:
            fitted = self.trainer.fit(train)
            performance = fitted.evaluate(test)
        except RunFailed as failed:
            failed.model_kind = pending.model_kind
            return self._failed_training(rec, failed)
        except Exception as exc:  # noqa: BLE001 - a learner bug fails the run, never the emulator
            log.exception("fitting model %r failed", rec.name)
            return Outcome("failed", rec.start_at + lifecycle.FAIL_SECONDS, model_kind=pending.model_kind,
                           error=Failure("unknown", f"Training failed unexpectedly ({type(exc).__name__})."))
        return msgspec.structs.replace(pending, status="succeeded", performance=performance,
                                       fitted=fitted.to_dict())

    @staticmethod
    def _failed_training(rec: ModelRecord, failed: RunFailed) -> Outcome:
        return Outcome(status="failed", end_at=rec.start_at + lifecycle.FAIL_SECONDS,
                       model_kind=failed.model_kind, error=failed.failure)

    def _submit_fit(self, name: str) -> None:
        self.runs.submit(("model", name), lambda: self._fit_job(name))

    def _fit_job(self, name: str) -> None:
        """Fit a pending model off the request path and store its outcome (unless the run changed meanwhile)."""
        rec = self.store.get(ModelRecord, name)
        if rec is None or rec.outcome is None or rec.outcome.status != PENDING or rec.cancel_at is not None:
            return
        pending = rec.outcome
        try:
            _kind, _data, train, test = self._training_data(rec)
        except RunFailed as failed:
            outcome = self._failed_training(rec, failed)
        else:
            outcome = self._fitted_outcome(rec, pending, train, test)
        with self.lock:
            if self.runs.closed:  # the emulator stopped meanwhile: the run stays pending, redone at start
                return
            current = self.store.get(ModelRecord, name)
            if current is not None and current.outcome == pending:
                self.store.update(msgspec.structs.replace(current, outcome=outcome))

    def _fail_runs_using(self, dataset_name: str) -> None:
        """A training run still reading a dataset that is unregistered fails ``datasetNotFound``."""
        now = self.clock.now()
        models, _ = self.store.list(ModelRecord)
        for rec in models:
            if dataset_name not in (rec.training_dataset_name, rec.test_dataset_name):
                continue
            rec = self._refresh_model(rec)
            status, _ = lifecycle.model_state(rec, now)
            if status == "training" and rec.outcome is not None and rec.outcome.status in ("succeeded", PENDING):
                failure = Failure("datasetNotFound", f"The dataset '{dataset_name}' was unregistered during training.")
                outcome = Outcome(
                    status="failed",
                    end_at=now,
                    cost_minutes=lifecycle.cost_minutes(now - rec.start_at, rec.budget_hours),
                    model_kind=rec.outcome.model_kind,
                    error=failure,
                )
                self.store.update(msgspec.structs.replace(rec, outcome=outcome))

    # --- evaluations ----------------------------------------------------------------

    def create_evaluation(self, v: ApiVersion, model_name: str, name: str, body: Any) -> Reply:
        check_name(model_name)
        check_name(name, "evaluationName")
        with self.lock:
            model = self._model(model_name)
            if self.store.get(EvaluationRecord, name, parent=model_name) is not None:
                raise _exists("model evaluation", name, "ModelEvaluationAlreadyExists")
            test = parse_evaluation(body)
            status, _ = lifecycle.model_state(model, self.clock.now())
            if status != "succeeded":
                raise ApiError(
                    409,
                    "InvalidModelState",
                    f"The model '{model_name}' is {status}; only a succeeded model can be evaluated.",
                    target=model_name,
                )
            now = self.clock.now()
            rec = EvaluationRecord(
                model_name=model_name,
                name=name,
                test_dataset_name=test,
                created=now,
                start_at=now + lifecycle.QUEUE_SECONDS,
                api_version=v.name,
            )
            if not self.store.insert(rec):
                raise _exists("model evaluation", name, "ModelEvaluationAlreadyExists")
        return Reply(201, self.render_evaluation(rec))

    def get_evaluation(self, v: ApiVersion, model_name: str, name: str) -> Reply:
        check_name(model_name)
        check_name(name, "evaluationName")
        with self.lock:
            rec = self._evaluation(model_name, name)
        return Reply(200, self.render_evaluation(rec))

    def list_evaluations(self, v: ApiVersion, model_name: str, skip: int, top: int, base_url: str) -> Reply:
        check_name(model_name)
        with self.lock:
            self._model(model_name)
            items, total = self.store.list(EvaluationRecord, parent=model_name, skip=skip, top=top)
            items = [self._refresh_evaluation(r) for r in items]
        return Reply(200, _page([self.render_evaluation(r) for r in items], skip, top, total, base_url, v))

    def delete_evaluation(self, v: ApiVersion, model_name: str, name: str) -> Reply:
        check_name(model_name)
        check_name(name, "evaluationName")
        with self.lock:
            rec = self._evaluation(model_name, name)
            status, _ = lifecycle.evaluation_state(rec, self.clock.now())
            if status not in versions.EVALUATION_TERMINAL_STATES:
                raise ApiError(
                    409,
                    "InvalidEvaluationState",
                    f"The evaluation '{name}' is {status}; an evaluation can be deleted only when succeeded or failed.",
                    target=name,
                )
            self.store.delete(EvaluationRecord, name, parent=model_name)
        return Reply(204)

    def render_evaluation(self, rec: EvaluationRecord) -> dict[str, Any]:
        status, updated = lifecycle.evaluation_state(rec, self.clock.now())
        body: dict[str, Any] = {
            "name": rec.name,
            "modelName": rec.model_name,
            "createdDateTime": iso(rec.created),
            "updatedDateTime": iso(updated),
            "status": status,
            "evaluationParameters": {"testDatasetName": rec.test_dataset_name},
        }
        if status in versions.EVALUATION_TERMINAL_STATES and rec.outcome is not None:
            if rec.outcome.error is not None:
                body["error"] = {"code": rec.outcome.error.code, "message": rec.outcome.error.message}
            if rec.outcome.performance is not None:
                body["modelPerformance"] = rec.outcome.performance
        return body

    def _evaluation(self, model_name: str, name: str) -> EvaluationRecord:
        self._model(model_name)
        rec = self.store.get(EvaluationRecord, name, parent=model_name)
        if rec is None:
            raise not_found("model evaluation", name, "ModelEvaluationNotFound")
        return self._refresh_evaluation(rec)

    def _refresh_evaluation(self, rec: EvaluationRecord) -> EvaluationRecord:
        if not lifecycle.needs_judging(rec, self.clock.now()):
            return rec
        rec = msgspec.structs.replace(rec, outcome=self._judge_evaluation(rec))
        self.store.update(rec)
        if rec.outcome is not None and rec.outcome.status == PENDING:
            self._submit_evaluation(rec.model_name, rec.name)
        return rec

    def _evaluation_data(self, rec: EvaluationRecord) -> tuple[str, FittedModel, LabeledData]:
        """``(kind, model, test data)``; raises :class:`RunFailed` as the service would."""
        model = self.store.get(ModelRecord, rec.model_name)
        if model is None or model.outcome is None or model.outcome.fitted is None:
            raise RunFailed("modelNotFound", f"The model '{rec.model_name}' is gone.")
        kind = model.outcome.model_kind or versions.GENERIC_CLASSIFIER
        dataset = self.store.get(DatasetRecord, rec.test_dataset_name)
        try:
            data = load_dataset(dataset, rec.test_dataset_name, purpose="eval", api_version=rec.api_version,
                                file_roots=self.file_roots)
            assert dataset is not None
            check_kind(kind, dataset, rec.test_dataset_name)
        except RunFailed as failed:
            failed.model_kind = kind
            raise
        return kind, self._fitted(model), data

    def _judge_evaluation(self, rec: EvaluationRecord) -> Outcome:
        fail_at = rec.start_at + lifecycle.FAIL_SECONDS
        try:
            kind, fitted, data = self._evaluation_data(rec)
        except RunFailed as failed:
            return Outcome("failed", fail_at, model_kind=failed.model_kind, error=failed.failure)
        pending = Outcome(PENDING, rec.start_at + lifecycle.evaluation_seconds(data.num_images), model_kind=kind)
        if not self.trainer.inline:
            return pending
        return self._evaluated_outcome(rec, pending, fitted, data)

    def _evaluated_outcome(self, rec: EvaluationRecord, pending: Outcome, fitted: FittedModel,
                           data: LabeledData) -> Outcome:
        fail_at = rec.start_at + lifecycle.FAIL_SECONDS
        try:
            performance = fitted.evaluate(data)
        except RunFailed as failed:
            return Outcome("failed", fail_at, model_kind=pending.model_kind, error=failed.failure)
        except Exception as exc:  # noqa: BLE001 - a learner bug fails the run, never the emulator
            log.exception("evaluation %r of model %r failed", rec.name, rec.model_name)
            return Outcome("failed", fail_at, model_kind=pending.model_kind,
                           error=Failure("internalServerError", f"The evaluation failed unexpectedly ({type(exc).__name__})."))
        return msgspec.structs.replace(pending, status="succeeded", performance=performance)

    def _submit_evaluation(self, model_name: str, name: str) -> None:
        self.runs.submit(("evaluation", model_name, name), lambda: self._evaluation_job(model_name, name))

    def _evaluation_job(self, model_name: str, name: str) -> None:
        rec = self.store.get(EvaluationRecord, name, parent=model_name)
        if rec is None or rec.outcome is None or rec.outcome.status != PENDING:
            return
        pending = rec.outcome
        try:
            _kind, fitted, data = self._evaluation_data(rec)
        except RunFailed as failed:
            outcome = Outcome("failed", rec.start_at + lifecycle.FAIL_SECONDS, model_kind=pending.model_kind,
                              error=failed.failure)
        else:
            outcome = self._evaluated_outcome(rec, pending, fitted, data)
        with self.lock:
            if self.runs.closed:
                return
            current = self.store.get(EvaluationRecord, name, parent=model_name)
            if current is not None and current.outcome == pending:
                self.store.update(msgspec.structs.replace(current, outcome=outcome))

    def _fitted(self, model: ModelRecord) -> FittedModel:
        """The model's fitted state, loaded once and kept for the next calls."""
        assert model.outcome is not None and model.outcome.fitted is not None
        key = (model.name, model.created)
        with self._loaded_lock:
            hit = self._loaded.get(key)
        if hit is not None:
            return hit
        fitted = load_model(model.outcome.fitted, self.trainer)
        with self._loaded_lock:
            if len(self._loaded) >= _LOADED_MODELS:
                self._loaded.pop(next(iter(self._loaded)))
            self._loaded[key] = fitted
        return fitted

    # --- analyze --------------------------------------------------------------------

    def analyze(self, v: ApiVersion, model_name: str | None, features: str | None, image: bytes | None,
                url: str | None) -> Reply:
        if features and not model_name:
            raise bad_request(
                "The emulator serves custom models only: give model-name (the standard 'features' are not emulated).",
                inner_code="NotSupportedVisualFeature",
                target="features",
            )
        if not model_name:
            raise bad_request("Either 'features' or 'model-name' needs to be specified.",
                              inner_code="MissingParameter", target="model-name")
        if features:
            raise bad_request("Give either 'features' or 'model-name', not both.", inner_code="InvalidParameter",
                              target="features")
        with self.lock:
            rec = self.store.get(ModelRecord, model_name)
            if rec is None:
                raise ApiError(404, "NotFound", f"Resource not found: no model named '{model_name}'.",
                               target="model-name")
            rec = self._refresh_model(rec)
            status, _ = lifecycle.model_state(rec, self.clock.now())
        if status != "succeeded" or rec.outcome is None or rec.outcome.fitted is None:
            raise ApiError(
                409,
                "InvalidModelState",
                f"The model '{model_name}' is {status}; only a succeeded model can analyze images.",
                target="model-name",
            )
        if url is not None:
            try:
                image = read_uri(url, limit=IMAGE_BYTES, file_roots=self.file_roots)
            except FetchError as exc:
                raise bad_request(f"The image URL could not be read: {exc}", inner_code="InvalidImageUrl",
                                  target="url") from None
        data = image or b""
        if not data or len(data) > MAX_IMAGE_BYTES:
            raise bad_request(
                f"The image must be 1 to {MAX_IMAGE_BYTES} bytes (got {len(data)}).", inner_code="InvalidImageSize"
            )
        try:
            width, height = image_size(data)
        except ImageFormatError as exc:
            raise bad_request(f"Input data is not a valid image: {exc}.", inner_code="InvalidImageFormat") from None
        try:
            prediction = self._fitted(rec).predict(ImageInput(data, width, height))
        except UndecodableImage as exc:
            raise bad_request(f"Input data is not a valid image: {exc}.", inner_code="InvalidImageFormat") from None
        tags = [{"name": t.name, "confidence": t.confidence} for t in prediction.tags]
        objects = [
            {
                "id": str(i),
                "boundingBox": {"x": o.x, "y": o.y, "w": o.w, "h": o.h},
                "tags": [{"name": t.name, "confidence": t.confidence} for t in o.tags],
            }
            for i, o in enumerate(prediction.objects, start=1)
        ]
        return Reply(
            200,
            {
                "customModelResult": {"tagsResult": {"values": tags}, "objectsResult": {"values": objects}},
                "modelVersion": v.analyze_model_version,
                "metadata": {"width": width, "height": height},
            },
        )


# --- helpers ------------------------------------------------------------------------


def _exists(what: str, name: str, code: str) -> ApiError:
    return ApiError(409, code, f"A {what} with the name '{name}' already exists.", target=name)


def _precondition(name: str) -> ApiError:
    return ApiError(
        412,
        "PreconditionFailed",
        f"The If-Match eTag does not match the current eTag of dataset '{name}'; read it again and retry.",
        target=name,
    )


def _fresh_etag(old: str) -> str:
    while True:
        etag = new_etag()
        if etag != old:
            return etag


def _require_annotations(uris: list[str] | None, data: dict[str, Any] | None) -> None:
    if not uris and data is None:
        raise ApiError(
            400,
            "DatasetInvalidAnnotationUri",
            "A dataset needs at least one annotation file URI in annotationFileUris"
            " (or inline annotationData in 2023-07-01-preview).",
            target="annotationFileUris",
        )


def _dataset_changes(f: DatasetFields) -> dict[str, Any]:
    """PATCH merges: each property sent replaces the stored one (``null`` clears it); others are kept."""
    changes: dict[str, Any] = {}
    if "annotationFileUris" in f.present:
        changes["annotation_file_uris"] = f.annotation_file_uris
    if "customProperties" in f.present:
        changes["custom_properties"] = f.custom_properties
    if "authentication" in f.present:
        changes["authentication"] = f.authentication
    if "annotationData" in f.present:
        changes["annotation_data"] = f.annotation_data
    return changes


def _page(values: list[Any], skip: int, top: int, total: int, base_url: str, v: ApiVersion) -> dict[str, Any]:
    body: dict[str, Any] = {"value": values}
    if skip + top < total:
        body["nextLink"] = f"{base_url}?{urlencode({'api-version': v.name, 'skip': skip + top, 'top': top})}"
    return body


__all__ = ["Reply", "Service", "iso", "safe_uri"]
