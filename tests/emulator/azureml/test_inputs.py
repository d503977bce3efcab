"""What an AutoML image job refuses in its data (REFERENCE §6, §9.3), and the clock-driven job status."""

from __future__ import annotations

import json

import pytest

from reconcile.emulator.azureml import lifecycle
from reconcile.emulator.azureml.datastore import DataError
from reconcile.emulator.azureml.learner import CLASSIFICATION, DETECTION, MULTILABEL
from reconcile.emulator.azureml.mltable import load_examples
from reconcile.emulator.azureml.records import JobState, Outcome
from tests.fixtures.azureml import MLTABLE, COLOURS, colour_png

IMAGE = "azureml://datastores/workspaceblobstore/paths/img/red.png"


def _folder(srv, mltable: str, lines: list) -> str:
    srv.service.blobs.write("img/red.png", colour_png(COLOURS["red"]))
    srv.service.blobs.write("in/annotations.jsonl", "\n".join(
        line if isinstance(line, str) else json.dumps(line) for line in lines).encode())
    srv.service.blobs.write("in/MLTable", mltable.encode())
    return "azureml://datastores/workspaceblobstore/paths/in/"


@pytest.mark.azurite
@pytest.mark.parametrize("task, mltable, lines, message", [
    (CLASSIFICATION, MLTABLE.replace("stream_info", "string"), [{"image_url": IMAGE, "label": "red"}], "stream_info"),
    (CLASSIFICATION, "paths: []\n", [], "non-empty 'paths'"),
    (CLASSIFICATION, "paths: [\n", [], "not YAML"),
    (CLASSIFICATION, "a: &a [x]\nb: [" + ", ".join(["*a"] * 101) + "]\n", [], "yamlAliases"),
    (CLASSIFICATION, MLTABLE, ["{not json"], "line 1 is not JSON"),
    (CLASSIFICATION, MLTABLE, [{"label": "red"}], "'image_url' is required"),
    (CLASSIFICATION, MLTABLE, [{"image_url": IMAGE, "label": ["red"]}], "must be a class name"),
    (MULTILABEL, MLTABLE, [{"image_url": IMAGE, "label": "red"}], "list of class names"),
    (DETECTION, MLTABLE, [{"image_url": IMAGE, "label": [{"label": "red", "topX": 0.5, "topY": 0.1,
                                                           "bottomX": 0.2, "bottomY": 0.9}]}], "normalised corners"),
    (DETECTION, MLTABLE, [{"image_url": IMAGE, "label": [{"label": "red", "topX": 0.1}]}], "needs label, topX"),
    (CLASSIFICATION, MLTABLE, [{"image_url": "azureml://datastores/workspaceblobstore/paths/img/missing.png",
                                "label": "red"}], "StreamError(NotFound)"),
    (CLASSIFICATION, MLTABLE, [{"image_url": "azureml://datastores/otherstore/paths/img/red.png", "label": "red"}],
     "datastore 'otherstore' does not exist"),
    (CLASSIFICATION, MLTABLE, [{"image_url": "annotations.jsonl", "label": "red"}], "not a JPEG, PNG, GIF or BMP image"),
])
def test_bad_inputs_fail_with_a_message_naming_the_problem(azureml, task, mltable, lines, message):
    uri = _folder(azureml, mltable, lines)
    with pytest.raises(DataError) as err:
        load_examples(azureml.service.blobs, uri, task)
    assert message in str(err.value)


@pytest.mark.azurite
def test_a_good_input_reads_its_images_and_classes(azureml):
    uri = _folder(azureml, MLTABLE, [{"image_url": IMAGE, "label": "red"}, {"image_url": "blue.png", "label": "b"}])
    azureml.service.blobs.write("in/blue.png", colour_png(COLOURS["blue"]))  # relative to the MLTable folder
    data = load_examples(azureml.service.blobs, uri, CLASSIFICATION)
    assert data.classes == ("b", "red") and data.examples[0].pixels.shape == (16, 16, 3)


@pytest.mark.parametrize("text, seconds", [("PT2H", 7200.0), ("P7D", 604800.0), ("PT1H30M", 5400.0),
                                           ("PT0.5S", 0.5), ("P", None), ("2h", None)])
def test_durations_are_iso_8601(text, seconds):
    assert lifecycle.parse_duration(text) == seconds


def test_a_job_never_claims_completion_before_training_has_finished():
    submitted = JobState(submitted_at=0.0)
    assert lifecycle.status(submitted, 10_000.0) == "Running"  # however far the clock moved
    done = JobState(0.0, outcome=Outcome("Completed", train_seconds=100.0))
    assert lifecycle.status(done, 120 + 100 + 10) == "Finalizing"
    assert lifecycle.status(done, 120 + 100 + 30) == "Completed"
    failed = JobState(0.0, outcome=Outcome("Failed", train_seconds=60.0))
    assert lifecycle.status(failed, 120 + 60 + 10) == "Running" and lifecycle.status(failed, 1000) == "Failed"
    cancelled = JobState(0.0, cancel_requested_at=50.0, outcome=Outcome("Completed", train_seconds=100.0))
    assert lifecycle.status(cancelled, 55.0) == "CancelRequested"
    assert lifecycle.status(cancelled, 1000.0) == "Canceled"
    late = JobState(0.0, cancel_requested_at=900.0, outcome=Outcome("Completed", train_seconds=100.0))
    assert lifecycle.status(late, 1000.0) == "Completed"  # a cancel after the end changes nothing
