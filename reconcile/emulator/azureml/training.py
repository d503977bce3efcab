"""Running an AutoML image job: read its inputs, fit one model per trial, measure, keep the best.

:class:`JobRunner` works off the request path (one worker thread: the machine's
cores are shared) and stores each job's :class:`Outcome` once. Failures the user
caused (bad MLTable, missing blob, unreadable image) end the job ``Failed`` with the
service's kind of message, never a crash of the emulator.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from dataclasses import dataclass
from typing import Callable

from reconcile.emulator.azureml import metrics
from reconcile.emulator.azureml.datastore import BlobDatastore, DataError
from reconcile.emulator.azureml.evaluation import EvaluationInputs, evaluate
from reconcile.emulator.azureml.learner import MAX_TRIAL_VARIANTS, TASKS, Example, Learner
from reconcile.emulator.azureml.lifecycle import FINALIZING_SECONDS, RUNNING_AT
from reconcile.emulator.azureml.mltable import LabeledInput, load_examples
from reconcile.emulator.azureml.records import Outcome, Trial

log = logging.getLogger(__name__)

#: Emulated cost of a trial: a fixed part (model download, epochs' overhead) and a part per image.
TRIAL_SECONDS = 300.0
SECONDS_PER_IMAGE = 2.0
#: Share held out for validation when the job names no validationData (AutoML's default 0.2).
DEFAULT_VALIDATION_SIZE = 0.2


@dataclass(frozen=True, slots=True)
class JobInputs:
    """What a job trains on, resolved by the service from the job body and the data assets."""

    job_name: str
    task: str
    training_uri: str
    """The MLTable folder (``azureml://datastores/../paths/..``) of the training data."""
    validation_uri: str | None
    validation_size: float
    max_trials: int
    timeout_seconds: float | None
    primary_metric: str


def model_key(run_id: str) -> str:
    return f"model/{run_id}"


def _split(data: LabeledInput, share: float) -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    """A deterministic split: every example whose content hash falls under ``share`` is held out."""
    train, held = [], []
    for i, e in enumerate(data.examples):
        h = int(hashlib.sha256(e.pixels.tobytes() + str(i).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        (held if h < share else train).append(e)
    if not held or not train:  # too few images to hold any out: validate on what was trained on
        return data.examples, data.examples
    return tuple(train), tuple(held)


def train(inputs: JobInputs, blobs: BlobDatastore, learner: Learner,
          save: Callable[[str, bytes], None]) -> Outcome:
    """Train every trial of a job and return its outcome (never raises for bad input)."""
    if inputs.task not in TASKS:
        return Outcome("Failed", error_code="UserError",
                       error_message=f"taskType {inputs.task} is not supported by the emulator (use one of {TASKS})")
    try:
        data = load_examples(blobs, inputs.training_uri, inputs.task)
        if inputs.validation_uri:
            valid = load_examples(blobs, inputs.validation_uri, inputs.task).examples
            train_set = data.examples
        else:
            train_set, valid = _split(data, inputs.validation_size)
    except DataError as exc:
        return Outcome("Failed", error_code="UserError", error_message=str(exc), train_seconds=60.0)
    classes = data.classes
    primary = metrics.PRIMARY_NAMES.get(inputs.primary_metric, metrics.PRIMARY[inputs.task])
    n_trials = max(1, min(inputs.max_trials, MAX_TRIAL_VARIANTS))
    per_trial = TRIAL_SECONDS + SECONDS_PER_IMAGE * len(train_set)
    if inputs.timeout_seconds is not None:
        budget = inputs.timeout_seconds - RUNNING_AT - FINALIZING_SECONDS
        n_trials = min(n_trials, int(budget // per_trial))
        if n_trials < 1:
            return Outcome("Failed", error_code="JobTimeout", train_seconds=max(0.0, budget),
                           error_message=f"limitSettings.timeout ({inputs.timeout_seconds:.0f} s) ended the job "
                                         f"before its first trial (one trial needs ~{per_trial + RUNNING_AT:.0f} s)")
    trials = []
    for k in range(n_trials):
        run_id = f"{inputs.job_name}_HD_{k}"
        settings = learner.trial_settings(k)
        try:
            model = learner.fit(inputs.task, classes, train_set, settings)
        except ValueError as exc:  # the data cannot teach the task (e.g. no boxes at all)
            return Outcome("Failed", error_code="UserError", train_seconds=per_trial,
                           error_message=f"AutoML Image error: the training data cannot be learned from ({exc})")
        predictions = model.predict([e.pixels for e in valid])
        measured = metrics.measure(inputs.task, classes, valid, predictions)
        save(model_key(run_id), model.to_bytes())
        trials.append(Trial(run_id, settings, measured, model_key(run_id)))
    best = max(trials, key=lambda t: (t.metrics.get(primary, 0.0), -trials.index(t)))
    return Outcome("Completed", trials=trials, best_run_id=best.run_id, train_seconds=per_trial * n_trials)


class JobRunner:
    """Trains submitted jobs one at a time in a background (daemon) thread.

    :meth:`shutdown` drops queued jobs (a restart resumes them from the store) and
    waits up to ``STOP_WAIT_SECONDS`` for the one in progress, whose outcome is then
    discarded if the store is gone.
    """

    STOP_WAIT_SECONDS = 30.0

    def __init__(self, blobs: BlobDatastore, learner: Learner, save_artifact: Callable[[str, bytes], None],
                 on_done: Callable[[str, Outcome], None]) -> None:
        self._blobs = blobs
        self._learner = learner
        self._save = save_artifact
        self._on_done = on_done
        self._queue: queue.Queue[JobInputs | EvaluationInputs | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="azureml-trainer", daemon=True)
        self._thread.start()

    def submit(self, inputs: JobInputs | EvaluationInputs) -> None:
        """Queue a job's training; a stopped runner drops it (a restart resumes it from the store)."""
        with self._idle:
            if self._closed:
                return
            self._pending += 1
        self._queue.put(inputs)

    def _loop(self) -> None:
        while True:
            inputs = self._queue.get()
            if inputs is None:
                return
            try:
                if not self._closed:
                    self._run(inputs)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _run(self, inputs: JobInputs | EvaluationInputs) -> None:
        try:
            if isinstance(inputs, EvaluationInputs):
                outcome = evaluate(inputs, self._blobs, self._learner)
            else:
                outcome = train(inputs, self._blobs, self._learner, self._save)
        except Exception as exc:  # noqa: BLE001 - a learner bug fails the job, not the emulator
            if self._closed:
                return
            log.exception("training %s failed", inputs.job_name)
            outcome = Outcome("Failed", error_code="SystemError",
                              error_message=f"the trainer failed: {type(exc).__name__}")
        if not self._closed:
            self._on_done(inputs.job_name, outcome)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no training is queued or running (tests); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def shutdown(self) -> None:
        with self._idle:
            if self._closed:
                return
            self._closed = True
        self._queue.put(None)
        self._thread.join(timeout=self.STOP_WAIT_SECONDS)
