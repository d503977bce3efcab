"""Model-evaluation pipeline jobs: Azure ML's ``model_evaluation_pipeline`` component from the
``azureml`` registry scoring a registered MLflow model on a test MLTable (docs/azureml.md, "Evaluation").

A pipeline job is accepted when its one node runs that component with the inputs the component
declares: ``task`` (literal), ``test_data`` (mltable), ``mlflow_model`` (mlflow_model). The emulator
runs it with the learner: the registered model's stored state predicts the test images and the
figures are measured as an AutoML trial measures them (:mod:`.metrics`), then logged on the
pipeline run in MLflow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from reconcile.emulator.azureml import metrics
from reconcile.emulator.azureml.datastore import BlobDatastore, DataError
from reconcile.emulator.azureml.learner import CLASSIFICATION, DETECTION, MULTILABEL, Learner
from reconcile.emulator.azureml.mltable import load_examples
from reconcile.emulator.azureml.records import Outcome

#: The registry component (any version, or the ``latest`` label).
COMPONENT: Final = re.compile(
    r"^azureml://registries/azureml/components/model_evaluation_pipeline(?:/versions/[^/]+|/labels/latest)$")
#: The component's ``task`` values for image models → the learner's task.
TASKS: Final = {"image-classification": CLASSIFICATION, "image-classification-multilabel": MULTILABEL,
                "image-object-detection": DETECTION}
#: Emulated cost: a fixed part (model download, environment) and a part per test image.
EVALUATION_SECONDS: Final = 120.0
SECONDS_PER_IMAGE: Final = 0.5


@dataclass(frozen=True, slots=True)
class EvaluationInputs:
    """What an evaluation pipeline scores, resolved by the service when the job is submitted."""

    job_name: str
    task: str
    """The learner's task (ImageClassification, ...)."""
    test_uri: str
    """The MLTable folder of the test data."""
    model_state: bytes
    """The registered model's stored state (the best trial's fitted learner)."""


def evaluate(inputs: EvaluationInputs, blobs: BlobDatastore, learner: Learner) -> Outcome:
    """Score the model on the test data and return the outcome (never raises for bad input)."""
    model = learner.load(inputs.model_state)
    if model.task != inputs.task:
        return Outcome("Failed", error_code="UserError", train_seconds=EVALUATION_SECONDS,
                       error_message=f"task {inputs.task} does not match the model, which was trained for {model.task}")
    try:
        data = load_examples(blobs, inputs.test_uri, inputs.task)
    except DataError as exc:
        return Outcome("Failed", error_code="UserError", error_message=str(exc), train_seconds=EVALUATION_SECONDS)
    unknown = sorted(set(data.classes) - set(model.classes))
    if unknown:
        return Outcome("Failed", error_code="UserError", train_seconds=EVALUATION_SECONDS,
                       error_message=f"test_data has label(s) the model does not know: {', '.join(unknown[:5])}")
    predictions = model.predict([e.pixels for e in data.examples])
    measured = metrics.measure(inputs.task, model.classes, data.examples, predictions)
    return Outcome("Completed", metrics=measured,
                   train_seconds=EVALUATION_SECONDS + SECONDS_PER_IMAGE * len(data.examples))
